"""RFC 8098 message disposition notifications (read receipts), plain and global.

The disposition type (displayed, deleted, dispatched, processed) becomes the action, so
tracking can rank it above delivery like Sympa does.
"""

from __future__ import annotations

import re

from .bounce_text import has_bounce_structure
from .fields import find_addresses, normalize_address, parse_fields, recipient_address
from .message import ReportMessage, part_text
from .results import RecipientResult, Report

NAME = "rfc8098"
MDN_TYPES = ("message/disposition-notification", "message/global-disposition-notification")
DISPOSITIONS = ("displayed", "deleted", "dispatched", "processed")
_DISPOSITION = re.compile(r"^\s*([^;]*?)\s*;\s*([a-z-]+)", re.IGNORECASE)


def parse_disposition(value: str) -> tuple[str, str | None]:
    """Split "manual-action/MDN-sent-manually; displayed/error" into (type, mode)."""
    match = _DISPOSITION.match(value)
    if not match:
        word = value.strip().split("/")[0].lower()
        return (word if word in DISPOSITIONS else ""), None
    mode = match.group(1) or None
    kind = match.group(2).lower()
    return (kind if kind in DISPOSITIONS else ""), mode


def detect(message: ReportMessage) -> Report | None:
    """Read the disposition-notification part of a read receipt."""
    part = next(
        (p for p, attached in message.parts if not attached and p.get_content_type() in MDN_TYPES),
        None,
    )
    if part is None:
        return None
    fields: dict[str, str] = {}
    for item in parse_fields(part_text(part, message.problems)):
        if item is not None:
            fields.setdefault(item[0], item[1])
    action, mode = parse_disposition(fields.get("disposition", ""))
    final = fields.get("final-recipient")
    original = fields.get("original-recipient")
    address = recipient_address(final) if final else ""
    if not address and original:
        address = recipient_address(original, original=True)
    if not address:
        return None
    diagnostic = fields.get("error") or fields.get("failure") or fields.get("warning") or ""
    report = Report(
        kind="mdn",
        detector=NAME,
        reporting_mta=fields.get("reporting-ua", "").split(";")[0].strip() or None,
        original_message_id=fields.get("original-message-id") or None,
        recipients=[
            RecipientResult(
                address=address,
                action=action,
                status=None,
                diagnostic=diagnostic,
                original_recipient=recipient_address(original, original=True) if original else None,
                disposition_mode=mode,
            )
        ],
    )
    if not action:
        report.problems.append(f"unreadable Disposition: {fields.get('disposition', '')!r}")
    return report


# Read receipts some clients send as plain text instead of RFC 8098 (Outlook outside
# Exchange's MDN conversion, Lotus Notes "Return Receipt").
TEXT_NAME = "read-receipt-text"
_RECEIPT_SUBJECT = re.compile(
    r"^\s*(?:(?:not read|read|ungelesen|gelesen|non lu|lu|no leído|leído|non letto|letto"
    r"|niet gelezen|gelezen|läst|lida|未開封|開封済み|已读)\s*:|return receipt\b)",
    re.IGNORECASE,
)
_DELETED_WORDING = re.compile(
    r"was deleted without being read|wurde ungelesen gelöscht|ohne gelesen zu werden"
    r"|a été supprimé sans avoir été lu|fue eliminado sin ser leído|eliminato senza essere letto",
    re.IGNORECASE,
)
_READ_WORDING = re.compile(
    r"was read on|wurde am .{0,40}gelesen|a été lu le|fue leído el|è stato letto"
    r"|is gelezen op|was received by:",
    re.IGNORECASE,
)


def detect_text_receipt(message: ReportMessage) -> Report | None:
    """A plain-text read receipt: "Read: subject" ... "was read on" (displayed), "Not read:"
    ... "was deleted without being read" (deleted); the reader is the writer."""
    if not _RECEIPT_SUBJECT.match(message.subject) or has_bounce_structure(message):
        return None
    text = message.notification_text[:4000]
    if _DELETED_WORDING.search(text):
        action = "deleted"
    elif _READ_WORDING.search(text):
        action = "displayed"
    else:
        return None
    addresses = find_addresses(message.header("from"))
    if not addresses:
        return None
    matched = _DELETED_WORDING.search(text) or _READ_WORDING.search(text)
    line_start = text.rfind("\n", 0, matched.start()) + 1
    line_end = text.find("\n", matched.end())
    wording = text[line_start : line_end if line_end >= 0 else len(text)].strip()
    return Report(
        kind="mdn",
        detector=TEXT_NAME,
        original_message_id=(message.msg.get("in-reply-to") or "").strip() or None,
        recipients=[
            RecipientResult(
                address=normalize_address(addresses[0]),
                action=action,
                status=None,
                diagnostic=wording,
                disposition_mode="manual-action/MDN-sent-manually",
            )
        ],
    )
