"""Retention: tracking records and their evidence go after each list's retention period.

The archived message stays; its deliveries, notifications and raw reports are deleted in
small committed batches, so the purge can run from cron at any time beside the ingest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from listtrack.config import SiteConfig
from listtrack.models import (
    Delivery,
    MailingList,
    Message,
    Notification,
    QuarantinedReport,
    Report,
)
from listtrack.settings import effective_setting

BATCH = 1000


@dataclass
class PurgeCounts:
    """What one purge removed for one list (or for the quarantine)."""

    scope: str
    retention_days: int
    messages: int = 0
    deliveries: int = 0
    notifications: int = 0
    reports: int = 0
    quarantined: int = 0
    message_ids: list[str] = field(default_factory=list)

    @property
    def removed_anything(self) -> bool:
        return bool(self.deliveries or self.notifications or self.reports or self.quarantined)


def _purge_message(session: Session, message_id: int, counts: PurgeCounts) -> None:
    """Delete one message's tracking records batch by batch, committing as it goes."""
    while True:
        delivery_ids = session.scalars(
            select(Delivery.id).where(Delivery.message_id == message_id).limit(BATCH)
        ).all()
        if not delivery_ids:
            break
        report_ids = set(session.scalars(
            select(Notification.report_id).where(Notification.delivery_id.in_(delivery_ids))
        ))
        counts.notifications += session.execute(
            delete(Notification).where(Notification.delivery_id.in_(delivery_ids))
        ).rowcount
        counts.deliveries += session.execute(
            delete(Delivery).where(Delivery.id.in_(delivery_ids))
        ).rowcount
        if report_ids:
            still_used = exists().where(Notification.report_id == Report.id)
            counts.reports += session.execute(
                delete(Report).where(Report.id.in_(report_ids), ~still_used)
                .execution_options(synchronize_session=False)
            ).rowcount
        session.commit()
    # Reports tied to the message but to no delivery (e.g. kept for an untracked copy).
    counts.reports += session.execute(
        delete(Report).where(Report.message_id == message_id,
                             ~exists().where(Notification.report_id == Report.id))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(update(Message).where(Message.id == message_id)
                    .values(tracking_purged_at=datetime.now(UTC)))
    session.commit()


def purge_expired_tracking(
    session_factory: sessionmaker[Session], site: SiteConfig, now: datetime | None = None
) -> list[PurgeCounts]:
    """Purge every list's expired tracking, then the expired quarantine; return the counts."""
    now = now or datetime.now(UTC)
    results: list[PurgeCounts] = []
    with session_factory() as session:
        lists = session.scalars(select(MailingList).order_by(MailingList.id)).all()
        for mailing_list in lists:
            days = effective_setting(mailing_list, "retention_period", site).value
            counts = PurgeCounts(scope=mailing_list.address, retention_days=days)
            cutoff = now - timedelta(days=days)
            expired = session.execute(
                select(Message.id, Message.message_id).where(
                    Message.list_id == mailing_list.id,
                    Message.received_at < cutoff,
                    exists().where(Delivery.message_id == Message.id)
                    | exists().where(Report.message_id == Message.id),
                ).order_by(Message.id)
            ).all()
            for message_pk, message_id in expired:
                _purge_message(session, message_pk, counts)
                counts.messages += 1
                counts.message_ids.append(message_id)
            results.append(counts)

        days = site.tracking_retention_period
        quarantine = PurgeCounts(scope="quarantine", retention_days=days)
        cutoff = now - timedelta(days=days)
        while True:
            ids = session.scalars(select(QuarantinedReport.id).where(
                QuarantinedReport.received_at < cutoff).limit(BATCH)).all()
            if not ids:
                break
            quarantine.quarantined += session.execute(
                delete(QuarantinedReport).where(QuarantinedReport.id.in_(ids))
            ).rowcount
            session.commit()
        results.append(quarantine)
    return results
