"""RFC 3464 delivery status notifications and RFC 6533 global ones.

The most authoritative reader: it trusts the machine-readable fields, and tolerates what
real MTAs get wrong (missing blank lines, odd case, folded fields, wrong content types).
"""

from __future__ import annotations

import re

from .bounce_text import is_answer, is_machine_written, says_given_up
from .fields import (
    find_status,
    parse_date,
    parse_fields,
    recipient_address,
    typed_value,
    unfold,
    xtext_decode,
)
from .message import ReportMessage, part_text
from .results import RecipientResult, Report

NAME = "rfc3464"
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
_ACTIONS = {
    "failed": "failed",
    "failure": "failed",
    "fail": "failed",
    "error": "failed",
    "delayed": "delayed",
    "delay": "delayed",
    "deferred": "delayed",
    "delivered": "delivered",
    "relayed": "relayed",
    "expanded": "expanded",
}
_REPEATING = ("final-recipient", "original-recipient", "action", "status")
_DEFAULT_STATUS = {"failed": "5.0.0", "delayed": "4.0.0", "delivered": "2.0.0"}
_ACTION_OF_CLASS = {"5": "failed", "4": "delayed", "2": "delivered"}
_SMTP_REPLY = re.compile(r"(?<!\d)([245])\d\d(?:[ -]|$)")
_LOOKS_LIKE_STATUS = re.compile(r"^(?:final|original)-recipient\s*:", re.IGNORECASE | re.MULTILINE)


def group_fields(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Split delivery-status text into per-message fields and per-recipient field groups.

    Blank lines separate groups; a per-recipient field seen twice in one group also starts
    a new group, for the MTAs that forget the blank line.
    """
    blocks: list[list[tuple[str, str]]] = [[]]
    for item in parse_fields(text):
        if item is None:
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(item)
    per_message: dict[str, str] = {}
    groups: list[dict[str, str]] = []
    for index, block in enumerate(b for b in blocks if b):
        current: dict[str, str] | None = None
        for name, value in block:
            if current is None:
                if index == 0 and name not in _RECIPIENT_FIELDS:
                    per_message.setdefault(name, value)
                    continue
                current = {}
            elif name in current and name in _REPEATING:
                groups.append(current)
                current = {}
            current.setdefault(name, value)
        if current:
            groups.append(current)
    return per_message, [g for g in groups if any(f in g for f in _RECIPIENT_FIELDS)]


def normalize_action(value: str) -> str:
    """An RFC 3464 action word from what the field says, or "" when unreadable."""
    words = value.strip().lower().split()
    word = words[0].strip(";,.") if words else ""
    return _ACTIONS.get(word, "")


def recipient_from_fields(
    fields: dict[str, str], fallback_action: str, temporary_action: str = "delayed"
) -> RecipientResult | None:
    """One RecipientResult from one per-recipient field group. Without an Action field the
    status class decides; a 4.x.x status is `temporary_action` (a report that says it gave
    up on a temporary error, "message expired", is a failure)."""
    final = fields.get("final-recipient") or fields.get("x-actual-recipient")
    original = fields.get("original-recipient")
    address = recipient_address(final) if final else ""
    if "@" not in address and original:
        address = recipient_address(original, original=True) or address
    if not address:
        return None
    diagnostic = typed_value(fields.get("diagnostic-code", ""))[1]
    status = find_status(fields.get("status", ""))
    action = normalize_action(fields.get("action", ""))
    told = find_status(diagnostic)
    if status is None or (told and told[0] == status[0]):
        # The remote server's own code is more precise than the one the reporter derived.
        status = told or status
    if not action:
        klass = status[0] if status else _smtp_class(diagnostic)
        action = _ACTION_OF_CLASS.get(klass or "", fallback_action)
        if klass == "4":
            action = temporary_action
    if status is None:
        reply = _SMTP_REPLY.search(diagnostic)
        klass = reply.group(1) if reply else None
        if klass and _ACTION_OF_CLASS.get(klass) == action:
            status = f"{klass}.0.0"
        else:
            status = _DEFAULT_STATUS.get(action)
    remote = fields.get("remote-mta")
    return RecipientResult(
        address=address,
        action=action,
        status=status,
        diagnostic=unfold(diagnostic),
        original_recipient=recipient_address(original, original=True) if original else None,
        remote_mta=typed_value(remote)[1] if remote else None,
        last_attempt_date=parse_date(fields.get("last-attempt-date")),
    )


def _smtp_class(text: str) -> str | None:
    reply = _SMTP_REPLY.search(text)
    return reply.group(1) if reply else None


def apply_per_message_fields(report: Report, per_message: dict[str, str]) -> None:
    """Fill the report-wide fields (Reporting-MTA, ENVID, Arrival-Date) not yet known."""
    if report.reporting_mta is None and "reporting-mta" in per_message:
        report.reporting_mta = typed_value(per_message["reporting-mta"])[1] or None
    if report.envelope_id is None and per_message.get("original-envelope-id"):
        report.envelope_id = xtext_decode(per_message["original-envelope-id"].strip())
    if report.arrival_date is None:
        report.arrival_date = parse_date(per_message.get("arrival-date"))


def report_from_status_text(
    message: ReportMessage, texts: list[str], fallback_action: str
) -> Report | None:
    """A DSN Report from one or more delivery-status texts, or None when none names anyone."""
    report = Report(kind="dsn", detector=NAME)
    temporary_action = None
    for text in texts:
        per_message, groups = group_fields(text)
        apply_per_message_fields(report, per_message)
        for fields in groups:
            if temporary_action is None and "action" not in fields:
                temporary_action = "failed" if says_given_up(message) else "delayed"
            result = recipient_from_fields(fields, fallback_action, temporary_action or "delayed")
            if result is not None:
                report.recipients.append(result)
    if not report.recipients:
        return None
    attached = message.attached_message
    if attached is not None:
        report.original_message_id = (attached.get("message-id") or "").strip() or None
    return report


def fallback_action(message: ReportMessage) -> str:
    """What a recipient with neither Action nor Status most likely means, from the wording."""
    subject = message.subject.lower()
    if "delay" in subject or "warning" in subject:
        return "delayed"
    return "failed"


def is_forwarded_by_a_person(message: ReportMessage) -> bool:
    """A person forwarding a report they received: it is about their mail, not ours."""
    return is_answer(message) and not is_machine_written(message)


def detect(message: ReportMessage) -> Report | None:
    """Read the message/delivery-status parts; those of an attached (forwarded) report only
    when the message has none of its own."""
    for want_attached in (False, True):
        if want_attached and is_forwarded_by_a_person(message):
            return None
        texts = [
            part_text(part, message.problems)
            for part, attached in message.parts
            if attached == want_attached and part.get_content_type() in STATUS_TYPES
        ]
        if texts:
            return report_from_status_text(message, texts, fallback_action(message))
    return None


def detect_mislabelled(message: ReportMessage) -> Report | None:
    """Delivery-status fields sent under a wrong content type (text/plain, no MIME at all)."""
    text = message.full_text
    if not _LOOKS_LIKE_STATUS.search(text) or not is_machine_written(message):
        return None  # a person quoting a report is not one
    report = report_from_status_text(message, [text], fallback_action(message))
    if report is not None:
        report.detector = NAME + "-mislabelled"
    return report
