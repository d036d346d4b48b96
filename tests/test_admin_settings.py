"""The list settings form: validation next to the field, the change log, site defaults, CSRF."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from listtrack.models import ListSettingChange, MailingList
from tests.admin_fixtures import (  # noqa: F401 - fixtures
    BOSS,
    NEWS,
    OTHER,
    OWNER,
    admin_site_fixture,
    post_form_fixture,
    switch_user,
)
from webapp.extensions import db

SETTINGS = f"/admin/lists/{NEWS}/settings"

UNCHANGED = {
    "delivery_status_notification": "default",
    "message_disposition_notification": "default",
    "tracking_visibility": "default",
    "retention_period_mode": "default",
    "retention_period": "",
    "verp_rate": "default",
    "send_policy": "subscribers",
    "archive_visibility": "private",
    "mask_addresses": "off",
    "alert_owners_on_failure": "off",
}


def stored_list(app, list_id: int) -> MailingList:
    with app.app_context():
        return db.session.get(MailingList, list_id)


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="error-{name}"[^>]*>([^<]*)<', html)
    assert found, f"no error slot for {name}"
    return unescape(found.group(1)).strip()


@pytest.mark.all_databases
def test_owner_changes_settings_and_sees_the_log(app, client, sign_in, admin_site, post_form):
    sign_in(OWNER)
    page = client.get(SETTINGS)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bounce management and tracking" in html
    assert "Subscribers see a read-receipt prompt" in html  # the warning next to MDN
    assert "Site default (off)" in html and "Site default (90 days)" in html
    assert "No change recorded yet." in html

    response = post_form(SETTINGS, dict(UNCHANGED, message_disposition_notification="on_demand",
                                        retention_period_mode="days", retention_period="30",
                                        verp_rate="25%", mask_addresses="on"), page=SETTINGS)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(SETTINGS)
    stored = stored_list(app, admin_site.news_id)
    assert stored.message_disposition_notification == "on_demand"
    assert stored.retention_period == 30 and stored.verp_rate == "25%"
    assert stored.mask_addresses is True and stored.delivery_status_notification is None

    html = client.get(SETTINGS).get_data(as_text=True)
    log = html.split("Change log", 1)[1]
    assert "message_disposition_notification" in log and "site default → on_demand" in log
    assert "retention_period" in log and "site default → 30" in log
    assert "mask_addresses" in log and "off → on" in log
    assert log.count(OWNER) == 4
    assert "delivery_status_notification" not in log  # untouched settings are not logged


@pytest.mark.all_databases
def test_bad_values_are_refused_next_to_the_field(app, client, sign_in, admin_site, post_form):
    sign_in(OWNER)
    response = post_form(SETTINGS, dict(UNCHANGED, retention_period_mode="days",
                                        retention_period="5000", verp_rate="3%",
                                        delivery_status_notification="on",
                                        send_policy="everyone"), page=SETTINGS)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert "5000 days is out of range" in field_error(html, "retention_period")
    assert "'3%' is not allowed" in field_error(html, "verp_rate")
    assert "choose public, subscribers or owners" in field_error(html, "send_policy")
    assert field_error(html, "delivery_status_notification") == ""
    assert 'value="5000"' in html  # the person's input stays in the form
    stored = stored_list(app, admin_site.news_id)
    assert stored.delivery_status_notification is None and stored.retention_period is None
    with app.app_context():
        assert db.session.scalars(select(ListSettingChange)).all() == []


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("delivery_status_notification", "sometimes", "choose on, off or default"),
    ("message_disposition_notification", "always", "choose on, on_demand, off or default"),
    ("tracking_visibility", "everyone", "choose owner, private or default"),
    ("retention_period", "0", "0 days is out of range"),
    ("retention_period", "", "choose 1-3650 days or default"),
    ("retention_period", "ten", "is not a number of days"),
    ("verp_rate", "1%", "choose 0%, 2%, 5%, 10%, 20%, 25%, 33%, 50%, 100% or default"),
    ("archive_visibility", "world", "choose public, private or owner"),
    ("mask_addresses", "default", "choose on or off"),
    ("alert_owners_on_failure", "yes", "choose on or off"),
])
def test_each_field_refuses_bad_values(client, sign_in, admin_site, post_form, name, value,
                                       expected):
    sign_in(OWNER)
    data = dict(UNCHANGED)
    if name == "retention_period":
        data["retention_period_mode"] = "days"
    data[name] = value
    response = post_form(SETTINGS, data, page=SETTINGS)
    assert response.status_code == 400
    assert expected in field_error(response.get_data(as_text=True), name)


def test_htmx_checks_one_field_inline(client, sign_in, admin_site, post_form):
    sign_in(OWNER)
    check = f"{SETTINGS}/check"
    bad = post_form(check, {"setting": "verp_rate", "verp_rate": "7%"}, page=SETTINGS,
                    headers={"HX-Request": "true"})
    assert bad.status_code == 200
    assert bad.get_data(as_text=True).startswith('<p class="field-error" id="error-verp_rate"')
    assert "'7%' is not allowed" in unescape(bad.get_data(as_text=True))
    good = post_form(check, {"setting": "retention_period", "retention_period_mode": "days",
                             "retention_period": "12"}, page=SETTINGS)
    assert field_error(good.get_data(as_text=True), "retention_period") == ""
    assert post_form(check, {"setting": "nope"}, page=SETTINGS).status_code == 404


def test_settings_page_fields_carry_inline_validation(client, sign_in, admin_site):
    sign_in(OWNER)
    html = client.get(SETTINGS).get_data(as_text=True)
    assert html.count(f'hx-post="/admin/lists/{NEWS}/settings/check"') == 9
    assert 'hx-vals=\'{"setting": "retention_period"}\'' in html


def test_post_without_csrf_token_changes_nothing(app, client, sign_in, admin_site):
    sign_in(OWNER)
    response = client.post(SETTINGS, data=dict(UNCHANGED, delivery_status_notification="on"))
    assert response.status_code == 400
    assert stored_list(app, admin_site.news_id).delivery_status_notification is None
    forged = client.post(SETTINGS, data=dict(UNCHANGED, delivery_status_notification="on",
                                             csrf_token="forged-token"))
    assert forged.status_code == 400
    assert stored_list(app, admin_site.news_id).delivery_status_notification is None


def test_forged_post_for_another_lists_settings_is_404(app, client, sign_in, admin_site,
                                                       post_form):
    sign_in(OWNER)
    response = post_form(f"/admin/lists/{OTHER}/settings",
                         dict(UNCHANGED, delivery_status_notification="on"), page=SETTINGS)
    assert response.status_code == 404
    assert stored_list(app, admin_site.other_id).delivery_status_notification is None


def test_listmaster_edits_any_list_and_is_logged_by_address(app, client, sign_in, admin_site,
                                                            post_form):
    sign_in(BOSS)
    response = post_form(f"/admin/lists/{OTHER}/settings",
                         dict(UNCHANGED, tracking_visibility="private"))
    assert response.status_code == 303
    with app.app_context():
        change = db.session.scalar(select(ListSettingChange))
        assert (change.changed_by, change.setting, change.old_value, change.new_value) == \
            (BOSS, "tracking_visibility", "site default", "private")


@pytest.mark.all_databases
def test_site_default_follows_a_later_change_of_the_file(site, write_config, admin_site,
                                                         make_user):
    """A list left at "site default" shows (and uses) the file's new value in a new app."""
    from tests.conftest import csrf_token_from
    from webapp import create_app

    write_config("tracking_delivery_status_notification on", "tracking_retention_period 60")
    first = create_app({"TESTING": True})
    client = first.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": OWNER, "password": "correct horse",
                                "csrf_token": token})
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "Site default (on)" in html and "Site default (60 days)" in html
    assert "In effect: <strong>60</strong> (site default)" in html

    write_config("tracking_delivery_status_notification off", "tracking_retention_period 14")
    later = create_app({"TESTING": True})
    client = later.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": OWNER, "password": "correct horse",
                                "csrf_token": token})
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "Site default (off)" in html and "Site default (14 days)" in html
    assert "In effect: <strong>14</strong> (site default)" in html
    for application in (first, later):
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def test_site_settings_page_for_listmasters_only(client, sign_in, admin_site, write_config):
    sign_in(BOSS)
    page = client.get("/admin/site")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "tracking_retention_period" in html and "built-in default" in html
    assert "environment LISTTRACK_DB_URL" in html
    assert "(hidden)" in html
    from flask import current_app  # noqa: F401 - the app's secret must not be on the page

    secret = client.application.config["SITE"].secret_key
    assert secret not in html
    switch_user(client, sign_in, OWNER)
    assert client.get("/admin/site").status_code == 404


def test_site_settings_page_names_file_and_line(app, client, sign_in, admin_site, write_config):
    from listtrack.config import load_site_config

    path = write_config("# site", "domain lists.example.org",
                        "db_url postgresql+psycopg://alice:hunter2@db.example.org/x")
    app.config["SITE"] = load_site_config()
    sign_in(BOSS)
    html = client.get("/admin/site").get_data(as_text=True)
    assert f"{path}:2" in html
    assert "hunter2" not in html
