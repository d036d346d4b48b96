"""Administration: the site settings page, each list's settings form, and the admin index.

Views stay thin: validation and the change log live in `listtrack.list_settings`, list and
subscriber operations in `listtrack.lists` and `listtrack.subscribers`. Every URL of a list
answers 404 to anyone who may not manage it, so a list's existence does not leak.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice, SelectField, StringField

from listtrack.access import can_manage, list_roles
from listtrack.config import SiteConfig
from listtrack.list_settings import (
    LIST_SETTINGS,
    SETTING_GROUPS,
    SITE_DEFAULT,
    ListSettingsInvalid,
    change_log,
    describe_site_settings,
    list_settings_state,
    update_list_settings,
    validate_setting,
)
from listtrack.lists import find_list, managed_lists, manages_any_list
from listtrack.models import MailingList
from listtrack.subscribers import subscriber_counts
from webapp.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")

RETENTION_MODE = "retention_period_mode"
OWN_DAYS = "days"


@bp.app_context_processor
def admin_link() -> dict[str, Any]:
    """`admin_link_visible()` for the navigation: owners of a list and listmasters."""

    def admin_link_visible() -> bool:
        if "admin_link_visible" not in g:
            g.admin_link_visible = manages_any_list(db.session, current_user)
        return g.admin_link_visible

    return {"admin_link_visible": admin_link_visible}


def site_config() -> SiteConfig:
    return current_app.config["SITE"]


def managed_list_or_404(address: str) -> MailingList:
    """The list at `address` if the signed-in user owns it or is a listmaster; else 404."""
    mailing_list = find_list(db.session, address)
    if mailing_list is None or not can_manage(list_roles(db.session, current_user,
                                                         mailing_list)):
        abort(404)
    return mailing_list


def listmaster_or_404() -> None:
    if not current_user.is_listmaster:
        abort(404)


def see_other(endpoint: str, **values: Any) -> Response:
    """Redirect after a successful POST (303: the browser follows with a GET)."""
    return redirect(url_for(endpoint, **values), code=303)


@bp.route("/")
@login_required
def index():
    lists = managed_lists(db.session, current_user)
    if not lists and not current_user.is_listmaster:
        abort(404)
    counts = subscriber_counts(db.session, [mailing_list.id for mailing_list in lists])
    return render_template("admin/index.html", lists=lists, counts=counts)


@bp.route("/site")
@login_required
def site_settings():
    listmaster_or_404()
    site = site_config()
    return render_template("admin/site.html", rows=describe_site_settings(site),
                           config_path=site.path)


def settings_form(mailing_list: MailingList, site: SiteConfig) -> FlaskForm:
    """A form whose fields are the list's settings; "site default" choices name the site value.

    Choices are not checked here (`validate_choice=False`): `update_list_settings` checks
    every value, so the form, the CLI and htmx get the same messages.
    """

    class SettingsForm(FlaskForm):
        pass

    for state in list_settings_state(mailing_list, site):
        setting = state.setting
        if setting.kind == "days":
            setattr(SettingsForm, RETENTION_MODE, RadioField(
                setting.label, validate_choice=False,
                choices=[SelectChoice(SITE_DEFAULT, f"Site default ({state.site} days)"),
                         SelectChoice(OWN_DAYS, "This list:")],
                default=SITE_DEFAULT if state.inherited else OWN_DAYS))
            setattr(SettingsForm, setting.name, StringField(
                "Days", default="" if state.inherited else state.own))
            continue
        choices = [SelectChoice(word) for word in setting.choices]
        if setting.inherits:
            choices.insert(0, SelectChoice(SITE_DEFAULT, f"Site default ({state.site})"))
        setattr(SettingsForm, setting.name, SelectField(
            setting.label, choices=choices, default=state.own, validate_choice=False))
    return SettingsForm()


def submitted_settings(form_data: Any) -> dict[str, str]:
    """The settings present in a POST, as words for `update_list_settings`."""
    changes: dict[str, str] = {}
    for name in LIST_SETTINGS:
        if name == "retention_period" and RETENTION_MODE in form_data:
            changes[name] = SITE_DEFAULT if form_data[RETENTION_MODE] == SITE_DEFAULT \
                else form_data.get(name, "")
        elif name in form_data:
            changes[name] = form_data[name]
    return changes


@bp.route("/lists/<address>/settings", methods=["GET", "POST"])
@login_required
def list_settings(address: str):
    mailing_list = managed_list_or_404(address)
    site = site_config()
    form = settings_form(mailing_list, site)
    errors: dict[str, str] = {}
    status = 200
    if form.validate_on_submit():
        try:
            logged = update_list_settings(db.session, mailing_list,
                                          submitted_settings(request.form), current_user.email)
        except ListSettingsInvalid as invalid:
            errors, status = invalid.errors, 400
        else:
            db.session.commit()
            flash(f"Saved: {', '.join(change.setting for change in logged)}." if logged
                  else "Nothing changed.", "info")
            return see_other("admin.list_settings", address=mailing_list.address)
    elif request.method == "POST":
        status = 400
    return render_template(
        "admin/settings.html", mailing_list=mailing_list, form=form, errors=errors,
        states={state.setting.name: state for state in list_settings_state(mailing_list, site)},
        settings=LIST_SETTINGS, setting_groups=SETTING_GROUPS,
        log=change_log(db.session, mailing_list),
    ), status


@bp.route("/lists/<address>/settings/check", methods=["POST"])
@login_required
def check_setting(address: str):
    """htmx inline validation of one field: answers the field's error slot, filled or empty."""
    managed_list_or_404(address)
    name = request.form.get("setting", "")
    if name not in LIST_SETTINGS:
        abort(404)
    value = submitted_settings(request.form).get(name, "")
    field_error = get_template_attribute("admin/_macros.html", "field_error")
    return field_error(name, validate_setting(name, value))


# The list and subscriber pages register their routes on `bp` too.
from webapp import admin_lists, admin_subscribers  # noqa: E402, F401
