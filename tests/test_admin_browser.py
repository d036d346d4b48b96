"""In a real browser: an owner sets read receipts to on_demand in the settings form (htmx checks
a field inline on the way) and the next posts' copies follow it through a loopback MTA."""

from __future__ import annotations

import pytest

from ingest.testmta import LoopbackMTA
from listtrack.models import MailingList
from tests.admin_fixtures import OWNER, password_hash
from tests.distribution_fixtures import (
    LIST,
    accepted,
    header_values,
    make_list,
    post_bytes,
    run_queues,
    site_for,
    spool_post,
)

pytestmark = pytest.mark.browser


def test_mdn_on_demand_through_the_form_reaches_the_next_posts(site, session, live_server,
                                                               browser_page):
    from listtrack.models import User

    mailing_list = make_list(session, subscribers=[("reader@example.net", "mail")])
    mailing_list.owners[0].email = OWNER
    session.add(User(email=OWNER, password_hash=password_hash()))
    session.commit()

    page = browser_page
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.click("text=Administration")
    page.click("text=Settings")
    page.wait_for_selector("text=Bounce management and tracking")
    assert "read-receipt prompt" in page.locator("#setting-message_disposition_notification") \
        .inner_text()

    # htmx checks a field as soon as it changes, before anything is saved.
    page.check("input[name=retention_period_mode][value=days]")
    page.fill("input[name=retention_period]", "0")
    page.locator("input[name=retention_period]").dispatch_event("change")
    page.wait_for_selector("#error-retention_period:has-text('out of range')")
    page.fill("input[name=retention_period]", "30")
    page.locator("input[name=retention_period]").dispatch_event("change")
    page.wait_for_selector("#error-retention_period:empty", state="attached")

    page.select_option("select[name=message_disposition_notification]", "on_demand")
    page.click("text=Save settings")
    page.wait_for_selector("text=Saved: message_disposition_notification, retention_period.")
    log = page.locator(".change-log").inner_text()
    assert "site default → on_demand" in log and OWNER in log

    session.expire_all()
    stored = session.get(MailingList, mailing_list.id)
    assert (stored.message_disposition_notification, stored.retention_period) == ("on_demand", 30)

    # The next posts: one asks for a read receipt, one does not.
    spool_post(site, post_bytes(message_id="<asks@example.org>",
                                receipt_to="author@example.org"))
    spool_post(site, post_bytes(subject="No receipt", message_id="<plain@example.org>"))
    with LoopbackMTA() as mta:
        run_queues(site_for(site, mta, domain="lists.example.org"))
        copies = {header_values(tx.data, "Message-ID")[0]: tx for tx, _ in accepted(mta)}
    assert set(copies) == {"<asks@example.org>", "<plain@example.org>"}
    asked = header_values(copies["<asks@example.org>"].data, "Disposition-Notification-To")
    assert asked == [f"<{copies['<asks@example.org>'].mail_from}>"]
    assert copies["<asks@example.org>"].mail_from.startswith("bounce+")
    assert header_values(copies["<plain@example.org>"].data, "Disposition-Notification-To") == []
    assert LIST in copies["<plain@example.org>"].data.decode("utf-8", "replace")
