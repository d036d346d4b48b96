"""Listmasters' list pages: create a list, edit its subject, address and owners, close it."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from listtrack.config import MDN_VALUES, ON_OFF
from listtrack.list_settings import SITE_DEFAULT
from listtrack.lists import (
    ARCHIVE_VISIBILITIES,
    SEND_POLICIES,
    ListInputError,
    add_owner,
    create_list,
    owner_addresses,
    remove_owner,
    rename_list,
    set_closed,
    set_subject,
)
from listtrack.subscribers import split_addresses
from webapp.admin import bp, listmaster_or_404, managed_list_or_404, see_other
from webapp.extensions import db


def _site_default_choices(words: tuple[str, ...]) -> list[SelectChoice]:
    return [SelectChoice(SITE_DEFAULT, "Site default"), *(SelectChoice(word) for word in words)]


class ListCreateForm(FlaskForm):
    address = StringField("List address (name@domain)", validators=[InputRequired()])
    subject = StringField("Subject")
    owners = TextAreaField("Owners (one address per line, or separated by commas)",
                           validators=[InputRequired()])
    send_policy = SelectField("Who may post", choices=SEND_POLICIES, default="subscribers",
                              validate_choice=False)
    archive_visibility = SelectField("Who may read the archive", choices=ARCHIVE_VISIBILITIES,
                                     default="private", validate_choice=False)
    delivery_status_notification = SelectField(
        "Delivery status notifications (DSN)", choices=_site_default_choices(ON_OFF),
        default=SITE_DEFAULT, validate_choice=False)
    message_disposition_notification = SelectField(
        "Read receipts (MDN)", choices=_site_default_choices(MDN_VALUES),
        default=SITE_DEFAULT, validate_choice=False)


class ListEditForm(FlaskForm):
    address = StringField("List address (name@domain)", validators=[InputRequired()])
    subject = StringField("Subject")


class OwnerForm(FlaskForm):
    email = StringField("Owner's address", validators=[InputRequired()])


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token travels."""


def _or_default(word: str | None) -> str | None:
    return None if word in (None, "", SITE_DEFAULT) else word


FIELD_OF_ERROR = {"dsn": "delivery_status_notification",
                  "mdn": "message_disposition_notification"}


@bp.route("/lists/new", methods=["GET", "POST"])
@login_required
def create_list_page():
    listmaster_or_404()
    form = ListCreateForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = create_list(
                db.session, form.address.data, split_addresses(form.owners.data),
                subject=form.subject.data or "",
                delivery_status_notification=_or_default(form.delivery_status_notification.data),
                message_disposition_notification=_or_default(
                    form.message_disposition_notification.data),
                send_policy=form.send_policy.data, archive_visibility=form.archive_visibility.data,
                created_by=current_user.email,
            )
        except ListInputError as error:
            db.session.rollback()
            getattr(form, FIELD_OF_ERROR.get(error.field, error.field)).errors = [str(error)]
            status = 400
        else:
            db.session.commit()
            flash(f"Created {created.address}.", "info")
            return see_other("admin.list_settings", address=created.address)
    elif request.method == "POST":
        status = 400
    return render_template("admin/list_new.html", form=form), status


def _render_edit(mailing_list, form=None, owner_form=None, status=200):  # noqa: ANN001, ANN202
    if form is None:
        form = ListEditForm(formdata=None, address=mailing_list.address,
                            subject=mailing_list.subject)
    return render_template(
        "admin/list_edit.html", mailing_list=mailing_list, form=form,
        owner_form=owner_form or OwnerForm(formdata=None), confirm_form=ConfirmForm(),
        owners=owner_addresses(db.session, mailing_list),
    ), status


@bp.route("/lists/<address>/edit", methods=["GET", "POST"])
@login_required
def edit_list(address: str):
    listmaster_or_404()
    mailing_list = managed_list_or_404(address)
    if request.method == "GET":
        return _render_edit(mailing_list)
    form = ListEditForm()
    if not form.validate_on_submit():
        return _render_edit(mailing_list, form=form, status=400)
    changed = []
    try:
        if set_subject(db.session, mailing_list, form.subject.data or "", current_user.email):
            changed.append("subject")
    except ValueError as error:
        form.subject.errors = [str(error)]
    try:
        if rename_list(db.session, mailing_list, form.address.data, current_user.email):
            changed.append("address")
    except ValueError as error:
        form.address.errors = [str(error)]
    if form.subject.errors or form.address.errors:
        db.session.rollback()
        return _render_edit(mailing_list, form=form, status=400)
    db.session.commit()
    if "address" in changed:
        flash(f"Renamed to {mailing_list.address}: update the mail system's aliases to match.",
              "info")
    flash(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.", "info")
    return see_other("admin.edit_list", address=mailing_list.address)


@bp.route("/lists/<address>/owners/add", methods=["POST"])
@login_required
def add_list_owner(address: str):
    listmaster_or_404()
    mailing_list = managed_list_or_404(address)
    form = OwnerForm()
    if form.validate_on_submit():
        try:
            added = add_owner(db.session, mailing_list, form.email.data, current_user.email)
        except ValueError as error:
            db.session.rollback()
            form.email.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"{added} is now an owner.", "info")
            return see_other("admin.edit_list", address=mailing_list.address)
    return _render_edit(mailing_list, owner_form=form, status=400)


@bp.route("/lists/<address>/owners/remove", methods=["POST"])
@login_required
def remove_list_owner(address: str):
    listmaster_or_404()
    mailing_list = managed_list_or_404(address)
    form = OwnerForm()
    if form.validate_on_submit():
        try:
            removed = remove_owner(db.session, mailing_list, form.email.data,
                                   current_user.email)
        except ValueError as error:
            db.session.rollback()
            flash(str(error), "error")
            return _render_edit(mailing_list, status=400)
        db.session.commit()
        flash(f"{removed} is no longer an owner.", "info")
        return see_other("admin.edit_list", address=mailing_list.address)
    return _render_edit(mailing_list, status=400)


def _close_or_reopen(address: str, closed: bool):  # noqa: ANN202
    listmaster_or_404()
    mailing_list = managed_list_or_404(address)
    if not ConfirmForm().validate_on_submit():
        return _render_edit(mailing_list, status=400)
    changed = set_closed(db.session, mailing_list, closed, current_user.email)
    db.session.commit()
    state = "closed" if closed else "open"
    flash(f"{mailing_list.address} is {state}." if changed
          else f"{mailing_list.address} was already {state}.", "info")
    return see_other("admin.edit_list", address=mailing_list.address)


@bp.route("/lists/<address>/close", methods=["POST"])
@login_required
def close_list(address: str):
    return _close_or_reopen(address, closed=True)


@bp.route("/lists/<address>/reopen", methods=["POST"])
@login_required
def reopen_list(address: str):
    return _close_or_reopen(address, closed=False)
