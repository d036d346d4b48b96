"""RFC 5965 feedback reports (abuse complaints, DMARC failure reports) and Microsoft JMRP.

A complaint is not a delivery failure: recipients carry feedback_type and an empty action,
so a list owner can see who complained without the delivery being marked failed.
"""

from __future__ import annotations

from email.message import Message

from .fields import find_addresses, normalize_address, parse_date, parse_fields, typed_value
from .message import ReportMessage, part_text
from .results import RecipientResult, Report

NAME = "rfc5965"
FEEDBACK_TYPES = ("message/feedback-report",)
# Microsoft's junk mail reporting programme forwards the message with this header added.
_JMRP_RECIPIENT = "x-hmxmroriginalrecipient"


def _recipients_from_message(msg: Message | None) -> list[str]:
    """The real addresses in a returned message's To and Cc, in order."""
    if msg is None:
        return []
    found: list[str] = []
    for name in ("to", "cc"):
        for value in msg.get_all(name) or []:
            for address in find_addresses(str(value)):
                address = normalize_address(address)
                if address not in found:
                    found.append(address)
    return found


def _feedback_report(message: ReportMessage, fields: dict[str, list[str]]) -> Report:
    feedback_type = (fields.get("feedback-type") or ["abuse"])[0].strip().lower() or "abuse"
    addresses: list[str] = []
    for value in fields.get("original-rcpt-to", []):
        for address in find_addresses(value) or [value]:
            address = normalize_address(address)
            if address and address not in addresses:
                addresses.append(address)
    if not addresses:
        addresses = _recipients_from_message(message.attached_message)
    attached = message.attached_message
    report = Report(
        kind="arf",
        detector=NAME,
        reporting_mta=typed_value((fields.get("reporting-mta") or [""])[0])[1] or None,
        envelope_id=(fields.get("original-envelope-id") or [None])[0],
        arrival_date=parse_date(
            (fields.get("arrival-date") or fields.get("received-date") or [None])[0]
        ),
        original_message_id=(attached.get("message-id") or "").strip() or None
        if attached is not None
        else None,
    )
    report.recipients = [
        RecipientResult(address=address, action="", status=None, feedback_type=feedback_type)
        for address in addresses
    ]
    if not addresses:
        report.problems.append("feedback report names no recipient")
    return report


def detect(message: ReportMessage) -> Report | None:
    """Read a message/feedback-report part, or a JMRP complaint's forwarded message."""
    for part, attached in message.parts:
        if attached:
            continue
        if part.get_content_type() in FEEDBACK_TYPES:
            fields: dict[str, list[str]] = {}
            for item in parse_fields(part_text(part, message.problems)):
                if item is not None:
                    fields.setdefault(item[0], []).append(item[1])
            return _feedback_report(message, fields)
    attached = message.attached_message
    if attached is not None and attached.get(_JMRP_RECIPIENT):
        address = normalize_address(str(attached.get(_JMRP_RECIPIENT)))
        report = Report(
            kind="arf",
            detector=NAME + "-jmrp",
            original_message_id=(attached.get("message-id") or "").strip() or None,
        )
        report.recipients = [
            RecipientResult(address=address, action="", status=None, feedback_type="abuse")
        ]
        return report
    return None
