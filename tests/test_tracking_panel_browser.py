"""In a real browser: a list owner signs in, clicks through the archive to a tracked message,
opens its tracking panel and reads what became of each of its 120 copies.

The reports behind the panel are real ones: Postfix DSNs (the loopback test MTA's writer)
and Thunderbird read receipts, parsed by the report parser and filed through the same
`store_report` / `record_notification` the report worker uses.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ingest.reports import parse_report
from ingest.testmta.dsn_writer import DeliveryReport, RecipientReport, write_dsn
from ingest.testmta.mdn_writer import DispositionReport, write_mdn
from ingest.verp import verp_address
from listtrack.archive import archive_message
from listtrack.evidence import record_notification, store_report
from listtrack.lists import create_list
from listtrack.models import Delivery, Notification, Report
from webapp.archive import month_label
from webapp.extensions import db

pytestmark = pytest.mark.browser

LIST_ADDRESS = "news@lists.example.org"
OWNER = "owner@example.org"
STRANGER = "stranger@example.com"
MESSAGE_ID = "20261204.board@example.org"
SUBJECT = "Board meeting"
# 120 copies: enough for three pages of rows (50 a page), in every status the issue names.
STATUS_PLAN = {"delivered": 48, "displayed": 30, "failed": 21, "delayed": 12, "digest": 9}
DOMAINS = ("example.net", "example.com", "example.org")
FAILED_DIAGNOSTIC = ("smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown in "
                     "virtual mailbox table")
POSTFIX_TEXTS = {  # action -> (status, diagnostic), worded as Postfix words them
    "delivered": ("2.0.0", "X-Postfix; delivered to mailbox"),
    "delayed": ("4.4.1", "X-Postfix; connect to in.{d}[192.0.2.25]:25: Connection timed out"),
    "failed": ("5.1.1", FAILED_DIAGNOSTIC),
}


@dataclass
class Scenario:
    panel_path: str
    sent_at: datetime
    year_month: str
    addresses: list[str]  # in address order, as the panel lists them
    status_of: dict[str, str]
    raw_of: dict[int, bytes] = field(default_factory=dict)  # notification id -> report bytes
    received: dict[str, list[datetime]] = field(default_factory=dict)  # address -> report times

    def with_status(self, status: str) -> list[str]:
        return [a for a in self.addresses if self.status_of[a] == status]


def _post(sent_at: datetime) -> bytes:
    return (f"From: Owner <{OWNER}>\nTo: {LIST_ADDRESS}\nSubject: {SUBJECT}\n"
            f"Message-ID: <{MESSAGE_ID}>\nDate: {format_datetime(sent_at)}\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            f"The agenda for Thursday.\n").encode()


def _postfix_dsn(post: bytes, return_path: str, recipient: str, action: str,
                 at: datetime, number: int) -> bytes:
    status, diagnostic = POSTFIX_TEXTS[action]
    diagnostic = diagnostic.format(r=recipient, d=recipient.rpartition("@")[2])
    return write_dsn(DeliveryReport(
        reporting_mta="mx.lists.example.org", envelope_sender=return_path,
        arrival=at - timedelta(minutes=1), created=at, queue_id=f"4Q{number:08X}",
        recipients=(RecipientReport(
            final_recipient=recipient, original_recipient=f"rfc822;{recipient}",
            action=action, status=status, reason=diagnostic.split("; ", 1)[1],
            diagnostic=diagnostic,
            remote_mta=f"dns; in.{recipient.rpartition('@')[2]}" if action == "failed" else None,
        ),),
        ret="HDRS",
    ), post)


def _file_report(delivery: Delivery, raw: bytes, return_path: str, message_id: int,
                 received: datetime) -> Notification:
    """What the report worker does with one report, minus the spool: parse, store, record."""
    parsed = parse_report(raw)
    assert parsed.kind in ("dsn", "mdn") and len(parsed.recipients) == 1, parsed
    result = parsed.recipients[0]
    report, new = store_report(db.session, raw, parsed.kind, envelope_recipient=return_path,
                               message_id=message_id, received_at=received)
    assert new
    return record_notification(
        db.session, delivery, report, kind=parsed.kind, action=result.action,
        status_code=result.status, diagnostic=result.diagnostic or None,
        final_recipient=result.address, original_recipient=result.original_recipient,
        reporting_mta=parsed.reporting_mta, remote_mta=result.remote_mta,
        disposition_mode=result.disposition_mode, arrival_date=parsed.arrival_date,
        received_at=received,
    )


def build_tracked_message(app, site, plan: dict[str, int] = STATUS_PLAN) -> Scenario:  # noqa: ANN001
    sent_at = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    statuses = [status for status, count in plan.items() for _ in range(count)]
    random.Random(5).shuffle(statuses)  # statuses interleave in address order
    addresses = [f"member{n:03d}@{DOMAINS[n % 3]}" for n in range(len(statuses))]
    status_of = dict(zip(addresses, statuses, strict=True))
    with app.app_context():
        mailing_list = create_list(db.session, LIST_ADDRESS, [OWNER],
                                   subject="Board announcements")
        post = _post(sent_at)
        message = archive_message(db.session, mailing_list, post, received_at=sent_at).message
        message.dsn_requested = message.mdn_requested = True
        message.distributed_at = sent_at
        db.session.flush()
        scenario = Scenario(f"/lists/{LIST_ADDRESS}/msg/{MESSAGE_ID}/tracking", sent_at,
                            message.year_month, addresses, status_of)
        for number, address in enumerate(addresses):
            status = status_of[address]
            digest = status == "digest"
            delivery = Delivery(message_id=message.id, recipient=address,
                                reception="digest" if digest else "mail",
                                status="digest" if digest else "waiting",
                                send_state="skipped" if digest else "sent",
                                sent_at=None if digest else sent_at)
            db.session.add(delivery)
            db.session.flush()
            if digest:
                continue
            return_path = verp_address(site.bounce_email_prefix, site.domain, delivery.id,
                                       site.secret_key)
            reports = {  # each copy's history, oldest first
                "delivered": [("delivered", 2)],
                "displayed": [("delivered", 2), ("displayed", 35)],
                "failed": [("delayed", 40), ("failed", 100)],
                "delayed": [("delayed", 40)],
            }[status]
            for step, (action, minutes) in enumerate(reports):
                at = sent_at + timedelta(minutes=minutes, seconds=number % 60)
                if action == "displayed":
                    raw = write_mdn(DispositionReport(
                        reader=address, notify_to=return_path, disposition="displayed",
                        created=at, original_recipient=f"rfc822;{address}"), post)
                else:
                    raw = _postfix_dsn(post, return_path, address, action, at,
                                       number * 4 + step)
                notification = _file_report(delivery, raw, return_path, message.id, at)
                scenario.raw_of[notification.id] = raw
                scenario.received.setdefault(address, []).append(at)
        db.session.commit()
    return scenario


def stored_report(app, notification_id: int) -> Report:  # noqa: ANN001
    with app.app_context():
        report = db.session.scalar(select(Report).join(Notification).where(
            Notification.id == notification_id))
        db.session.expunge(report)
        return report


def sign_in(page, base_url: str, email: str) -> None:  # noqa: ANN001
    """Through the real form, as a person does: from the home page's 'Sign in' link."""
    page.goto(f"{base_url}/")
    page.locator("header.site").get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header.site .who")).to_have_text(email)


