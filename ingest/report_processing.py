"""Filing spooled reports: each becomes evidence on its delivery, or goes to the quarantine.

`process_spooled_reports` is the worker's drainer for the reports queue (ingest.worker).
Reports go in batches: a few bulk queries and one commit per batch. A spool file leaves
the spool only after its batch is committed, and filing the same file again changes
nothing (reports are unique by SHA-256, quarantine entries by spool file name), so a
worker killed at any moment loses nothing and counts nothing twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ingest import spool
from ingest.quarantine import new_quarantine_entry, one_line, quarantined_spool_names
from ingest.report_matching import IncomingReport, Verdict, examine, incoming_from_spool
from ingest.reports import RecipientResult
from ingest.spool_claims import claim_batch, claims_for
from listtrack.config import SiteConfig
from listtrack.evidence import apply_notification
from listtrack.models import Delivery, Message, Notification, QuarantinedReport, Report

log = logging.getLogger("listtrack.reports")

BATCH_SIZE = 500  # reports per transaction (also bounds every IN list)
PASS_LIMIT = 5000  # reports per call, so that the worker's other queues get their turn
# An auto-reply proves that the copy reached the mailbox.
AUTO_REPLY_ACTION = "delivered"
_FEEDBACK_TYPE = re.compile(rb"^Feedback-Type:[ \t]*([A-Za-z0-9_.-]+)", re.IGNORECASE | re.M)


@dataclass
class BatchResult:
    """What one batch did; `filed` counts reports now stored as evidence."""

    filed: int = 0
    duplicates: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.filed + self.duplicates + sum(self.quarantined.values())

    def add(self, other: BatchResult) -> None:
        self.filed += other.filed
        self.duplicates += other.duplicates
        for reason, count in other.quarantined.items():
            self.quarantined[reason] = self.quarantined.get(reason, 0) + count


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def _sane(moment: datetime | None) -> datetime | None:
    """A reporter's date that every database can store, else None."""
    return moment if moment is not None and 1970 <= moment.year <= 9999 else None


def _results_for(delivery: Delivery, verdict: Verdict) -> list[RecipientResult]:
    """The recipient blocks about this delivery: those naming its address (as final or
    original recipient), else every block, since the token already names the copy
    (a forwarded or expanded address reports under its new name)."""
    parsed = verdict.parsed
    assert parsed is not None
    if not parsed.recipients:  # a feedback report naming nobody: the token says who
        found = _FEEDBACK_TYPE.search(verdict.incoming.raw)
        feedback = found.group(1).decode().lower() if found else "abuse"
        return [RecipientResult(address=delivery.recipient, feedback_type=feedback)]
    address = delivery.recipient.lower()
    matching = [
        result for result in parsed.recipients
        if result.address.lower() == address
        or (result.original_recipient or "").lower() == address
    ]
    return matching or list(parsed.recipients)


@dataclass
class _Sorted:
    """A batch's verdicts after filing: stored now, stored before, for the quarantine."""

    filed: list[Verdict] = field(default_factory=list)
    duplicates: list[Verdict] = field(default_factory=list)
    quarantine: list[Verdict] = field(default_factory=list)


