"""Which reports one accepted recipient gets, when, and to whom (NOTIFY, RET, MDN rules).

The plan is made when DATA ends; the bytes are built later, on the report threads, so the
SMTP side stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ingest.testmta.behaviours import Kind
from ingest.testmta.dsn_writer import DeliveryReport, RecipientReport, write_dsn
from ingest.testmta.mail_text import (
    as_text,
    domain_of,
    first_address,
    header_value,
    now_utc,
    queue_id,
)
from ingest.testmta.mdn_writer import DispositionReport, write_mdn
from ingest.testmta.records import RecipientRecord, Transaction

# RFC 3461 section 4.1: without NOTIFY the MTA decides; Postfix reports failures and delays.
NOTIFY_DEFAULT = ("FAILURE", "DELAY")
MAXIMAL_QUEUE_LIFETIME = timedelta(days=5)  # Postfix's default, for Will-Retry-Until
NEXT_HOP_ADDRESS = "192.0.2.25"  # TEST-NET-1: the mailbox host behind the simulated MX


@dataclass(frozen=True)
class PlannedReport:
    """A report to hand over ``delay`` seconds after the transaction."""

    delay: float
    envelope_recipient: str
    label: str  # dsn-delivered, dsn-failed, dsn-delayed, mdn-displayed, mdn-deleted
    build: Callable[[], bytes]


def plan_reports(
    tx: Transaction, rcpt: RecipientRecord, *, reporting_mta: str | None, linesep: str
) -> list[PlannedReport]:
    """The reports that ``rcpt``'s behaviour produces, in the order a real system sends them."""
    behaviour = rcpt.behaviour
    notify = rcpt.notify or NOTIFY_DEFAULT
    dsn_allowed = bool(tx.mail_from) and "NEVER" not in notify
    host = reporting_mta or f"mx.{domain_of(rcpt.address)}"

    def dsn(delay: float, action: str) -> PlannedReport:
        def build() -> bytes:
            return write_dsn(_delivery_report(tx, rcpt, host, action), tx.data or b"", linesep)

        return PlannedReport(delay, tx.mail_from, f"dsn-{action}", build)

    plans: list[PlannedReport] = []
    if behaviour.kind is Kind.FAIL:
        if dsn_allowed and "FAILURE" in notify:
            plans.append(dsn(0.0, "failed"))
        return plans
    success_at = 0.0
    if behaviour.kind is Kind.DELAY:
        if dsn_allowed and "DELAY" in notify:
            plans.append(dsn(0.0, "delayed"))
        success_at = behaviour.later
    if dsn_allowed and "SUCCESS" in notify:
        plans.append(dsn(success_at, "delivered"))
    if behaviour.kind in (Kind.DISPLAY, Kind.DELETE):
        mdn = _planned_mdn(tx, rcpt, success_at + behaviour.later, linesep)
        if mdn is not None:
            plans.append(mdn)
    return plans


def _delivery_report(
    tx: Transaction, rcpt: RecipientRecord, host: str, action: str
) -> DeliveryReport:
    now = now_utc()
    arrival = tx.received_at or now
    behaviour = rcpt.behaviour
    next_hop = f"mailstore.{domain_of(rcpt.address)}"
    if action == "delivered":
        recipient = RecipientReport(
            final_recipient=rcpt.address,
            original_recipient=rcpt.dsn.orcpt_decoded,
            action="delivered",
            status="2.0.0",
            reason="delivered to mailbox",
            diagnostic="X-Postfix; delivered to mailbox",
        )
    else:
        reply = behaviour.next_hop_reply(rcpt.address)
        recipient = RecipientReport(
            final_recipient=rcpt.address,
            original_recipient=rcpt.dsn.orcpt_decoded,
            action=action,
            status=behaviour.dsn_status(),
            reason=f"host {next_hop}[{NEXT_HOP_ADDRESS}] said: {reply} "
            "(in reply to RCPT TO command)",
            diagnostic=f"smtp; {reply}",
            remote_mta=f"dns; {next_hop}",
            last_attempt=now if action == "delayed" else None,
            will_retry_until=arrival + MAXIMAL_QUEUE_LIFETIME if action == "delayed" else None,
        )
    return DeliveryReport(
        reporting_mta=host,
        envelope_sender=tx.mail_from,
        arrival=arrival,
        created=now,
        queue_id=tx.queue_id or queue_id(),
        recipients=(recipient,),
        envid=tx.dsn.envid_decoded,
        ret=tx.dsn.ret,
        helo=tx.helo or "localhost",
    )


def _planned_mdn(
    tx: Transaction, rcpt: RecipientRecord, delay: float, linesep: str
) -> PlannedReport | None:
    """The reader's MDN, only when the copy asked for one (Disposition-Notification-To)."""
    text = as_text(tx.data or b"")
    notify_to = first_address(header_value(text, "Disposition-Notification-To"))
    if notify_to is None:
        return None
    disposition = "displayed" if rcpt.behaviour.kind is Kind.DISPLAY else "deleted"

    def build() -> bytes:
        report = DispositionReport(
            reader=rcpt.address,
            notify_to=notify_to,
            disposition=disposition,
            created=now_utc(),
            original_recipient=rcpt.dsn.orcpt_decoded,
        )
        return write_mdn(report, tx.data or b"", linesep)

    return PlannedReport(delay, notify_to, f"mdn-{disposition}", build)
