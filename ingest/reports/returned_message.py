"""Last resort for bounces that name no recipient in their text (Postfix's "Delivery report
unavailable", MMS gateways, old Sendmail transcripts that only name the host): the
recipient the returned message itself was addressed to.
"""

from __future__ import annotations

import email
import re
from email.message import Message
from email.policy import compat32

from .bounce_text import (
    error_lines,
    is_delay_warning,
    is_own_address,
    is_success_notice,
    looks_like_bounce,
    recipient_result,
    wording_report,
)
from .fields import find_addresses, normalize_address
from .message import ReportMessage, header_block_start, is_daemon_address, received_for
from .results import Report

NAME = "returned-message"
_MAX_RECIPIENTS = 1
_HEADER_PAIR = re.compile(r"[A-Za-z][A-Za-z0-9-]*:[^\n]*\n[A-Za-z][A-Za-z0-9-]*:")


def returned_headers(message: ReportMessage) -> Message | None:
    """The returned message's headers: an attached part, or the header lines after the notice."""
    if message.attached_message is not None:
        return message.attached_message
    text = message.trailing_text
    after_marker = text.split("\n", 1)[1].lstrip() if "\n" in text else ""
    if _HEADER_PAIR.match(after_marker):
        return email.message_from_string(after_marker, policy=compat32)
    start = header_block_start(text)
    if start is None:
        return None
    return email.message_from_string(text[start:].lstrip(), policy=compat32)


def addressed_to(headers: Message) -> list[str]:
    """Where the returned message was going: its envelope "for" address, else To and Cc,
    a mailing list's own address last (a list's copy keeps the list in To; the report still
    concerns the copy its token names)."""
    envelope = received_for(headers)
    if envelope:
        return [envelope]
    lists = {a.lower() for a in find_addresses(str(headers.get("list-post") or ""))}
    found: list[str] = []
    for name in ("to", "cc"):
        for value in headers.get_all(name) or []:
            for address in find_addresses(str(value)):
                address = normalize_address(address)
                if address.lower() not in (a.lower() for a in found):
                    found.append(address)
    return [a for a in found if a.lower() not in lists] or found


# Gateways' notices summarise the refused message in a few indented fields instead of
# returning it: "From: ...", "To: ...", "Subject: ...".
_SUMMARY_FIELD = re.compile(
    r"^[ \t]*(?P<name>from|sender|to|recipients?|envelope[- ]to|subject|date)[ \t]*:"
    r"[ \t]*(?P<value>.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def summarised_headers(message: ReportMessage) -> Message | None:
    """The To of a summary block in the notice (with a From or Subject beside it)."""
    fields = {
        m.group("name").lower(): m.group("value")
        for m in _SUMMARY_FIELD.finditer(message.notification_text)
    }
    recipients = next(
        (
            fields[name]
            for name in ("to", "recipient", "recipients", "envelope-to", "envelope to")
            if name in fields
        ),
        None,
    )
    if recipients is None or not ({"from", "sender", "subject"} & set(fields)):
        return None
    summary = Message()
    summary["To"] = recipients
    return summary


def detect(message: ReportMessage) -> Report | None:
    """A single recipient taken from the returned message, when the report is a bounce."""
    if not looks_like_bounce(message) or is_success_notice(message):
        return None
    headers = returned_headers(message) or summarised_headers(message)
    if headers is None:
        return None
    addresses = [
        a
        for a in addressed_to(headers)
        if not is_own_address(message, a) and not is_daemon_address(a)
    ]
    if not addresses or len(addresses) > _MAX_RECIPIENTS:
        return None
    action = "delayed" if is_delay_warning(message) else "failed"
    text = message.notification_text
    result = recipient_result(addresses[0], error_lines(text) or text.strip(), action)
    report = wording_report(message, NAME, [result])
    report.original_message_id = (headers.get("message-id") or "").strip() or None
    return report
