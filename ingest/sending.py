"""Sending: every due delivery goes out as its own SMTP transaction, tracked ones with VERP
and the DSN parameters, over `smtp_connections` connections in parallel.

The worker's `sending` queue. Rows are claimed (pending -> sending, committed) before they
are sent; the MTA's 250 is written to the journal at once and to the database in batches.
A 5xx refuses the delivery with the transcript as evidence; a 4xx or a lost connection
shows it `delayed` and retries later with back-off; after a crash the journal says which
claimed rows the MTA took, so the others, and only they, are sent again.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest.copy_headers import CopyTemplate, ListIdentity, build_copy
from ingest.send_journal import SendJournal, sending_slot
from ingest.smtp_session import Attempt, Result, SmtpSession, original_recipient
from ingest.tracking_decision import TrackingDecision, uses_verp
from ingest.verp import make_token, verp_address
from listtrack.config import SiteConfig
from listtrack.evidence import record_notification, store_report
from listtrack.models import Delivery, MailingList, Message
from listtrack.settings import effective_tracking

log = logging.getLogger("listtrack.sending")

BATCH = 2000  # rows claimed per pass
WRITE_EVERY = 250  # outcomes written to the database per commit
# Back-off after the n-th failed try (the last delay repeats); 30 tries span about 4 days.
RETRY_DELAYS = (300, 900, 1800, 3600, 7200, 14400)
MAX_ATTEMPTS = 30
UNREACHABLE_DELAY = timedelta(seconds=60)  # our own MTA down: not the recipient's fault


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th try failed temporarily."""
    return timedelta(seconds=RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1])


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    message_id: int
    recipient: str
    attempts: int


@dataclass(frozen=True)
class OutgoingMessage:
    """What every copy of one message shares."""

    id: int
    copy: CopyTemplate
    decision: TrackingDecision
    verp_rate: str
    eight_bit: bool


@dataclass(frozen=True)
class Outcome:
    delivery: ClaimedDelivery
    attempt: Attempt | None  # None: not tried, our MTA could not be reached
    sender: str = ""
    dsn_missing: bool = False
    at: datetime | None = None


@dataclass(frozen=True)
class Envelope:
    sender: str
    mail_options: list[str]
    rcpt_options: list[str]
    dsn_missing: bool


def envelope_for(site: SiteConfig, message: OutgoingMessage, delivery_id: int, recipient: str,
                 server_has_dsn: bool) -> Envelope:
    """Return path and ESMTP parameters of one copy (RFC 3461 when DSN is requested)."""
    if uses_verp(message.decision, message.verp_rate, delivery_id):
        sender = verp_address(site.bounce_email_prefix, site.domain, delivery_id,
                              site.secret_key)
    else:
        sender = f"{site.bounce_email_prefix}@{site.domain}"
    mail_options: list[str] = []
    rcpt_options: list[str] = []
    dsn_missing = False
    if message.decision.dsn:
        if server_has_dsn:
            mail_options += ["RET=HDRS", f"ENVID={make_token(delivery_id, site.secret_key)}"]
            rcpt_options += ["NOTIFY=SUCCESS,FAILURE,DELAY",
                             f"ORCPT={original_recipient(recipient)}"]
        else:
            dsn_missing = True
    return Envelope(sender, mail_options, rcpt_options, dsn_missing)


def _send_copies(site: SiteConfig, work: queue.SimpleQueue, results: queue.SimpleQueue,
                 messages: dict[int, OutgoingMessage], journal: SendJournal,
                 unreachable: threading.Event) -> None:
    """One connection's thread: take deliveries off `work` until the None at its end."""
    session = SmtpSession(site.smtp_host, site.smtp_port, site.domain)
    try:
        while (delivery := work.get()) is not None:
            if unreachable.is_set():
                results.put(Outcome(delivery, None))
                continue
            if session.client is None:
                try:
                    session.open()
                except (OSError, smtplib.SMTPException) as error:
                    if not unreachable.is_set():
                        log.error("cannot reach the MTA at %s: %s", session.peer, error)
                    unreachable.set()
                    results.put(Outcome(delivery, None))
                    continue
            try:
                outcome = _send_one(site, session, messages[delivery.message_id], delivery,
                                    journal)
            except Exception:  # noqa: BLE001 - one bad copy must not stop the others
                log.exception("sending delivery %d failed; it will be tried again", delivery.id)
                session.close()
                outcome = Outcome(delivery, None)
            results.put(outcome)
    finally:
        session.close()