def file_late_report(app, site, scenario: Scenario, address: str, action: str) -> None:  # noqa: ANN001
    """A Postfix report about one copy that comes in now, while the panel is open."""
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.recipient == address))
        at = datetime.now(UTC).replace(microsecond=0)
        return_path = verp_address(site.bounce_email_prefix, site.domain, delivery.id,
                                   site.secret_key)
        raw = _postfix_dsn(_post(scenario.sent_at), return_path, address, action, at, 10**6)
        _file_report(delivery, raw, return_path, delivery.message_id, at)
        db.session.commit()
    scenario.status_of[address] = action


def collect_console_errors(page) -> list[str]:  # noqa: ANN001
    """Script errors and console errors of the page, but for the missing favicon."""
    errors: list[str] = []

    def on_console(message) -> None:  # noqa: ANN001
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


def row_addresses(page):  # noqa: ANN001, ANN201
    return page.locator("#tracking-rows td.address")


def chip(page, label: str):  # noqa: ANN001, ANN201
    return page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name=re.compile(rf"^{re.escape(label)} [\d,]+$"))


def row_of(page, address: str):  # noqa: ANN001, ANN201
    return page.locator("#tracking-rows tr").filter(
        has=page.locator("td.address", has_text=re.compile(rf"^{re.escape(address)}$")))


