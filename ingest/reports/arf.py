"""RFC 5965 feedback reports (abuse complaints, DMARC failure reports) and Microsoft JMRP.

A complaint is not a delivery failure: recipients carry feedback_type and an empty action,
so a list owner can see who complained without the delivery being marked failed.
"""

from __future__ import annotations

from email.message import Message

from .fields import (
    find_addresses,
    normalize_address,
    parse_date,
    parse_fields,
    typed_value,
)
from .message import ReportMessage, part_text, received_for
from .results import RecipientResult, Report

NAME = "rfc5965"
FEEDBACK_TYPES = ("message/feedback-report",)
# Microsoft's junk mail reporting programme forwards the message with this header added.
_JMRP_RECIPIENT = "x-hmxmroriginalrecipient"


# Headers the receiving system adds to the reported copy, naming the mailbox it went to;
# a list's copy carries the list's address in To, so these come first.
_RECEIVER_HEADERS = (
    _JMRP_RECIPIENT,
    "x-apparently-to",
    "delivered-to",
    "x-original-to",
    "envelope-to",
)


def _recipients_from_message(msg: Message | None) -> list[str]:
    """Who received the reported copy: the receiver's own headers, the newest Received
    line's "for", else To and Cc; never the list's own address."""
    if msg is None:
        return []
    not_recipients = {a.lower() for a in find_addresses(str(msg.get("list-post") or ""))}
    found: list[str] = []

    def add(values: list[str]) -> None:
        for value in values:
            for address in find_addresses(str(value)):
                address = normalize_address(address)
                if address.lower() not in not_recipients and address not in found:
                    found.append(address)

    # Only the final hop's own headers: those above the first Received line (lower down
    # they were added where the message passed before, such as a list server).
    add(msg.get_all(_JMRP_RECIPIENT) or [])
    for name, value in msg.items():
        if name.lower() == "received":
            break
        if name.lower() in _RECEIVER_HEADERS:
            add([value])
    if not found:
        envelope = received_for(msg)
        add([envelope] if envelope else [])
    if not found:
        add((msg.get_all("to") or []) + (msg.get_all("cc") or []))
    return found


def _feedback_report(message: ReportMessage, fields: dict[str, list[str]]) -> Report:
    feedback_type = (fields.get("feedback-type") or ["abuse"])[0].strip().lower() or "abuse"
    addresses: list[str] = []
    for value in fields.get("original-rcpt-to", []) + fields.get("removal-recipient", []):
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


# X-ARF (abuse reporting in YAML fields): its report types, as feedback types.
_XARF_TYPES = {"spam": "abuse", "phishing": "fraud", "malware": "virus", "virus": "virus"}


def _fields(part: Message, message: ReportMessage) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in parse_fields(part_text(part, message.problems)):
        if item is not None:
            fields.setdefault(item[0], []).append(item[1])
    return fields


def detect(message: ReportMessage) -> Report | None:
    """Read a message/feedback-report part (a postmaster may forward a whole report, so an
    attached one counts when there is none outside), an X-ARF report, or a JMRP complaint's
    forwarded message."""
    for want_attached in (False, True):
        for part, attached in message.parts:
            if attached == want_attached and part.get_content_type() in FEEDBACK_TYPES:
                return _feedback_report(message, _fields(part, message))
    if (message.msg.get("x-arf") or "").strip().lower() == "yes":
        for part, attached in message.parts:
            if attached or part.get_content_type() != "text/plain":
                continue
            fields = _fields(part, message)
            if "report-type" in fields or "category" in fields:
                kind = (fields.get("report-type") or fields.get("category") or [""])[0]
                fields["feedback-type"] = [_XARF_TYPES.get(kind.strip().lower(), "other")]
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