def _send_one(site: SiteConfig, session: SmtpSession, message: OutgoingMessage,
              delivery: ClaimedDelivery, journal: SendJournal) -> Outcome:
    """One copy, one transaction; the MTA's 250 goes to the journal before anything else."""
    envelope = envelope_for(site, message, delivery.id, delivery.recipient, session.dsn)
    options = list(envelope.mail_options)
    if message.eight_bit and session.eightbitmime:
        options.append("BODY=8BITMIME")
    if not delivery.recipient.isascii():
        if not session.smtputf8:
            attempt = Attempt(Result.REFUSED, 553, "5.6.7 the MTA does not offer SMTPUTF8, "
                              "needed for this address")
            return Outcome(delivery, attempt, envelope.sender, envelope.dsn_missing,
                           datetime.now(UTC))
        options.append("SMTPUTF8")
    receipt_to = envelope.sender if message.decision.mdn else None
    attempt = session.send(envelope.sender, options, delivery.recipient,
                           envelope.rcpt_options, message.copy.data(receipt_to))
    if attempt.result is Result.SENT:
        journal.record(delivery.id)
    return Outcome(delivery, attempt, envelope.sender, envelope.dsn_missing, datetime.now(UTC))


def recover_interrupted(session: Session, journal: SendJournal) -> int:
    """Settle rows a killed sender left in `sending`: sent if the journal says so, else due."""
    stuck = session.execute(
        select(Delivery.id, Delivery.attempts).where(Delivery.send_state == "sending")
    ).all()
    if stuck:
        accepted = journal.accepted()
        sent = [{"id": row.id, "send_state": "sent", "sent_at": accepted[row.id],
                 "attempts": row.attempts + 1, "next_attempt_at": None}
                for row in stuck if row.id in accepted]
        again = [{"id": row.id, "send_state": "pending"} for row in stuck
                 if row.id not in accepted]
        for rows in (sent, again):
            if rows:
                session.execute(update(Delivery), rows)
        session.commit()
        log.warning("an interrupted run left %d copies: %d had been taken by the MTA, "
                    "%d will be sent", len(stuck), len(sent), len(again))
    journal.clear()
    return len(stuck)


def claim_due(session: Session, now: datetime, limit: int) -> list[ClaimedDelivery]:
    """Take the due rows (pending -> sending) and commit, before anything is sent."""
    rows = session.execute(
        select(Delivery.id, Delivery.message_id, Delivery.recipient, Delivery.attempts)
        .where(Delivery.send_state == "pending",
               or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    ).all()
    claimed = [ClaimedDelivery(row.id, row.message_id, row.recipient, row.attempts)
               for row in rows]
    for start in range(0, len(claimed), 500):
        ids = [delivery.id for delivery in claimed[start:start + 500]]
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids), Delivery.send_state == "pending")
            .values(send_state="sending").execution_options(synchronize_session=False)
        )
    session.commit()
    return claimed


def load_messages(session: Session, site: SiteConfig,
                  message_ids: set[int]) -> dict[int, OutgoingMessage]:
    """The copy template and tracking decision of each message being sent."""
    loaded = {}
    for message in session.scalars(select(Message).where(Message.id.in_(message_ids))):
        mailing_list = session.get(MailingList, message.list_id)
        assert mailing_list is not None
        identity = ListIdentity(
            name=mailing_list.name, domain=mailing_list.domain, subject=mailing_list.subject,
            posting_allowed=mailing_list.send_policy != "owners",
            unsubscribe_address=site.listmaster,
        )
        loaded[message.id] = OutgoingMessage(
            id=message.id,
            copy=build_copy(message.raw, identity, message.message_id),
            decision=TrackingDecision(message.dsn_requested, message.mdn_requested),
            verp_rate=effective_tracking(mailing_list, site).verp_rate,
            eight_bit=not message.raw.isascii(),
        )
    return loaded


def transcript_bytes(site: SiteConfig, outcome: Outcome) -> bytes:
    """The evidence of a refusal or deferral: who spoke to whom, when, what was said."""
    assert outcome.attempt is not None and outcome.at is not None
    lines = [f"SMTP transcript: {site.domain} to {site.smtp_host}:{site.smtp_port}",
             f"Date: {outcome.at.isoformat(timespec='microseconds')}",
             f"Delivery: {outcome.delivery.id} (attempt {outcome.delivery.attempts + 1})",
             "", *outcome.attempt.transcript]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _record_problem(session: Session, site: SiteConfig, outcome: Outcome,
                    tracked: dict[int, bool]) -> dict:
    """Store a refusal or deferral as evidence and move the delivery; its new send fields."""
    attempt, claimed = outcome.attempt, outcome.delivery
    assert attempt is not None and outcome.at is not None
    attempts = claimed.attempts + 1
    gave_up = attempt.result is Result.DEFERRED and attempts >= MAX_ATTEMPTS
    action = "failed" if attempt.result is Result.REFUSED or gave_up else "delayed"
    diagnostic = attempt.diagnostic
    if gave_up:
        diagnostic += f" (gave up after {attempts} attempts)"
    delivery = session.get(Delivery, claimed.id)
    assert delivery is not None
    if claimed.message_id not in tracked:
        message = session.get(Message, claimed.message_id)
        tracked[claimed.message_id] = bool(message and message.tracked)
    report, _ = store_report(session, transcript_bytes(site, outcome), "smtp",
                             envelope_recipient=outcome.sender or None,
                             message_id=claimed.message_id, received_at=outcome.at)
    record_notification(session, delivery, report, kind="smtp", action=action,
                        move_status=tracked[claimed.message_id],
                        status_code=attempt.status_code, diagnostic=diagnostic,
                        final_recipient=claimed.recipient,
                        reporting_mta=site.domain, remote_mta=site.smtp_host,
                        received_at=outcome.at)
    if action == "failed":
        return {"send_state": "refused", "attempts": attempts, "next_attempt_at": None}
    return {"send_state": "pending", "attempts": attempts,
            "next_attempt_at": outcome.at + retry_delay(attempts)}


