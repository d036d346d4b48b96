"""Owners' subscriber pages: search and pages, add (pasted or CSV), remove, reception option."""

from __future__ import annotations

from flask import flash, get_template_attribute, render_template, request
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import InputRequired

from listtrack.models import RECEPTION_OPTIONS, MailingList
from listtrack.subscribers import (
    NotSubscribed,
    add_subscribers,
    import_subscribers_csv,
    remove_subscribers,
    set_reception,
    split_addresses,
    subscriber_page,
)
from webapp.admin import bp, managed_list_or_404, see_other
from webapp.extensions import db

PER_PAGE = 50
MAX_IMPORT_BYTES = 10 * 1024 * 1024


class AddSubscribersForm(FlaskForm):
    addresses = TextAreaField("Addresses (one per line, or separated by commas)",
                              validators=[InputRequired()])
    reception = SelectField("Reception", choices=RECEPTION_OPTIONS, default="mail",
                            validate_choice=False)


class ImportSubscribersForm(FlaskForm):
    file = FileField("CSV file: email[,reception] per line, header optional",
                     validators=[FileRequired("Choose a CSV file to import.")])
    reception = SelectField("Reception where a line names none", choices=RECEPTION_OPTIONS,
                            default="mail", validate_choice=False)


class RemoveSubscribersForm(FlaskForm):
    addresses = TextAreaField("Addresses to remove (one per line, or separated by commas)",
                              validators=[InputRequired()])
    confirmed = HiddenField()


class ReceptionForm(FlaskForm):
    email = HiddenField(validators=[InputRequired()])
    reception = SelectField("Reception", choices=RECEPTION_OPTIONS, validate_choice=False)


def _page_arguments() -> tuple[str, int]:
    search = request.values.get("q", "")[:320]
    page_text = request.values.get("page", "1")
    return search, int(page_text) if page_text.isdigit() else 1


def _render(mailing_list: MailingList, status: int = 200, **forms_and_results):  # noqa: ANN003, ANN202
    search, page = _page_arguments()
    forms = {"add_form": AddSubscribersForm(formdata=None),
             "import_form": ImportSubscribersForm(formdata=None),
             "remove_form": RemoveSubscribersForm(formdata=None)}
    forms.update(forms_and_results)
    return render_template(
        "admin/subscribers.html", mailing_list=mailing_list,
        page=subscriber_page(db.session, mailing_list, search, page, PER_PAGE),
        reception_options=RECEPTION_OPTIONS, **forms,
    ), status


@bp.route("/lists/<address>/subscribers")
@login_required
def subscribers(address: str):
    return _render(managed_list_or_404(address))


@bp.route("/lists/<address>/subscribers/add", methods=["POST"])
@login_required
def add_subscribers_page(address: str):
    mailing_list = managed_list_or_404(address)
    form = AddSubscribersForm()
    if not form.validate_on_submit():
        return _render(mailing_list, 400, add_form=form)
    try:
        result = add_subscribers(db.session, mailing_list, split_addresses(form.addresses.data),
                                 form.reception.data)
    except ValueError as error:
        db.session.rollback()
        form.reception.errors = [str(error)]
        return _render(mailing_list, 400, add_form=form)
    db.session.commit()
    return _render(mailing_list, add_result=result)


@bp.route("/lists/<address>/subscribers/import", methods=["POST"])
@login_required
def import_subscribers(address: str):
    mailing_list = managed_list_or_404(address)
    form = ImportSubscribersForm()
    if not form.validate_on_submit():
        return _render(mailing_list, 400, import_form=form)
    data = form.file.data.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        form.file.errors = [f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: "
                            "split it and import the parts."]
        return _render(mailing_list, 400, import_form=form)
    try:
        result = import_subscribers_csv(db.session, mailing_list, data, form.reception.data)
    except ValueError as error:
        db.session.rollback()
        form.reception.errors = [str(error)]
        return _render(mailing_list, 400, import_form=form)
    db.session.commit()
    return _render(mailing_list, import_result=result)


@bp.route("/lists/<address>/subscribers/remove", methods=["POST"])
@login_required
def remove_subscribers_page(address: str):
    """First POST shows what would go and asks to confirm; the confirming POST removes."""
    mailing_list = managed_list_or_404(address)
    form = RemoveSubscribersForm()
    if not form.validate_on_submit():
        return _render(mailing_list, 400, remove_form=form)
    addresses = split_addresses(form.addresses.data)
    if form.confirmed.data != "yes":
        form.addresses.data = ", ".join(addresses)
        return render_template("admin/subscribers_remove.html", mailing_list=mailing_list,
                               form=form, addresses=addresses)
    result = remove_subscribers(db.session, mailing_list, addresses)
    db.session.commit()
    flash(f"Removed {len(result.removed)} subscriber(s).", "info")
    for address_text in result.not_subscribed:
        flash(f"Not subscribed: {address_text}", "error")
    for problem in result.invalid:
        flash(problem, "error")
    return see_other("admin.subscribers", address=mailing_list.address)


@bp.route("/lists/<address>/subscribers/reception", methods=["POST"])
@login_required
def change_reception(address: str):
    """Change one subscriber's reception option; htmx gets the row back, a browser the page."""
    mailing_list = managed_list_or_404(address)
    form = ReceptionForm()
    error = None
    if not form.validate_on_submit():
        error = "Choose a subscriber and a reception option."
    else:
        try:
            subscriber = set_reception(db.session, mailing_list, form.email.data,
                                       form.reception.data)
        except (NotSubscribed, ValueError) as problem:
            db.session.rollback()
            error = str(problem)
        else:
            db.session.commit()
    if request.headers.get("HX-Request"):  # answer the row itself (200, so htmx swaps it)
        if error is not None:
            return get_template_attribute("admin/_macros.html", "row_error")(error)
        row = get_template_attribute("admin/_macros.html", "subscriber_row")
        return row(mailing_list, subscriber, RECEPTION_OPTIONS, saved=True)
    if error is not None:
        flash(error, "error")
        return _render(mailing_list, 400)
    flash(f"{subscriber.email} now receives: {subscriber.reception}.", "info")
    search, page = _page_arguments()
    return see_other("admin.subscribers", address=mailing_list.address,
                     **({"q": search} if search else {}), **({"page": page} if page > 1 else {}))
