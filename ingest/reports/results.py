"""What a parsed report says: one Report holding one RecipientResult per recipient.

Plain data with no behaviour, so the worker, the web app and the CLI share one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

KINDS = ("dsn", "mdn", "arf", "auto-reply", "unrecognized")


@dataclass(slots=True)
class RecipientResult:
    """The outcome a report gives for one recipient."""

    address: str
    action: str = ""
    status: str | None = None
    diagnostic: str = ""
    original_recipient: str | None = None
    remote_mta: str | None = None
    last_attempt_date: datetime | None = None
    disposition_mode: str | None = None
    feedback_type: str | None = None


@dataclass(slots=True)
class Report:
    """Everything parse_report learned from one incoming report."""

    kind: str = "unrecognized"
    recipients: list[RecipientResult] = field(default_factory=list)
    envelope_id: str | None = None
    reporting_mta: str | None = None
    arrival_date: datetime | None = None
    original_message_id: str | None = None
    detector: str | None = None
    problems: list[str] = field(default_factory=list)


def report_as_json(report: Report, file: str) -> dict:
    """The one-line JSON shape of `listtrack report parse` (the contract in DESIGN.md)."""
    recipients = []
    for result in report.recipients:
        entry = {
            "address": result.address,
            "action": result.action,
            "status": result.status,
            "diagnostic": result.diagnostic,
        }
        if result.feedback_type:
            entry["feedback_type"] = result.feedback_type
        recipients.append(entry)
    return {"file": file, "kind": report.kind, "recipients": recipients}