def _file_batch(session: Session, verdicts: Sequence[Verdict]) -> _Sorted:
    """Store every verdict that names an existing delivery, in bulk, within `session`.

    Verdicts whose delivery does not exist come back for the quarantine as `unknown_delivery`.
    """
    wanted = [v for v in verdicts if v.reason is None]
    known = set(session.scalars(
        select(Report.sha256).where(Report.sha256.in_({v.incoming.sha256 for v in wanted}))
    )) if wanted else set()
    rows = session.execute(
        select(Delivery, Message.dsn_requested, Message.mdn_requested)
        .join(Message, Delivery.message_id == Message.id)
        .where(Delivery.id.in_({v.delivery_id for v in wanted}))
    ).all() if wanted else []
    deliveries = {delivery.id: (delivery, dsn or mdn) for delivery, dsn, mdn in rows}

    out = _Sorted(quarantine=[v for v in verdicts if v.reason is not None])
    to_store: list[tuple[Verdict, Delivery, bool]] = []
    report_rows: list[dict] = []
    for verdict in wanted:
        incoming = verdict.incoming
        if incoming.sha256 in known:
            out.duplicates.append(verdict)
            continue
        found = deliveries.get(verdict.delivery_id)
        if found is None:
            out.quarantine.append(Verdict(incoming, verdict.parsed, verdict.delivery_id,
                                          verdict.address).quarantine(
                "unknown_delivery",
                f"the token names delivery {verdict.delivery_id}, which does not exist "
                f"(purged or from another database)"))
            continue
        known.add(incoming.sha256)
        delivery, tracked = found
        report_rows.append({
            "sha256": incoming.sha256,
            "kind": verdict.parsed.kind,
            "raw": incoming.raw,
            "mta_prefix": incoming.mta_prefix or None,
            "envelope_recipient": _clip(verdict.address, 320),
            "message_id": delivery.message_id,
            "received_at": incoming.received_at,
        })
        to_store.append((verdict, delivery, tracked))
        out.filed.append(verdict)
    if not to_store:
        return out
    # One executemany for the batch's reports, one query for their ids.
    session.execute(insert(Report), report_rows)
    report_ids = dict(session.execute(
        select(Report.sha256, Report.id).where(Report.sha256.in_([r["sha256"] for r in
                                                                   report_rows]))).all())

    notifications = []
    for verdict, delivery, tracked in to_store:
        parsed, incoming = verdict.parsed, verdict.incoming
        for result in _results_for(delivery, verdict):
            action = AUTO_REPLY_ACTION if parsed.kind == "auto-reply" else result.action
            notifications.append(apply_notification(
                delivery,
                report_id=report_ids[incoming.sha256],
                kind=parsed.kind,
                action=action[:16],
                move_status=tracked,
                status_code=_clip(result.status, 16),
                diagnostic=result.diagnostic or None,
                final_recipient=_clip(result.address, 320),
                original_recipient=_clip(result.original_recipient, 320),
                reporting_mta=_clip(parsed.reporting_mta, 255),
                remote_mta=_clip(result.remote_mta, 255),
                disposition_mode=_clip(result.disposition_mode, 64),
                feedback_type=_clip(result.feedback_type, 32),
                arrival_date=_sane(parsed.arrival_date),
                received_at=incoming.received_at,
            ))
    # One executemany for the batch's notifications.
    session.execute(insert(Notification), notifications)
    return out


def _examine_all(site: SiteConfig, incoming: Sequence[IncomingReport]) -> list[Verdict]:
    prefix, secret = site.bounce_email_prefix, site.secret_key
    verdicts = []
    for item in incoming:
        try:
            verdicts.append(examine(item, prefix, secret))
        except Exception as error:  # noqa: BLE001 - one odd report must not stop the queue
            log.exception("could not examine report %s", item.spool_name)
            verdicts.append(Verdict(item).quarantine(
                "unrecognized", f"could not be examined: {type(error).__name__}: {error}"))
    return verdicts


def _file_spool_batch(session: Session, verdicts: Sequence[Verdict]) -> BatchResult:
    """Evidence and quarantine entries for one batch of spool files, in `session`."""
    done = _file_batch(session, verdicts)
    already = quarantined_spool_names(session, [
        v.incoming.spool_name for v in done.quarantine if v.incoming.spool_name])
    result = BatchResult(filed=len(done.filed), duplicates=len(done.duplicates))
    for verdict in done.quarantine:
        reason = verdict.reason or "unrecognized"
        result.quarantined[reason] = result.quarantined.get(reason, 0) + 1
        if verdict.incoming.spool_name not in already:  # not there from an earlier run
            session.add(_quarantine_entry(verdict))
    return result


