"""List settings as domain rules: each field's validation, the change log, inheritance."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from listtrack.config import SiteConfig, load_site_config
from listtrack.list_settings import (
    LIST_SETTINGS,
    ListSettingsInvalid,
    change_log,
    describe_site_settings,
    list_settings_state,
    parse_setting,
    update_list_settings,
    validate_setting,
)
from listtrack.lists import create_list
from listtrack.models import ListSettingChange, MailingList
from listtrack.settings import effective_tracking

GOOD = {
    "delivery_status_notification": [("on", "on"), ("off", "off"), ("default", None),
                                     ("ON", "on"), (" site default ", None)],
    "message_disposition_notification": [("on", "on"), ("on_demand", "on_demand"),
                                         ("off", "off"), ("default", None)],
    "tracking_visibility": [("owner", "owner"), ("private", "private"), ("default", None)],
    "retention_period": [("1", 1), ("3650", 3650), ("30", 30), (7, 7), ("default", None)],
    "verp_rate": [("0%", "0%"), ("2%", "2%"), ("33%", "33%"), ("100%", "100%"), ("5", "5%"),
                  ("default", None)],
    "send_policy": [("public", "public"), ("subscribers", "subscribers"), ("owners", "owners")],
    "archive_visibility": [("public", "public"), ("private", "private"), ("owner", "owner")],
    "mask_addresses": [("on", True), ("off", False), (True, True), (False, False)],
    "alert_owners_on_failure": [("on", True), ("off", False)],
}

BAD = {
    "delivery_status_notification": ["yes", "", "on_demand", "1"],
    "message_disposition_notification": ["always", "", "on-demand"],
    "tracking_visibility": ["public", "subscribers", ""],
    "retention_period": ["0", "3651", "-5", "ninety", "1.5", "", "99999999999999999999"],
    "verp_rate": ["3%", "101%", "half", "", "-2%"],
    "send_policy": ["default", "anyone", ""],
    "archive_visibility": ["default", "secret", ""],
    "mask_addresses": ["default", "maybe", "", "yes"],
    "alert_owners_on_failure": ["default", "sometimes", ""],
}


def test_every_setting_has_good_and_bad_examples():
    assert set(GOOD) == set(LIST_SETTINGS) == set(BAD)


@pytest.mark.parametrize(("name", "text", "stored"),
                         [(name, text, stored) for name, cases in GOOD.items()
                          for text, stored in cases])
def test_accepted_values(name, text, stored):
    assert parse_setting(name, text) == stored
    assert validate_setting(name, text) is None


@pytest.mark.parametrize(("name", "text"),
                         [(name, text) for name, cases in BAD.items() for text in cases])
def test_refused_values_say_what_is_allowed(name, text):
    message = validate_setting(name, text)
    assert message and "\n" not in message
    setting = LIST_SETTINGS[name]
    if setting.kind == "days":
        assert "1-3650" in message
    else:
        assert all(choice in message for choice in setting.choices)
    allowed = message.rsplit(": ", 1)[-1]
    assert ("default" in allowed) == setting.inherits
    with pytest.raises(ValueError):
        parse_setting(name, text)


def test_unknown_setting_is_refused():
    message = validate_setting("colour", "blue")
    assert message.startswith("unknown setting") and "retention_period" in message


@pytest.mark.all_databases
def test_update_logs_each_change_and_nothing_else(session):
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    session.commit()
    changes = update_list_settings(session, mailing_list, {
        "delivery_status_notification": "on",
        "retention_period": "30",
        "verp_rate": "default",  # already the site default: no change, no log line
        "mask_addresses": "on",
    }, "owner@example.org")
    session.commit()
    assert [(c.setting, c.old_value, c.new_value) for c in changes] == [
        ("delivery_status_notification", "site default", "on"),
        ("retention_period", "site default", "30"),
        ("mask_addresses", "off", "on"),
    ]
    session.expire_all()
    stored = session.get(MailingList, mailing_list.id)
    assert stored.delivery_status_notification == "on"
    assert stored.retention_period == 30 and stored.mask_addresses is True

    # Back to the site default is recorded as such.
    update_list_settings(session, stored, {"retention_period": "default"}, "cli:root")
    session.commit()
    log = change_log(session, stored)
    assert (log[0].setting, log[0].old_value, log[0].new_value, log[0].changed_by) == \
        ("retention_period", "30", "site default", "cli:root")
    assert log[0].changed_at.tzinfo is not None
    assert session.get(MailingList, mailing_list.id).retention_period is None
    assert len(log) == 4


@pytest.mark.all_databases
def test_one_bad_value_saves_nothing(session):
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    session.commit()
    with pytest.raises(ListSettingsInvalid) as refused:
        update_list_settings(session, mailing_list, {
            "delivery_status_notification": "on",
            "retention_period": "0",
            "verp_rate": "7%",
        }, "owner@example.org")
    assert set(refused.value.errors) == {"retention_period", "verp_rate"}
    assert "out of range" in refused.value.errors["retention_period"]
    session.rollback()
    session.expire_all()
    assert session.get(MailingList, mailing_list.id).delivery_status_notification is None
    assert session.scalars(select(ListSettingChange)).all() == []


@pytest.mark.all_databases
def test_site_default_follows_a_later_change_of_the_file(write_config, site, session):
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    update_list_settings(session, mailing_list, {"message_disposition_notification": "on",
                                                 "retention_period": "default"}, "o@example.org")
    session.commit()
    write_config("tracking_retention_period 45", "tracking_message_disposition_notification off")
    first = load_site_config()
    states = {state.setting.name: state for state in list_settings_state(mailing_list, first)}
    assert (states["retention_period"].effective, states["retention_period"].inherited) == \
        ("45", True)
    assert states["message_disposition_notification"].effective == "on"
    assert states["message_disposition_notification"].site == "off"

    write_config("tracking_retention_period 10")
    later = load_site_config()
    assert effective_tracking(mailing_list, later).retention_period == 10
    states = {state.setting.name: state for state in list_settings_state(mailing_list, later)}
    assert states["retention_period"].effective == "10"
    assert states["message_disposition_notification"].effective == "on"  # its own value


def test_site_settings_hide_the_secret_and_the_database_password(instance):
    site = load_site_config()
    values = dict(site.values, secret_key="s3cr3t-value-that-must-not-show",
                  db_url="postgresql+psycopg://alice:hunter2@db.example.org/listtrack")
    sources = dict(site.sources, db_url="environment LISTTRACK_DB_URL")
    rows = {row.key: row for row in describe_site_settings(
        SiteConfig(values=values, sources=sources, path=site.path, instance=site.instance))}
    assert rows["secret_key"].value == "(hidden)"
    assert rows["db_url"].value == "postgresql+psycopg://alice:***@db.example.org/listtrack"
    assert rows["db_url"].source == "environment LISTTRACK_DB_URL"
    assert rows["tracking_retention_period"].source == "built-in default"
    assert all("hunter2" not in row.value and "s3cr3t" not in row.value for row in rows.values())