def write_outcomes(session: Session, site: SiteConfig, outcomes: list[Outcome],
                   now: datetime, tracked: dict[int, bool]) -> None:
    """Record a batch of outcomes in one transaction."""
    rows = []
    dsn_missing = set()
    for outcome in outcomes:
        claimed, attempt = outcome.delivery, outcome.attempt
        if attempt is None:
            rows.append({"id": claimed.id, "send_state": "pending",
                         "next_attempt_at": now + UNREACHABLE_DELAY})
            continue
        if outcome.dsn_missing:
            dsn_missing.add(claimed.message_id)
        if attempt.result is Result.SENT:
            rows.append({"id": claimed.id, "send_state": "sent", "sent_at": outcome.at,
                         "attempts": claimed.attempts + 1, "next_attempt_at": None})
        else:
            rows.append({"id": claimed.id, **_record_problem(session, site, outcome, tracked)})
    if rows:
        session.execute(update(Delivery), rows)
    if dsn_missing:
        session.execute(update(Message).where(Message.id.in_(dsn_missing))
                        .values(dsn_unavailable=True)
                        .execution_options(synchronize_session=False))
    session.commit()


def finish_messages(session: Session, message_ids: set[int], now: datetime) -> None:
    """Messages with nothing left to send are distributed."""
    unfinished = set(session.scalars(
        select(Delivery.message_id).where(Delivery.message_id.in_(message_ids),
                                          Delivery.send_state.in_(("pending", "sending")))
        .distinct()
    ))
    finished = message_ids - unfinished
    if finished:
        session.execute(update(Message).where(Message.id.in_(finished),
                                              Message.distribution != "distributed")
                        .values(distribution="distributed", distributed_at=now)
                        .execution_options(synchronize_session=False))
    session.commit()


def send_due_deliveries(site: SiteConfig, session_factory: sessionmaker[Session], *,
                        now: datetime | None = None, batch: int = BATCH) -> int:
    """Send the copies that are due; how many transactions were tried (0: nothing to do)."""
    now = now or datetime.now(UTC)
    with sending_slot(site.spool_path) as journal:
        if journal is None:
            return 0  # another worker is sending
        with session_factory() as session:
            recover_interrupted(session, journal)
            claimed = claim_due(session, now, batch)
            if not claimed:
                return 0
            messages = load_messages(session, site, {d.message_id for d in claimed})
            tried = _run_senders(site, session, claimed, messages, journal, now)
            finish_messages(session, set(messages), datetime.now(UTC))
        journal.clear()
        return tried


def _run_senders(site: SiteConfig, session: Session, claimed: list[ClaimedDelivery],
                 messages: dict[int, OutgoingMessage], journal: SendJournal,
                 now: datetime) -> int:
    """Feed the connections' threads and write what they report, in batches."""
    work: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()
    for delivery in claimed:
        work.put(delivery)
    connections = min(site.smtp_connections, len(claimed))
    for _ in range(connections):
        work.put(None)
    unreachable = threading.Event()
    threads = [threading.Thread(target=_send_copies, name=f"smtp-{number}", daemon=True,
                                args=(site, work, results, messages, journal, unreachable))
               for number in range(connections)]
    for thread in threads:
        thread.start()
    tried, waiting, buffer, tracked = 0, len(claimed), [], {}
    try:
        while waiting:
            try:
                outcome = results.get(timeout=0.2)
            except queue.Empty:
                if not any(thread.is_alive() for thread in threads):
                    break  # a thread died; what it held stays `sending` for the next pass
                if buffer:
                    write_outcomes(session, site, buffer, now, tracked)
                    buffer = []
                continue
            waiting -= 1
            tried += outcome.attempt is not None
            buffer.append(outcome)
            if len(buffer) >= WRITE_EVERY:
                write_outcomes(session, site, buffer, now, tracked)
                buffer = []
        if buffer:
            write_outcomes(session, site, buffer, now, tracked)
    finally:
        # On a database error, stop taking new copies and let the ones on the wire end (the
        # journal has them) before the slot is given up; the rest stays `sending` until the
        # next pass settles it.
        unreachable.set()
        for thread in threads:
            thread.join()
    return tried