def _commit_spool_batch(session_factory: sessionmaker[Session],
                        verdicts: Sequence[Verdict]) -> BatchResult:
    """File one batch in one transaction; after a unique-key race with another worker
    (the same bytes filed a moment ago) look again once, in a fresh transaction."""
    try:
        with session_factory() as session, session.begin():
            return _file_spool_batch(session, verdicts)
    except IntegrityError:
        log.info("another worker filed some of these reports meanwhile; filing the rest")
    with session_factory() as session, session.begin():
        return _file_spool_batch(session, verdicts)


def _quarantine_entry(verdict: Verdict) -> QuarantinedReport:
    incoming = verdict.incoming
    return new_quarantine_entry(
        reason=verdict.reason or "unrecognized",
        detail=verdict.detail,
        raw=incoming.raw,
        mta_prefix=incoming.mta_prefix,
        truncated=incoming.truncated,
        envelope_recipient=verdict.address or incoming.first_recipient,
        spool_name=incoming.spool_name,
        received_at=incoming.received_at,
    )


def process_spool_files(site: SiteConfig, session_factory: sessionmaker[Session],
                        paths: Sequence[Path]) -> BatchResult:
    """File the reports in these (claimed) spool files and remove the files once committed."""
    incoming = [incoming_from_spool(path) for path in paths]
    verdicts = _examine_all(site, incoming)
    result = _commit_spool_batch(session_factory, verdicts)
    claims_for(site.spool_path, spool.REPORTS).remove(paths)
    return result


def process_spooled_reports(site: SiteConfig, session_factory: sessionmaker[Session]) -> int:
    """The worker's drainer for the reports queue: how many spool files were settled."""
    total = BatchResult()
    claims = claims_for(site.spool_path, spool.REPORTS)
    while total.total < PASS_LIMIT:
        paths = claim_batch(site.spool_path, spool.REPORTS, BATCH_SIZE)
        if not paths:
            break
        try:
            total.add(process_spool_files(site, session_factory, paths))
        except (SQLAlchemyError, OSError) as error:
            for path in paths:
                claims.release(path)
            log.error("reports left in the spool for the next pass: %s",
                      one_line(str(error), 300))
            break
    claims.wait_removed()
    if total.total:
        log.info("reports: %d filed, %d duplicates, quarantined %s", total.filed,
                 total.duplicates, total.quarantined or "none")
    return total.total


@dataclass
class RetryResult:
    """What `retry_quarantined` did: entries filed as evidence, and those still held."""

    filed: list[int] = field(default_factory=list)
    still: list[tuple[int, str, str]] = field(default_factory=list)  # id, reason, detail


def retry_quarantined(site: SiteConfig, session: Session,
                      entry_ids: Sequence[int] | None = None) -> RetryResult:
    """Examine quarantined reports again (e.g. after the delivery was restored, or a parser
    fix); those that can now be filed leave the quarantine, the others get a fresh reason."""
    query = select(QuarantinedReport).order_by(QuarantinedReport.id)
    if entry_ids is not None:
        query = query.where(QuarantinedReport.id.in_(list(entry_ids)))
    entries = list(session.scalars(query))
    outcome = RetryResult()
    for start in range(0, len(entries), BATCH_SIZE):
        chunk = entries[start : start + BATCH_SIZE]
        incoming = [
            IncomingReport(
                raw=entry.raw,
                mta_prefix=entry.mta_prefix or b"",
                received_at=entry.received_at,
                envelope_recipients=(
                    [("quarantine", entry.envelope_recipient)] if entry.envelope_recipient
                    else []),
                truncated=entry.truncated,
                spool_name=entry.spool_name,
            )
            for entry in chunk
        ]
        verdicts = _examine_all(site, incoming)
        done = _file_batch(session, verdicts)
        settled_ids = {id(v.incoming) for v in done.filed + done.duplicates}
        still = {id(v.incoming): v for v in done.quarantine}
        for entry, item in zip(chunk, incoming, strict=True):
            if id(item) in settled_ids:
                session.delete(entry)
                outcome.filed.append(entry.id)
            else:
                verdict = still[id(item)]
                entry.reason = verdict.reason or "unrecognized"
                entry.detail = one_line(verdict.detail)
                outcome.still.append((entry.id, entry.reason, entry.detail))
        session.commit()
    return outcome
