"""Evidence: store a report byte for byte, and let what it says move a delivery's status.

The worker (reports from the MTA) and the sender (a refusal at RCPT time) both record
through here, so the precedence rules in `listtrack.tracking` apply to every source.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from listtrack.models import Delivery, Notification, Report
from listtrack.tracking import STATUS_RANK, supersedes


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def store_report(
    session: Session,
    raw: bytes,
    kind: str,
    *,
    envelope_recipient: str | None = None,
    mta_prefix: bytes | None = None,
    message_id: int | None = None,
    received_at: datetime | None = None,
) -> tuple[Report, bool]:
    """Keep a report's exact bytes once; return (report, True) when it is new."""
    digest = sha256_hex(raw)
    existing = session.scalar(select(Report).where(Report.sha256 == digest))
    if existing is not None:
        return existing, False
    report = Report(
        sha256=digest,
        kind=kind,
        raw=raw,
        mta_prefix=mta_prefix or None,
        envelope_recipient=envelope_recipient,
        message_id=message_id,
        received_at=received_at or datetime.now(UTC),
    )
    session.add(report)
    session.flush()
    return report, True


def apply_notification(
    delivery: Delivery,
    *,
    report_id: int,
    received_at: datetime,
    kind: str,
    action: str,
    move_status: bool = True,
    status_code: str | None = None,
    diagnostic: str | None = None,
    final_recipient: str | None = None,
    original_recipient: str | None = None,
    reporting_mta: str | None = None,
    remote_mta: str | None = None,
    disposition_mode: str | None = None,
    feedback_type: str | None = None,
    arrival_date: datetime | None = None,
) -> dict[str, object]:
    """Apply one notification's status precedence to a delivery; return its column values.

    No I/O and no ORM object: `record_notification` stores one; the report worker inserts a
    whole batch of these values at once. `move_status` is False for a message whose
    tracking was off: the report is kept as evidence but does not invent tracking.
    """
    values = dict(
        delivery_id=delivery.id,
        report_id=report_id,
        kind=kind,
        action=action,
        status_code=status_code,
        diagnostic=diagnostic,
        final_recipient=final_recipient,
        original_recipient=original_recipient,
        reporting_mta=reporting_mta,
        remote_mta=remote_mta,
        disposition_mode=disposition_mode,
        feedback_type=feedback_type,
        arrival_date=arrival_date,
        received_at=received_at,
    )
    if feedback_type:
        delivery.complaint = feedback_type[:32]
    if move_status and action in STATUS_RANK and supersedes(
        action, received_at, delivery.status, delivery.status_at
    ):
        delivery.status = action
        delivery.status_code = status_code
        delivery.diagnostic = diagnostic
        delivery.status_at = received_at
    if delivery.last_notification_at is None or received_at > delivery.last_notification_at:
        delivery.last_notification_at = received_at
    return values


def record_notification(
    session: Session,
    delivery: Delivery,
    report: Report,
    *,
    received_at: datetime | None = None,
    **fields: object,
) -> Notification:
    """Append one notification (see `apply_notification`) to a delivery's history, now."""
    notification = Notification(**apply_notification(
        delivery, report_id=report.id, received_at=received_at or report.received_at,
        **fields))
    session.add(notification)
    session.flush()
    return notification
