"""Sending through a real loopback SMTP server: the exact envelope, parameters and headers for
every combination of tracking settings, VERP, refusals, retries and a server without DSN."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select, update

from ingest.copy_headers import ListIdentity, build_copy, list_fields
from ingest.sending import MAX_ATTEMPTS, retry_delay
from ingest.smtp_session import original_recipient, xtext
from ingest.testmta import Behaviour, LoopbackMTA
from ingest.verp import delivery_from_address, make_token, verp_address
from listtrack.models import Delivery, Message, Notification, Report
from tests.distribution_fixtures import (
    LIST,
    accepted,
    deliveries,
    header_values,
    make_list,
    post_bytes,
    run_queues,
    site_for,
    spool_post,
)

pytestmark = pytest.mark.all_databases
AUTHOR_RECEIPT = "author-receipts@example.org"
AUTHOR_ADDRESS = "author@example.org"
BODY = b"Hello,\r\n.a line that starts with a dot\r\n\r\nsee you.\r\n"


@pytest.fixture
def mta():  # noqa: ANN201
    with LoopbackMTA() as server:
        yield server


def only_copy(mta: LoopbackMTA):  # noqa: ANN201
    copies = accepted(mta)
    assert len(copies) == 1, copies
    return copies[0][0]


@pytest.mark.parametrize("asks_receipt", [False, True], ids=["no-receipt", "author-asks"])
@pytest.mark.parametrize("mdn", ["on", "on_demand", "off"])
@pytest.mark.parametrize("dsn", ["on", "off"])
def test_envelope_and_headers_for_each_combination(session, site, mta, dsn, mdn, asks_receipt):
    make_list(session, dsn=dsn, mdn=mdn)
    raw = post_bytes(receipt_to=AUTHOR_RECEIPT if asks_receipt else None, body=BODY)
    spool_post(site, raw)
    sending_site = site_for(site, mta, domain="lists.example.org")
    assert run_queues(sending_site) == (1, 1)

    (delivery,) = deliveries(session)
    message = session.get(Message, delivery.message_id)
    wants_mdn = mdn == "on" or (mdn == "on_demand" and asks_receipt)
    tracked = dsn == "on" or wants_mdn
    assert (message.dsn_requested, message.mdn_requested) == (dsn == "on", wants_mdn)
    assert message.raw == raw and message.dsn_unavailable is False
    assert delivery.send_state == "sent" and delivery.status == "waiting"
    assert delivery.attempts == 1 and delivery.sent_at is not None

    tx = only_copy(mta)
    verp = verp_address("bounce", "lists.example.org", delivery.id, sending_site.secret_key)
    assert tx.mail_from == (verp if tracked else "bounce@lists.example.org")
    (rcpt,) = tx.recipients
    assert rcpt.address == "reader@example.net"
    if dsn == "on":
        assert [str(p) for p in tx.mail_params] == \
            ["RET=HDRS", f"ENVID={make_token(delivery.id, sending_site.secret_key)}"]
        assert [str(p) for p in rcpt.params] == \
            ["NOTIFY=SUCCESS,FAILURE,DELAY", "ORCPT=rfc822;reader@example.net"]
        assert delivery_from_address(tx.mail_from, "bounce", sending_site.secret_key) \
            == delivery.id
    else:
        assert tx.mail_params == () and rcpt.params == ()

    head, _, body = tx.data.partition(b"\r\n\r\n")
    assert body == BODY  # byte for byte, the leading dot included
    receipt = header_values(tx.data, "Disposition-Notification-To")
    assert receipt == ([f"<{verp}>"] if wants_mdn else [])
    assert AUTHOR_RECEIPT.encode() not in head
    assert header_values(tx.data, "Message-ID") == ["<post-1@example.org>"]
    assert header_values(tx.data, "List-Id") == ['"Board news" <news.lists.example.org>']
    assert header_values(tx.data, "List-Post") == [f"<mailto:{LIST}>"]
    assert header_values(tx.data, "List-Unsubscribe") == [
        f"<mailto:{sending_site.listmaster}?subject=unsubscribe%20{LIST}>"]
    assert header_values(tx.data, "Subject") == ["Board meeting"]



def test_tracked_messages_use_verp_for_every_recipient(session, site, mta):
    readers = [(f"reader{number:02d}@example.net", "mail") for number in range(20)]
    make_list(session, dsn="on", verp_rate="0%", subscribers=readers)
    spool_post(site, post_bytes())
    sending_site = site_for(site, mta, verp_rate="0%")
    run_queues(sending_site)
    copies = accepted(mta)
    assert len(copies) == 20
    by_recipient = {d.recipient: d.id for d in deliveries(session)}
    for tx, recipient in copies:
        assert delivery_from_address(tx.mail_from, "bounce", sending_site.secret_key) \
            == by_recipient[recipient]
    assert len({tx.mail_from for tx, _ in copies}) == 20


def test_untracked_messages_follow_verp_rate(session, site, mta):
    readers = [(f"reader{number:02d}@example.net", "mail") for number in range(10)]
    make_list(session, dsn="off", mdn="off", verp_rate="100%", subscribers=readers)
    spool_post(site, post_bytes())
    sending_site = site_for(site, mta)
    run_queues(sending_site)
    senders = [tx.mail_from for tx, _ in accepted(mta)]
    assert len(senders) == 10 and all(s.startswith("bounce+") for s in senders)
    assert all(tx.mail_params == () for tx, _ in accepted(mta))


def test_untracked_messages_without_verp_use_the_plain_return_path(session, site, mta):
    make_list(session, dsn="off", mdn="off", subscribers=[("a@example.net", "mail"),
                                                          ("b@example.net", "mail")])
    spool_post(site, post_bytes())
    run_queues(site_for(site, mta, domain="lists.example.org"))
    assert {tx.mail_from for tx, _ in accepted(mta)} == {"bounce@lists.example.org"}


def test_digest_and_nomail_are_registered_not_sent(session, site, mta):
    make_list(session, dsn="on", subscribers=[
        ("digest@example.net", "digest"), ("plain@example.net", "digestplain"),
        ("summary@example.net", "summary"), ("nomail@example.net", "nomail"),
        ("mail@example.net", "mail"), ("notice@example.net", "notice")])
    spool_post(site, post_bytes())
    run_queues(site_for(site, mta))
    rows = {d.recipient: (d.reception, d.status, d.send_state) for d in deliveries(session)}
    assert rows == {
        "digest@example.net": ("digest", "digest", "skipped"),
        "plain@example.net": ("digestplain", "digestplain", "skipped"),
        "summary@example.net": ("summary", "summary", "skipped"),
        "nomail@example.net": ("nomail", "nomail", "skipped"),
        "mail@example.net": ("mail", "waiting", "sent"),
        "notice@example.net": ("notice", "waiting", "sent"),
    }
    assert sorted(r for _, r in accepted(mta)) == ["mail@example.net", "notice@example.net"]


def test_not_me_skips_only_the_author(session, site, mta):
    make_list(session, dsn="on", subscribers=[(AUTHOR_ADDRESS, "not_me"),
                                              ("other@example.net", "not_me")])
    spool_post(site, post_bytes())
    run_queues(site_for(site, mta))
    rows = {d.recipient: (d.status, d.send_state) for d in deliveries(session)}
    assert rows == {AUTHOR_ADDRESS: ("not_me", "skipped"), "other@example.net": ("waiting", "sent")}
    assert [r for _, r in accepted(mta)] == ["other@example.net"]



def test_refusal_at_rcpt_fails_the_delivery_with_evidence(session, site, mta):
    make_list(session, dsn="on", subscribers=[("refuse-bob@example.net", "mail"),
                                              ("alice@example.net", "mail")])
    spool_post(site, post_bytes())
    run_queues(site_for(site, mta))
    by_recipient = {d.recipient: d for d in deliveries(session)}
    refused = by_recipient["refuse-bob@example.net"]
    assert (refused.status, refused.send_state, refused.status_code) == \
        ("failed", "refused", "5.1.1")
    assert refused.diagnostic.startswith("smtp; 550 5.1.1 <refuse-bob@example.net>")
    assert refused.last_notification_at is not None
    (notification,) = session.scalars(select(Notification)
                                      .where(Notification.delivery_id == refused.id))
    assert (notification.kind, notification.action) == ("smtp", "failed")
    report = session.get(Report, notification.report_id)
    assert report.kind == "smtp" and report.message_id == refused.message_id
    assert b"RCPT TO:<refuse-bob@example.net> NOTIFY=SUCCESS,FAILURE,DELAY" in report.raw
    assert b"<<< 550 5.1.1 <refuse-bob@example.net>" in report.raw
    # The refused transaction is reset and the connection carries on for the next recipient.
    assert by_recipient["alice@example.net"].send_state == "sent"
    assert [r for _, r in accepted(mta)] == ["alice@example.net"]


def test_server_without_dsn_is_recorded_and_the_copy_still_sent(session, site):
    make_list(session, dsn="on", mdn="on")
    spool_post(site, post_bytes())
    with LoopbackMTA(advertise_dsn=False) as plain_mta:
        run_queues(site_for(site, plain_mta))
        tx = only_copy(plain_mta)
    (delivery,) = deliveries(session)
    message = session.get(Message, delivery.message_id)
    assert message.dsn_unavailable is True and message.dsn_requested is True
    assert tx.mail_params == () and tx.recipients[0].params == ()
    assert tx.mail_from.startswith("bounce+")  # still VERP: the MDN and bounces come back
    assert header_values(tx.data, "Disposition-Notification-To") == [f"<{tx.mail_from}>"]
    assert delivery.send_state == "sent"


def test_temporary_failures_are_delayed_then_retried_and_delivered(session, site, mta):
    make_list(session, dsn="on", subscribers=[("tempfail1-carol@example.net", "mail"),
                                              ("drop1-dave@example.net", "mail")])
    spool_post(site, post_bytes())
    sending_site = site_for(site, mta)
    start = datetime.now(UTC) + timedelta(seconds=1)  # the copies are due from registration
    run_queues(sending_site, now=start)
    first = {d.recipient: d for d in deliveries(session)}
    for delivery in first.values():
        assert (delivery.status, delivery.send_state, delivery.attempts) == \
            ("delayed", "pending", 1)
        assert delivery.next_attempt_at >= start + retry_delay(1) - timedelta(seconds=1)
    assert first["tempfail1-carol@example.net"].status_code == "4.2.0"
    assert first["drop1-dave@example.net"].status_code == "4.4.2"
    assert accepted(mta) == []

    run_queues(sending_site, now=start + timedelta(minutes=1))  # not due yet
    assert accepted(mta) == []
    run_queues(sending_site, now=start + retry_delay(1) + timedelta(seconds=5))
    again = {d.recipient: d for d in deliveries(session)}
    for delivery in again.values():
        assert (delivery.status, delivery.send_state, delivery.attempts) == \
            ("delayed", "sent", 2)
        history = session.scalars(select(Notification.action)
                                  .where(Notification.delivery_id == delivery.id)).all()
        assert history == ["delayed"]
    assert sorted(r for _, r in accepted(mta)) == ["drop1-dave@example.net",
                                                   "tempfail1-carol@example.net"]


def test_temporary_failures_give_up_after_the_last_attempt(session, site, mta):
    make_list(session, dsn="on", subscribers=[("tempfail-erin@example.net", "mail")])
    spool_post(site, post_bytes())
    sending_site = site_for(site, mta)
    run_queues(sending_site, now=datetime.now(UTC) + timedelta(seconds=1))
    session.execute(update(Delivery).values(attempts=MAX_ATTEMPTS - 1))
    session.commit()
    run_queues(sending_site, now=datetime.now(UTC) + timedelta(days=1))
    (delivery,) = deliveries(session)
    assert (delivery.status, delivery.send_state, delivery.attempts) == \
        ("failed", "refused", MAX_ATTEMPTS)
    assert f"gave up after {MAX_ATTEMPTS} attempts" in delivery.diagnostic


def test_unreachable_mta_leaves_the_copies_waiting(session, site):
    make_list(session, dsn="on")
    spool_post(site, post_bytes())
    with LoopbackMTA() as closed:
        port = closed.port
    start = datetime.now(UTC) + timedelta(seconds=1)
    posts, tried = run_queues(site_for(site, smtp_host="127.0.0.1", smtp_port=port), now=start)
    (delivery,) = deliveries(session)
    assert (posts, tried) == (1, 0)
    assert (delivery.status, delivery.send_state, delivery.attempts) == ("waiting", "pending", 0)
    assert delivery.next_attempt_at > start
    message = session.get(Message, delivery.message_id)
    assert message.distribution == "sending"


def test_distribution_finishes_when_nothing_is_left(session, site, mta):
    make_list(session, dsn="on", subscribers=[("a@example.net", "mail"),
                                              ("refuse-b@example.net", "mail")])
    spool_post(site, post_bytes())
    run_queues(site_for(site, mta))
    (message,) = session.scalars(select(Message)).all()
    session.refresh(message)
    assert message.distribution == "distributed" and message.distributed_at is not None


class Gate:
    """A behaviour rule that holds the MTA's event loop (so every connection waits for a
    reply) once `after` recipients were seen, at a moment when no transaction is between its
    RCPT and the end of its DATA: the worker can then be killed with no copy in the window
    that SMTP itself leaves open (the final "." sent, the 250 not yet back; RFC 1047)."""

    def __init__(self, after: int) -> None:
        self.after, self.count = after, 0
        self.mta: LoopbackMTA | None = None
        self.reached, self.opened = threading.Event(), threading.Event()

    def __call__(self, address: str) -> Behaviour:
        self.count += 1
        assert self.mta is not None
        quiet = len(self.mta.transactions) == self.count - 1
        if self.count > self.after and quiet and not self.opened.is_set():
            self.reached.set()
            self.opened.wait(120)
        return Behaviour()


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_worker_killed_mid_run_sends_every_recipient_exactly_once(
        session, site, write_config, cli_env):
    readers = [(f"reader{number:03d}@example.net", "mail") for number in range(60)]
    make_list(session, dsn="on", mdn="on", subscribers=readers)
    gate = Gate(after=25)
    with LoopbackMTA(behaviour=gate) as gated_mta:
        gate.mta = gated_mta
        # One connection: the gate then always finds a moment with no copy between its "."
        # and its 250 (with several, a loaded machine may never offer one).
        write_config("smtp_host 127.0.0.1", f"smtp_port {gated_mta.port}", "smtp_connections 1")
        spool_post(site, post_bytes())
        worker = subprocess.Popen(["listtrack", "worker", "--once"], env=cli_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert gate.reached.wait(120), "the worker never reached the gate"
            by_id = {d.id: d.recipient for d in deliveries(session)}
            journal = site.spool_path / "sending" / "journal"

            def settled() -> bool:  # every copy the MTA took is in the journal or the database
                taken = {recipient for _, recipient in accepted(gated_mta)}
                noted = {by_id[int(line.split()[0])]
                         for line in journal.read_text().splitlines() if line.strip()}
                noted |= {d.recipient for d in deliveries(session) if d.send_state == "sent"}
                return taken <= noted

            _wait_for(settled, "the worker to note what the MTA accepted")
            worker.kill()
            worker.wait(30)
        finally:
            gate.opened.set()
            if worker.poll() is None:
                worker.kill()
                worker.wait(30)
        states = Counter(d.send_state for d in deliveries(session))
        assert states["sending"] > 0, states  # killed mid-run, copies in flight
        assert 0 < len(accepted(gated_mta)) < 60

        again = subprocess.run(["listtrack", "worker", "--once"], env=cli_env,
                               capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert "an interrupted run left" in again.stderr
        copies = Counter(recipient for _, recipient in accepted(gated_mta))
    assert copies == Counter(email for email, _ in readers)  # each one, exactly once
    assert {d.send_state for d in deliveries(session)} == {"sent"}


def identity(**changes: object) -> ListIdentity:
    values = {"name": "news", "domain": "lists.example.org", "subject": "Board news",
              "posting_allowed": True, "unsubscribe_address": "listmaster@lists.example.org"}
    values.update(changes)
    return ListIdentity(**values)  # type: ignore[arg-type]


def test_copy_edits_only_the_header_block():
    raw = (b"From: a@example.org\nDisposition-Notification-To:\n  <a@example.org>\n"
           b"Return-Path: <a@example.org>\nList-Id: <other.example.org>\nSubject: s\n"
           b"\n.dot\nbody\n")
    copy = build_copy(raw, identity(), "<generated@lists.example.org>")
    assert copy.data() == (
        b"From: a@example.org\r\nSubject: s\r\n"
        b"Message-ID: <generated@lists.example.org>\r\n"
        b'List-Id: "Board news" <news.lists.example.org>\r\n'
        b"List-Post: <mailto:news@lists.example.org>\r\n"
        b"List-Unsubscribe: <mailto:listmaster@lists.example.org"
        b"?subject=unsubscribe%20news@lists.example.org>\r\n"
        b"\r\n..dot\r\nbody\r\n.\r\n")
    with_receipt = copy.data("bounce+1-abc@lists.example.org")
    assert b"\r\nDisposition-Notification-To: <bounce+1-abc@lists.example.org>\r\n\r\n" \
        in with_receipt


def test_list_fields_for_announcement_lists_and_non_ascii_subjects():
    fields = list_fields(identity(subject="Conseil d'administration é", posting_allowed=False))
    name, _, list_id = fields[0].decode("ascii").partition(": ")
    assert name == "List-Id" and list_id.endswith(" <news.lists.example.org>")
    phrase = list_id.removesuffix(" <news.lists.example.org>")
    assert str(make_header(decode_header(phrase))) == "Conseil d'administration é"
    assert fields[1] == b"List-Post: NO"


def test_xtext_and_original_recipient():
    assert xtext("a+b=c@example.org") == "a+2Bb+3Dc@example.org"
    assert original_recipient("reader@example.net") == "rfc822;reader@example.net"
    assert original_recipient("jörg@example.de") == "utf-8;j\\x{F6}rg@example.de"
