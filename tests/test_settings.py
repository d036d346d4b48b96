"""Effective settings: a list's own value over the site default, computed in one place."""

from __future__ import annotations

import pytest

from listtrack.config import load_site_config
from listtrack.lists import create_list
from listtrack.settings import effective_setting, effective_tracking


@pytest.mark.all_databases
def test_list_follows_site_until_it_overrides(write_config, site, session):
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    session.commit()
    write_config("tracking_delivery_status_notification on",
                 "tracking_message_disposition_notification on_demand",
                 "tracking_retention_period 30")
    site = load_site_config()
    settings = effective_tracking(mailing_list, site)
    assert settings.delivery_status_notification == "on"
    assert settings.message_disposition_notification == "on_demand"
    assert settings.retention_period == 30
    assert settings.tracking_visibility == "owner"
    assert effective_setting(mailing_list, "delivery_status_notification", site).inherited

    # A later change of the file is followed by a list left at "site default".
    write_config("tracking_delivery_status_notification off")
    assert effective_tracking(mailing_list, load_site_config()).delivery_status_notification \
        == "off"

    mailing_list.delivery_status_notification = "on"
    mailing_list.message_disposition_notification = "off"
    mailing_list.retention_period = 7
    session.commit()
    session.expire_all()
    stored = session.get(type(mailing_list), mailing_list.id)
    settings = effective_tracking(stored, load_site_config())
    assert settings.delivery_status_notification == "on"
    assert settings.message_disposition_notification == "off"
    assert settings.retention_period == 7
    assert not effective_setting(stored, "delivery_status_notification", site).inherited