def test_owner_follows_a_tracked_message_in_the_browser(app, site, live_server, browser_page,
                                                        make_user):
    scenario = build_tracked_message(app, site)
    make_user(OWNER)
    make_user(STRANGER)
    base = live_server.url
    page = browser_page
    console_errors = collect_console_errors(page)

    # Sign in, then list → month → message → "Tracking", all by clicking.
    sign_in(page, base, OWNER)
    page.get_by_role("link", name=LIST_ADDRESS).click()
    page.get_by_role("link", name=month_label(scenario.year_month)).click()
    page.get_by_role("link", name=SUBJECT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    page.get_by_role("link", name="Tracking", exact=True).click()
    expect(page).to_have_url(f"{base}{scenario.panel_path}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Tracking: {SUBJECT}")

    # The summary: total, age, the bar (read through its text alternative) and the legend.
    expect(page.locator("#tracking-summary-title")).to_have_text(
        "120 recipients · sent 3 hours ago")
    expect(page.get_by_role("img", name=(
        "Displayed: 30 (25.0 %); Delivered: 48 (40.0 %); Delayed: 12 (10.0 %); "
        "Failed: 21 (17.5 %); Not sent (reception option): 9 (7.5 %)."))).to_be_visible()
    expect(page.locator(".tracking-legend tbody tr")).to_have_text([
        "Displayed 30 25.0 %", "Delivered 48 40.0 %", "Delayed 12 10.0 %", "Failed 21 17.5 %",
        "Not sent (reception option) (digest 9) 9 7.5 %",
    ])
    expect(page.get_by_role("navigation", name="Filter by status").get_by_role("link")) \
        .to_have_text(["All 120", "Displayed 30", "Delivered 48", "Delayed 12", "Failed 21",
                       "Not sent (reception option) 9"])
    # Copies are still delayed: the summary says it keeps itself fresh.
    expect(page.locator("#tracking-summary .live")).to_contain_text("refreshes every 10 seconds")

    # A report arrives while the page is open: the summary refreshes itself, chips follow.
    late = scenario.with_status("delayed")[0]
    file_late_report(app, site, scenario, late, "delivered")
    expect(page.locator(".tracking-legend tbody tr")).to_have_text([
        "Displayed 30 25.0 %", "Delivered 49 40.8 %", "Delayed 11 9.2 %", "Failed 21 17.5 %",
        "Not sent (reception option) (digest 9) 9 7.5 %",
    ], timeout=25_000)  # the page polls every 10 s
    expect(page.get_by_role("navigation", name="Filter by status").get_by_role("link")) \
        .to_have_text(["All 120", "Displayed 30", "Delivered 49", "Delayed 11", "Failed 21",
                       "Not sent (reception option) 9"])

    # Rows: the first page, then "load more" as the person scrolls down, until all are there.
    expect(row_addresses(page)).to_have_text(scenario.addresses[:50])
    more = page.locator("#tracking-rows tr.more")
    for shown in (100, 120):
        more.scroll_into_view_if_needed()
        expect(row_addresses(page)).to_have_count(shown)
    expect(more).to_have_count(0)
    expect(row_addresses(page)).to_have_text(scenario.addresses)  # in order, none twice
    digest_row = row_of(page, scenario.with_status("digest")[0])
    expect(digest_row.locator("td").nth(1)).to_have_text("digest")
    expect(digest_row.locator(".status")).to_have_text("not sent (digest)")
    expect(digest_row.get_by_role("link", name="view")).to_have_count(0)

    # The "Failed" chip: only failed rows, with code and phrase; the URL carries the filter.
    failed = scenario.with_status("failed")
    chip(page, "Failed").click()
    expect(page).to_have_url(f"{base}{scenario.panel_path}?status=failed")
    expect(chip(page, "Failed")).to_have_attribute("aria-current", "true")
    expect(row_addresses(page)).to_have_text(failed)
    expect(page.locator("#tracking-rows td .status")).to_have_text(["failed"] * len(failed))
    expect(page.locator("#tracking-rows td:has(.status)")).to_have_text(
        ["failed 5.1.1 Permanent failure: bad destination mailbox address"] * len(failed))
    expect(more).to_have_count(0)
    # Back and forward follow the filter (htmx keeps the history), a reload shows the same.
    page.go_back()
    expect(page).to_have_url(f"{base}{scenario.panel_path}")
    expect(chip(page, "All")).to_have_attribute("aria-current", "true")
    expect(row_addresses(page).nth(49)).to_have_text(scenario.addresses[49])
    page.go_forward()
    expect(page).to_have_url(f"{base}{scenario.panel_path}?status=failed")
    expect(row_addresses(page)).to_have_text(failed)
    page.reload()
    expect(chip(page, "Failed")).to_have_attribute("aria-current", "true")
    expect(row_addresses(page)).to_have_text(failed)

    # "view" opens the notification in the dialog (htmx), as a person reads it.
    bounced = failed[0]
    row_of(page, bounced).get_by_role("link", name="view").click()
    dialog = page.locator("dialog#notification-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", level=2)).to_have_text(
        f"Delivery status notification (DSN) for {bounced}")
    fields = dialog.locator("dl.fields")
    expect(fields.locator("dt")).to_contain_text(["Kind", "Action", "Status", "Diagnostic"])
    expect(fields.locator("dt:text-is('Kind') + dd")).to_have_text("dsn")
    expect(fields.locator("dt:text-is('Action') + dd")).to_have_text("failed")
    expect(fields.locator("dt:text-is('Status') + dd")).to_have_text(
        "5.1.1 Permanent failure: bad destination mailbox address (addressing status)")
    # The parser keeps the diagnostic text without its "smtp; " type, as the worker files it.
    expect(fields.locator("dd.diagnostic")).to_have_text(
        FAILED_DIAGNOSTIC.format(r=bounced).removeprefix("smtp; "))
    expect(fields.locator("dt:text-is('Reporting MTA') + dd")).to_have_text(
        "mx.lists.example.org")
    history = dialog.locator("ol.history > li")
    delayed_at, failed_at = (f"{at:%Y-%m-%d %H:%M:%S} UTC" for at in scenario.received[bounced])
    expect(history).to_have_text([
        f"{delayed_at} · dsn · delayed 4.4.1 Persistent transient failure: no answer from host"
        " · open",
        f"{failed_at} · dsn · failed 5.1.1 Permanent failure: bad destination mailbox address",
    ])
    expect(history.nth(1)).to_have_attribute("aria-current", "true")
    notification_id = int(dialog.get_by_role("link", name=re.compile("^Download")).get_attribute(
        "href").split("/")[-2])
    raw = scenario.raw_of[notification_id]
    dialog.get_by_text("Raw source").click()
    source = dialog.locator("pre.raw-source")
    expect(source).to_be_visible()
    assert source.text_content() == raw.decode()
    assert b"Status: 5.1.1" in raw and b"X-Postfix-Queue-ID:" in raw
    sha256 = dialog.locator("code.sha256").inner_text()

    # The download: exactly the stored bytes, whose SHA-256 the dialog shows.
    href = dialog.get_by_role("link", name="Download the report as received (.eml)") \
        .get_attribute("href")
    response = page.request.get(f"{base}{href}")
    assert response.status == 200
    assert response.headers["content-disposition"] == \
        f'attachment; filename="notification-{notification_id}.eml"'
    stored = stored_report(app, notification_id)
    assert response.body() == stored.raw == raw
    assert sha256 == stored.sha256 == hashlib.sha256(response.body()).hexdigest()
    assert response.headers["x-content-sha256"] == sha256
    with page.expect_download() as download:
        dialog.get_by_role("link", name="Download the report as received (.eml)").click()
    assert download.value.suggested_filename == f"notification-{notification_id}.eml"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == raw

    # An earlier step of the history opens in the same dialog; "Close" closes it.
    history.nth(0).get_by_role("link", name="open").click()
    expect(fields.locator("dt:text-is('Action') + dd")).to_have_text("delayed")
    expect(fields.locator("dt:text-is('Status') + dd")).to_have_text(
        "4.4.1 Persistent transient failure: no answer from host (network and routing status)")
    expect(dialog.locator("ol.history > li").nth(0)).to_have_attribute("aria-current", "true")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # Search an address: back to all statuses, type part of an address; the URL keeps it.
    chip(page, "All").click()
    expect(page).to_have_url(f"{base}{scenario.panel_path}")
    expect(row_addresses(page)).to_have_count(50)
    reader = scenario.with_status("displayed")[0]
    page.get_by_role("searchbox", name="Search recipients").fill(reader.split("@")[0])
    expect(row_addresses(page)).to_have_text([reader])
    expect(row_of(page, reader).locator(".status")).to_have_text("displayed")
    expect(page).to_have_url(f"{base}{scenario.panel_path}?q={reader.split('@')[0]}")
    # Search and filter together: a domain, then the "Failed" chip keeps the search.
    page.get_by_role("searchbox", name="Search recipients").fill("example.com")
    expect(row_addresses(page)).to_have_text(
        [a for a in scenario.addresses if a.endswith("@example.com")][:50])
    chip(page, "Failed").click()
    failed_dot_com = [a for a in failed if a.endswith("@example.com")]
    expect(row_addresses(page)).to_have_text(failed_dot_com)
    expect(page).to_have_url(f"{base}{scenario.panel_path}?status=failed&q=example.com")
    page.reload()
    expect(row_addresses(page)).to_have_text(failed_dot_com)
    expect(page.get_by_role("searchbox", name="Search recipients")).to_have_value("example.com")

    # Without JavaScript the chips, "view", search and pages are plain links and forms.
    browser = page.context.browser
    plain = browser.new_context(java_script_enabled=False)
    try:
        nojs = plain.new_page()
        nojs.set_default_timeout(15_000)
        sign_in(nojs, base, OWNER)
        nojs.goto(f"{base}{scenario.panel_path}")
        expect(row_addresses(nojs)).to_have_text(scenario.addresses[:50])
        chip(nojs, "Failed").click()
        expect(nojs).to_have_url(f"{base}{scenario.panel_path}?status=failed")
        expect(row_addresses(nojs)).to_have_text(failed)
        row_of(nojs, bounced).get_by_role("link", name="view").click()
        expect(nojs).to_have_url(re.compile(
            rf"{re.escape(base + scenario.panel_path)}/notifications/\d+$"))
        expect(nojs.get_by_role("heading", level=2)).to_have_text(
            f"Delivery status notification (DSN) for {bounced}")
        expect(nojs.locator("dt:text-is('Status') + dd")).to_have_text(
            "5.1.1 Permanent failure: bad destination mailbox address (addressing status)")
        expect(nojs.locator("pre.raw-source")).to_be_visible()  # open on the full page
        assert nojs.locator("pre.raw-source").text_content() == raw.decode()
        expect(nojs.locator("code.sha256")).to_have_text(sha256)
        nojs.get_by_role("link", name=f"Tracking of “{SUBJECT}”").click()
        expect(nojs).to_have_url(f"{base}{scenario.panel_path}")
        seen = nojs.locator("#tracking-rows td.address").all_inner_texts()
        for shown in (100, 120):
            nojs.get_by_role("link", name="Next page").click()
            expect(row_addresses(nojs)).to_have_text(scenario.addresses[len(seen):shown])
            expect(nojs.get_by_role("link", name="First page")).to_be_visible()
            seen += row_addresses(nojs).all_inner_texts()
        expect(nojs.get_by_role("link", name="Next page")).to_have_count(0)
        assert seen == scenario.addresses
        nojs.get_by_role("searchbox", name="Search recipients").fill(reader)
        nojs.get_by_role("button", name="Search").click()
        expect(row_addresses(nojs)).to_have_text([reader])
    finally:
        plain.close()

    # A stranger, signed in, gets 404 for the panel and every part of it.
    other = browser.new_context()
    try:
        stranger = other.new_page()
        stranger.set_default_timeout(15_000)
        sign_in(stranger, base, STRANGER)
        response = stranger.goto(f"{base}{scenario.panel_path}?status=failed")
        assert response.status == 404
        assert bounced not in stranger.content()
        for tail in ("/results?status=failed", "/rows", "/summary", "/export.csv",
                     f"/notifications/{notification_id}",
                     f"/notifications/{notification_id}/dialog",
                     f"/notifications/{notification_id}/download"):
            assert other.request.get(f"{base}{scenario.panel_path}{tail}").status == 404, tail
    finally:
        other.close()

    # No script error on the way.
    assert console_errors == []


