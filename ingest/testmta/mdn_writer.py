"""Read receipts (RFC 8098 MDNs) shaped like the ones Thunderbird sends.

The reader's mail client, not an MTA, writes these; listtrack must file them as
``displayed``/``deleted`` against the right delivery, so the form is a real client's.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import Message
from email.utils import format_datetime

from ingest.testmta.mail_text import (
    as_text,
    domain_of,
    field_block,
    flatten,
    header_block,
    header_value,
)

_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"
_NOTES = {
    "displayed": (
        "Note: This Return Receipt only acknowledges that the message was displayed on the "
        "recipient's computer. There is no guarantee that the recipient has read or "
        "understood the message contents."
    ),
    "deleted": (
        "Note: This Return Receipt only acknowledges that the message was deleted on the "
        "recipient's computer without being displayed."
    ),
}


@dataclass(frozen=True)
class DispositionReport:
    """One MDN: who read what, and what they did with it."""

    reader: str  # the recipient whose client answers (Final-Recipient, From)
    notify_to: str  # the address in Disposition-Notification-To
    disposition: str  # displayed | deleted
    created: datetime
    original_recipient: str | None = None  # "rfc822;addr", from ORCPT


def write_mdn(report: DispositionReport, original: bytes, linesep: str = "\n") -> bytes:
    """The MDN's bytes, every line ended by ``linesep``."""
    headers = header_block(as_text(original))
    subject = header_value(headers, "Subject") or ""
    message_id = header_value(headers, "Message-ID")
    reader_domain = domain_of(report.reader)

    message = Message()
    boundary = "------------" + "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(24)
    )
    message["Content-Type"] = (
        f'multipart/report; report-type=disposition-notification;\n boundary="{boundary}"'
    )
    message["Message-ID"] = f"<{uuid.uuid4()}@{reader_domain}>"
    message["Date"] = _client_date(report.created)
    message["MIME-Version"] = "1.0"
    message["User-Agent"] = _USER_AGENT
    message["From"] = report.reader
    message["To"] = report.notify_to
    message["Subject"] = _encoded(f"Return Receipt ({report.disposition}) - {subject}".rstrip())
    message.preamble = "This is a multi-part message in MIME format."

    text = Message()
    text["Content-Type"] = "text/plain; charset=UTF-8"
    text["Content-Transfer-Encoding"] = "7bit"
    text.set_payload(
        f"This is a Return Receipt for the mail that you sent to {report.reader}.\n\n"
        f"{_NOTES[report.disposition]}\n"
    )

    fields = [("Reporting-UA", f"{reader_domain}; Thunderbird 128.5.0")]
    if report.original_recipient:
        fields.append(("Original-Recipient", report.original_recipient))
    fields.append(("Final-Recipient", f"rfc822;{report.reader}"))
    if message_id:
        fields.append(("Original-Message-ID", message_id))
    fields.append(("Disposition", f"manual-action/MDN-sent-manually; {report.disposition}"))
    notification = Message()
    notification["Content-Type"] = 'message/disposition-notification; name="MDNPart2.txt"'
    notification["Content-Disposition"] = "inline"
    notification["Content-Transfer-Encoding"] = "7bit"
    notification.set_payload([field_block(fields)])

    returned = Message()
    returned["Content-Type"] = 'text/rfc822-headers; name="MDNPart3.txt"'
    returned["Content-Transfer-Encoding"] = "7bit" if headers.isascii() else "8bit"
    returned["Content-Disposition"] = "inline"
    returned.set_payload(headers)

    message.set_payload([text, notification, returned])
    return flatten(message, linesep)


def _encoded(value: str) -> str:
    """A mail client writes a non-ASCII header as RFC 2047 encoded words."""
    if value.isascii():
        return value
    text = value.encode("ascii", errors="surrogateescape").decode("utf-8", errors="replace")
    return Header(text, "utf-8").encode()


def _client_date(moment: datetime) -> str:
    """A mail client's Date: ``Fri, 05 Dec 2025 10:04:01 +0000`` (RFC 5322, no comment)."""
    return format_datetime(moment)
