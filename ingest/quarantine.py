"""The quarantine: mail that reached the report address and could not be filed.

Nothing that arrives is dropped. What cannot be matched to a delivery or understood is
kept here, byte for byte, with a short machine reason and one line a listmaster can read;
`listtrack quarantine list/show/retry` work on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listtrack.evidence import sha256_hex
from listtrack.models import QuarantinedReport

REASONS: dict[str, str] = {
    "empty": "the input was empty",
    "truncated": "larger than max_report_size: only its head was kept",
    "no_token": "no VERP token (bounce+TOKEN address or ENVID) anywhere",
    "bad_token": "a VERP token whose signature does not match (forged, altered, other site)",
    "unknown_delivery": "a valid token for a delivery that does not exist (purged?)",
    "unrecognized": "not a DSN, MDN, feedback report, auto-reply or known bounce text",
    "broken_mime": "broken MIME structure, nothing could be read",
    "bad_charset": "text in an unknown or undecodable charset, nothing could be read",
}
DETAIL_LENGTH = 500


def one_line(text: str, limit: int = DETAIL_LENGTH) -> str:
    """Any text as one printable line of at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def new_quarantine_entry(
    *,
    reason: str,
    detail: str,
    raw: bytes,
    mta_prefix: bytes | None,
    truncated: bool,
    envelope_recipient: str | None,
    spool_name: str | None,
    received_at: datetime,
) -> QuarantinedReport:
    """A quarantine row, ready to add to a session."""
    if reason not in REASONS:
        raise ValueError(f"unknown quarantine reason '{reason}'")
    return QuarantinedReport(
        reason=reason,
        detail=one_line(detail),
        raw=raw,
        mta_prefix=mta_prefix or None,
        sha256=sha256_hex(raw),
        truncated=truncated,
        envelope_recipient=(envelope_recipient or None) and envelope_recipient[:320],
        spool_name=spool_name,
        received_at=received_at,
    )


def quarantined_spool_names(session: Session, names: Sequence[str]) -> set[str]:
    """Which of these spool files are already in the quarantine (a re-run after a crash)."""
    if not names:
        return set()
    return set(session.scalars(
        select(QuarantinedReport.spool_name).where(QuarantinedReport.spool_name.in_(names))
    ))


def list_quarantined(
    session: Session, reason: str | None = None, limit: int = 100
) -> list[QuarantinedReport]:
    """Quarantined reports, newest first, optionally of one reason."""
    query = select(QuarantinedReport).order_by(QuarantinedReport.id.desc()).limit(limit)
    if reason:
        query = query.where(QuarantinedReport.reason == reason)
    return list(session.scalars(query))


def count_by_reason(session: Session) -> dict[str, int]:
    """How many reports wait in the quarantine, per reason."""
    rows = session.execute(
        select(QuarantinedReport.reason, func.count()).group_by(QuarantinedReport.reason)
    )
    return {reason: count for reason, count in rows}


def get_quarantined(session: Session, entry_id: int) -> QuarantinedReport | None:
    return session.get(QuarantinedReport, entry_id)
