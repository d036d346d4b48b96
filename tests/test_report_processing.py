"""Filing reports: each kind, as real systems send it, moves the right delivery to the right
status; the evidence is the report's exact bytes; precedence, duplicates, untracked
messages; the token found from each place it can be; what our MTA added kept apart."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from ingest import spool
from listtrack.evidence import sha256_hex
from listtrack.models import Delivery, Notification, QuarantinedReport, Report
from tests.report_fixtures import (
    exchange_ndr,
    exchange_ndr_in_german,
    exim_dsn,
    exim_plain_bounce,
    feedback_report,
    file_spooled_reports,
    make_tracked_message,
    out_of_office_about_bounces,
    outlook_mdn,
    outlook_text_receipt,
    postfix_dsn,
    sendmail_dsn,
    spool_report,
    thunderbird_mdn,
    vacation_reply,
)

pytestmark = pytest.mark.all_databases

ALICE, BOB = "alice@example.net", "bob@example.org"


def delivery_of(session, tracked, recipient: str) -> Delivery:  # noqa: ANN001
    session.expire_all()
    return session.get(Delivery, tracked.deliveries[recipient])


def count(session, model) -> int:  # noqa: ANN001
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def hand_over(site, tracked, raw: bytes, recipient: str = ALICE, **how) -> str:  # noqa: ANN001
    """Spool a report as Postfix local(8) pipes it to the bounce alias."""
    return_path = tracked.return_path(recipient)
    how.setdefault("recipients", [["env:ORIGINAL_RECIPIENT", return_path]])
    how.setdefault("postfix_recipient", return_path)
    return spool_report(site, raw, **how)


def test_postfix_failure_is_filed_byte_for_byte_with_our_mta_lines_apart(session, site):
    tracked = make_tracked_message(session, site, [ALICE])
    raw = postfix_dsn(tracked, ALICE, "failed")
    hand_over(site, tracked, raw)
    assert file_spooled_reports(site) == 1
    delivery = delivery_of(session, tracked, ALICE)
    assert (delivery.status, delivery.status_code) == ("failed", "5.1.1")
    assert "User unknown" in delivery.diagnostic
    report = session.scalars(select(Report)).one()
    assert report.raw == raw and report.sha256 == sha256_hex(raw)
    assert report.mta_prefix.startswith(b"From MAILER-DAEMON ")
    assert b"Delivered-To: " + tracked.return_path(ALICE).encode() in report.mta_prefix
    assert report.kind == "dsn" and report.message_id == tracked.message_id
    assert report.envelope_recipient == tracked.return_path(ALICE)
    notification = session.scalars(select(Notification)).one()
    assert (notification.kind, notification.action, notification.final_recipient) == (
        "dsn", "failed", ALICE)
    assert notification.reporting_mta == "mx.example.net"
    assert notification.remote_mta == "mx.example.net"
    assert notification.arrival_date is not None and notification.report_id == report.id
    assert not list(spool.pending(site.spool_path, spool.REPORTS))


KINDS: list[tuple[str, Callable, str, str | None, str]] = [
    ("postfix-delayed", lambda t, r: postfix_dsn(t, r, "delayed"), "delayed", "4.2.2", "dsn"),
    ("postfix-delivered", lambda t, r: postfix_dsn(t, r, "delivered"), "delivered", "2.0.0",
     "dsn"),
    ("postfix-crlf", lambda t, r: postfix_dsn(t, r, "failed", linesep="\r\n"), "failed",
     "5.1.1", "dsn"),
    ("exim-dsn", exim_dsn, "failed", "5.1.1", "dsn"),
    ("exim-plain-text", exim_plain_bounce, "failed", "5.1.1", "dsn"),
    ("sendmail", sendmail_dsn, "failed", "5.1.1", "dsn"),
    ("exchange", exchange_ndr, "failed", "5.1.10", "dsn"),
    ("thunderbird-displayed", lambda t, r: thunderbird_mdn(t, r, "displayed"), "displayed",
     None, "mdn"),
    ("thunderbird-deleted", lambda t, r: thunderbird_mdn(t, r, "deleted"), "deleted", None,
     "mdn"),
    ("outlook-displayed", lambda t, r: outlook_mdn(t, r, "displayed"), "displayed", None, "mdn"),
    ("outlook-deleted", lambda t, r: outlook_mdn(t, r, "deleted"), "deleted", None, "mdn"),
    ("vacation", vacation_reply, "delivered", None, "auto-reply"),
    ("out-of-office-about-bounces", out_of_office_about_bounces, "delivered", None,
     "auto-reply"),
    ("exchange-german-text-only", exchange_ndr_in_german, "failed", "5.2.2", "dsn"),
    ("outlook-text-read-receipt", outlook_text_receipt, "displayed", None, "mdn"),
]


@pytest.mark.parametrize(("name", "build", "status", "code", "kind"), KINDS,
                         ids=[k[0] for k in KINDS])
def test_each_report_kind_moves_the_delivery(session, site, name, build, status, code,
                                             kind):
    tracked = make_tracked_message(session, site, [ALICE, BOB])
    hand_over(site, tracked, build(tracked, ALICE))
    assert file_spooled_reports(site) == 1
    delivery = delivery_of(session, tracked, ALICE)
    assert (delivery.status, delivery.status_code) == (status, code)
    assert delivery_of(session, tracked, BOB).status == "waiting"  # nobody else touched
    notification = session.scalars(select(Notification)).one()
    assert notification.kind == kind and notification.delivery_id == delivery.id
    if kind == "mdn":
        assert notification.disposition_mode.endswith("MDN-sent-manually") or \
            notification.disposition_mode.endswith("MDN-sent-automatically")


def test_feedback_report_marks_a_complaint_not_a_failure(session, site):
    tracked = make_tracked_message(session, site, [ALICE])
    hand_over(site, tracked, postfix_dsn(tracked, ALICE, "delivered"))
    hand_over(site, tracked, feedback_report(tracked, ALICE))
    assert file_spooled_reports(site) == 2
    delivery = delivery_of(session, tracked, ALICE)
    assert (delivery.status, delivery.complaint) == ("delivered", "abuse")
    arf = session.scalars(select(Notification).where(Notification.kind == "arf")).one()
    assert arf.feedback_type == "abuse" and arf.action == ""


def test_feedback_loop_mail_to_a_fixed_address_files_on_the_quoted_return_path(session, site):
    tracked = make_tracked_message(session, site, [ALICE])
    return_path = tracked.return_path(ALICE)
    raw = feedback_report(tracked, ALICE).replace(
        f"To: <{return_path}>".encode(), b"To: <fbl@lists.example.org>")
    assert raw.count(return_path.encode()) == 1  # only in Original-Mail-From
    spool_report(site, raw, recipients=[["env:RECIPIENT", "fbl@lists.example.org"]])
    assert file_spooled_reports(site) == 1
    assert delivery_of(session, tracked, ALICE).complaint == "abuse"


def test_sequences_follow_the_status_precedence(session, site):
    carol, dave, erin = "carol@example.net", "dave@example.net", "erin@example.net"
    frank, grace = "frank@example.net", "grace@example.net"
    tracked = make_tracked_message(session, site, [ALICE, BOB, carol, dave, erin, frank, grace])
    t0 = time.time()
    sequences = {
        ALICE: [postfix_dsn(tracked, ALICE, "delayed"), postfix_dsn(tracked, ALICE, "delivered")],
        # a late `delayed` never hides `delivered`
        BOB: [postfix_dsn(tracked, BOB, "delivered"), postfix_dsn(tracked, BOB, "delayed")],
        # displayed shows above delivered, whatever the order they arrive in
        carol: [thunderbird_mdn(tracked, carol, "displayed"),
                postfix_dsn(tracked, carol, "delivered")],
        # Postfix for an alias whose pipe fails: expanded, then failed
        dave: [postfix_dsn(tracked, dave, "expanded"), postfix_dsn(tracked, dave, "failed")],
        erin: [postfix_dsn(tracked, erin, "delivered"), outlook_mdn(tracked, erin, "deleted")],
        # handed to a system without DSN, then that system's own success notice
        frank: [postfix_dsn(tracked, frank, "relayed"), postfix_dsn(tracked, frank, "delivered")],
        # within a rank the latest report wins: a copy forwarded on, then bounced there
        grace: [postfix_dsn(tracked, grace, "delivered"), postfix_dsn(tracked, grace, "failed")],
    }
    for recipient, reports in sequences.items():
        for step, raw in enumerate(reports):
            hand_over(site, tracked, raw, recipient, received=t0 + step)
    assert file_spooled_reports(site) == 14
    expected = {ALICE: "delivered", BOB: "delivered", carol: "displayed", dave: "failed",
                erin: "deleted", frank: "delivered", grace: "failed"}
    for recipient, status in expected.items():
        assert delivery_of(session, tracked, recipient).status == status, recipient
    history = session.scalars(
        select(Notification.action).where(Notification.delivery_id == tracked.deliveries[BOB])
        .order_by(Notification.received_at)).all()
    assert history == ["delivered", "delayed"]  # the whole history is kept


def test_a_duplicate_report_changes_nothing(session, site):
    tracked = make_tracked_message(session, site, [ALICE])
    raw = postfix_dsn(tracked, ALICE, "failed")
    hand_over(site, tracked, raw)
    hand_over(site, tracked, raw)  # the MTA delivered it twice
    assert file_spooled_reports(site) == 2
    hand_over(site, tracked, raw)  # and once more, in a later pass
    assert file_spooled_reports(site) == 1
    assert count(session, Report) == 1 and count(session, Notification) == 1
    assert count(session, QuarantinedReport) == 0


def test_a_file_filed_but_not_yet_removed_is_not_counted_twice(session, site, tmp_path):
    """A worker killed between its commit and removing the spool files."""
    tracked = make_tracked_message(session, site, [ALICE])
    name = hand_over(site, tracked, postfix_dsn(tracked, ALICE, "delivered"))
    junk = spool_report(site, b"Subject: hello\n\nnot a report\n")
    new_dir = site.spool_path / spool.REPORTS / "new"
    for kept in (name, junk):
        shutil.copy(new_dir / kept, tmp_path / kept)
    assert file_spooled_reports(site) == 2
    for kept in (name, junk):  # as if the unlink never happened
        shutil.copy(tmp_path / kept, new_dir / kept)
    assert file_spooled_reports(site) == 2
    assert count(session, Report) == 1 and count(session, Notification) == 1
    assert count(session, QuarantinedReport) == 1


def test_untracked_message_keeps_the_evidence_without_inventing_tracking(session, site):
    tracked = make_tracked_message(session, site, [ALICE], tracked=False)
    hand_over(site, tracked, postfix_dsn(tracked, ALICE, "failed"))
    assert file_spooled_reports(site) == 1
    assert delivery_of(session, tracked, ALICE).status == "waiting"
    assert count(session, Report) == 1 and count(session, Notification) == 1


def test_a_digest_subscriber_keeps_showing_the_reception_option(session, site):
    tracked = make_tracked_message(session, site, [ALICE], receptions={ALICE: "digest"})
    hand_over(site, tracked, postfix_dsn(tracked, ALICE, "delivered"))
    assert file_spooled_reports(site) == 1
    assert delivery_of(session, tracked, ALICE).status == "digest"


def test_forwarded_copy_reported_under_another_name_still_files_on_the_token(session, site):
    tracked = make_tracked_message(session, site, [ALICE])
    raw = postfix_dsn(tracked, ALICE, "failed").replace(
        ALICE.encode(), b"alice.forwarded@elsewhere.example")
    hand_over(site, tracked, raw)
    assert file_spooled_reports(site) == 1
    assert delivery_of(session, tracked, ALICE).status == "failed"
    notification = session.scalars(select(Notification)).one()
    assert notification.final_recipient == "alice.forwarded@elsewhere.example"


# Each case leaves the token in one place only (the DSN's To is replaced unless tested).
SOURCES = {
    "postfix-environment": {"recipients": "env:ORIGINAL_RECIPIENT"},
    "exim-environment": {"recipients": "env:LOCAL_PART"},
    "--recipient": {"recipients": "--recipient"},
    "postfix-delivered-to": {"prefix": "postfix"},
    "exim-envelope-to": {"prefix": "exim"},
    "to-header": {"keep_to": True},
    "envid-only": {"envid": True},
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_the_token_is_found_from_each_source(session, site, source):
    tracked = make_tracked_message(session, site, [ALICE])
    return_path = tracked.return_path(ALICE)
    how = SOURCES[source]
    raw = postfix_dsn(tracked, ALICE, "failed", envid=bool(how.get("envid")))
    if not how.get("keep_to"):
        raw = raw.replace(f"To: {return_path}".encode(), b"To: postmaster@lists.example.org")
    recipients = [[how["recipients"], return_path]] if "recipients" in how else []
    prefix = how.get("prefix")
    exim_prefix = (f"From MAILER-DAEMON Thu Dec 04 10:00:03 2025\n"
                   f"Return-path: <>\nEnvelope-to: {return_path}\n"
                   f"Delivery-date: Thu, 04 Dec 2025 10:00:03 +0000\n").encode()
    if prefix == "postfix":
        spool_report(site, raw, recipients=recipients, postfix_recipient=return_path)
    else:
        spool_report(site, (exim_prefix if prefix == "exim" else b"") + raw,
                     recipients=recipients)
    assert file_spooled_reports(site) == 1
    assert delivery_of(session, tracked, ALICE).status == "failed"
    report = session.scalars(select(Report)).one()
    assert report.raw == raw  # whatever our MTA added, the evidence is the report itself
    if prefix == "postfix":
        assert report.mta_prefix.startswith(b"From MAILER-DAEMON ")
        assert report.mta_prefix.endswith(f"Delivered-To: {return_path}\n".encode())
    elif prefix == "exim":
        assert report.mta_prefix == exim_prefix
    else:
        assert report.mta_prefix is None