def test_a_status_that_appears_while_the_panel_is_open_gets_its_chip(app, site, live_server,
                                                                      browser_page, make_user):
    scenario = build_tracked_message(app, site, {"delivered": 2, "delayed": 2})
    make_user(OWNER)
    page = browser_page
    console_errors = collect_console_errors(page)
    sign_in(page, live_server.url, OWNER)
    page.goto(f"{live_server.url}{scenario.panel_path}")
    expect(chip(page, "Delayed")).to_have_text(re.compile(r"\b2$"))
    expect(chip(page, "Failed")).to_have_count(0)

    file_late_report(app, site, scenario, scenario.with_status("delayed")[0], "failed")
    # What the page's "every 10s" poll does, done now rather than waited for (the owner test
    # above waits for a real one): the same URL, target and swap.
    page.evaluate("url => htmx.ajax('GET', url, {target: '#tracking-summary', "
                  "swap: 'outerHTML'})", f"{scenario.panel_path}/summary")
    expect(page.locator(".tracking-legend tbody tr")).to_have_text(
        ["Delivered 2 50.0 %", "Delayed 1 25.0 %", "Failed 1 25.0 %"])
    expect(chip(page, "Delayed")).to_have_text(re.compile(r"\b1$"))  # an existing chip follows
    # A person now reads "Failed: 1" in the summary and looks for the chip to list it.
    expect(chip(page, "Failed")).to_have_text(re.compile(r"\b1$"), timeout=3_000)
    assert console_errors == []
