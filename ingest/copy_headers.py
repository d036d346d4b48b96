"""The copy a subscriber receives: the post's own bytes with a few header fields changed.

The header block is edited as bytes (never re-serialised by the `email` package), so the
body, the Message-ID and every other field reach the reader exactly as the author sent them.
Removed: the author's read-receipt request, Return-Path, and list fields we set ourselves.
Added: List-Id (RFC 2919), List-Post and List-Unsubscribe (RFC 2369), a Message-ID when the
post had none, and per recipient our own Disposition-Notification-To when MDN applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import Header

from ingest.header_block import fields, line_ending, split_header_block

REMOVED_FIELDS = frozenset({
    b"disposition-notification-to",  # the author's receipt request: ours replaces it
    b"disposition-notification-options",
    b"return-receipt-to",  # the old, non-standard receipt request
    b"return-path",  # set by the final delivery, never carried on
    b"list-id", b"list-post", b"list-unsubscribe",
})
_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class ListIdentity:
    """What the list fields say: the list's address, its subject, who may post, whom to ask."""

    name: str
    domain: str
    subject: str
    posting_allowed: bool
    unsubscribe_address: str

    @property
    def address(self) -> str:
        return f"{self.name}@{self.domain}"


def list_fields(identity: ListIdentity) -> list[bytes]:
    """List-Id, List-Post and List-Unsubscribe for a list, without line ends."""
    list_id = f"<{identity.name}.{identity.domain}>"
    subject = " ".join(identity.subject.split())
    if subject and subject.isascii():
        escaped = subject.replace("\\", "\\\\").replace('"', '\\"')
        list_id = f'"{escaped}" {list_id}'
    elif subject:
        list_id = f"{Header(subject, 'utf-8').encode()} {list_id}"
    post = f"<mailto:{identity.address}>" if identity.posting_allowed else "NO"
    unsubscribe = (f"<mailto:{identity.unsubscribe_address}"
                   f"?subject=unsubscribe%20{identity.address}>")
    return [f"List-Id: {list_id}".encode(), f"List-Post: {post}".encode(),
            f"List-Unsubscribe: {unsubscribe}".encode()]


def to_wire(data: bytes) -> bytes:
    """CRLF line ends and dot-stuffing (RFC 5321 4.5.2), as DATA carries text."""
    return _LEADING_DOT.sub(b"..", _BARE_LINE_END.sub(b"\r\n", data))


@dataclass(frozen=True)
class CopyTemplate:
    """One message's copy, ready for DATA; only the receipt field differs by recipient."""

    head: bytes  # the edited header block, on the wire (CRLF, dot-stuffed)
    rest: bytes  # the blank line and the body, on the wire, ending with CRLF "." CRLF

    def data(self, receipt_to: str | None = None) -> bytes:
        """The DATA payload for one recipient (with our Disposition-Notification-To or none)."""
        if receipt_to is None:
            return self.head + self.rest
        return self.head + f"Disposition-Notification-To: <{receipt_to}>\r\n".encode() + self.rest


def edited_header(raw: bytes, identity: ListIdentity, message_id: str | None) -> tuple[bytes,
                                                                                     bytes]:
    """(the header block as the copies carry it, the rest of the message), both as stored."""
    header, rest = split_header_block(raw)
    newline = line_ending(header)
    kept = b"".join(field for name, field in fields(header) if name not in REMOVED_FIELDS)
    if kept and not kept.endswith(b"\n"):
        kept += newline
    added = list_fields(identity)
    has_message_id = any(name == b"message-id" for name, _ in fields(header))
    if message_id and not has_message_id:
        added.insert(0, f"Message-ID: {message_id}".encode())
    return kept + b"".join(line + newline for line in added), rest


def build_copy(raw: bytes, identity: ListIdentity, message_id: str | None) -> CopyTemplate:
    """The copy template of a post; the body bytes are untouched but for SMTP's line ends."""
    head, rest = edited_header(raw, identity, message_id)
    wire_rest = to_wire(rest) if rest else b"\r\n"
    if not wire_rest.endswith(b"\r\n"):
        wire_rest += b"\r\n"
    return CopyTemplate(head=to_wire(head), rest=wire_rest + b".\r\n")
