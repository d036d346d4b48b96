"""A light reader for the plain, well-formed DSN that makes up most of the traffic.

The worker has to keep up with thousands of DSNs a second, and the standard email parser
spends most of that time on parts a DSN reader never looks at. This reader splits the
MIME structure itself and only reads the delivery-status part; anything unusual (encoded
parts, 8-bit fields, nested reports, missing fields) returns None and the full path runs.
"""

from __future__ import annotations

import re

from . import dsn
from .fields import is_mailbox
from .results import Report

_FOLD = re.compile(rb"\n[ \t]+")
# What the standard parser accepts as a header line (or a continuation, or a From_ line).
_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")
_PARAM = re.compile(r';\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^;\s]+))')
_PLAIN_ENCODINGS = (b"", b"7bit", b"8bit", b"binary")
_PLAIN_CHARSETS = ("", "us-ascii", "utf-8")
_RETURNED_TYPES = (b"message/rfc822", b"text/rfc822-headers")


def _headers(block: bytes) -> dict[bytes, bytes]:
    """Lower-cased header names to unfolded raw values (first occurrence wins)."""
    fields: dict[bytes, bytes] = {}
    for line in _FOLD.sub(b" ", block).split(b"\n"):
        name, sep, value = line.partition(b":")
        if sep:
            fields.setdefault(name.strip().lower(), value.strip())
    return fields


def _split(raw: bytes) -> tuple[bytes, bytes]:
    head, sep, body = raw.partition(b"\n\n")
    return (head, body) if sep else (raw, b"")


def _content_type(value: bytes) -> tuple[bytes, dict[str, str]]:
    text = value.decode("latin-1")
    kind = text.split(";", 1)[0].strip().lower().encode()
    params = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(text)}
    return kind, params


def _parts(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The parts between boundary lines, or None when the closing boundary is missing."""
    chunks = (b"\n" + body).split(b"\n--" + boundary)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        return None
    parts = []
    for chunk in chunks[1:-1]:
        line_end = chunk.find(b"\n")
        if line_end < 0 or chunk[:line_end].strip():
            return None
        parts.append(chunk[line_end + 1 :])
    return parts


def _message_id(part_body: bytes) -> str | None:
    """The returned message's Message-ID, reading its header lines the way compat32 does."""
    head = _split(part_body.lstrip(b"\n"))[0]
    lines = head.split(b"\n")
    for number, line in enumerate(lines):
        if not _HEADER_LINE.match(line):
            head = b"\n".join(lines[:number])
            break
    value = _headers(head).get(b"message-id")
    return (value.decode("latin-1").strip() or None) if value is not None else None


def detect(raw: bytes) -> Report | None:
    """A DSN Report read without the email parser, or None to let the full path decide."""
    if b"\r\n" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    head, body = _split(raw)
    top = _headers(head)
    kind, params = _content_type(top.get(b"content-type", b""))
    boundary = params.get("boundary", "")
    if kind != b"multipart/report" or not boundary or boundary != boundary.strip():
        return None
    if top.get(b"content-transfer-encoding", b"").lower() not in _PLAIN_ENCODINGS:
        return None
    parts = _parts(body, boundary.encode("latin-1"))
    if parts is None:
        return None
    status_text = None
    message_id = None
    returned_seen = False
    for part in parts:
        part_head, part_body = _split(part)
        fields = _headers(part_head)
        part_kind, part_params = _content_type(fields.get(b"content-type", b"text/plain"))
        if part_kind.startswith(b"multipart/") or part_kind.startswith(b"message/global"):
            if b"rfc822" in part_body.lower() or b"delivery-status" in part_body.lower():
                return None
            continue
        if part_kind == b"message/delivery-status":
            if status_text is not None or not part_body.isascii():
                return None
            encoding = fields.get(b"content-transfer-encoding", b"").lower()
            charset = part_params.get("charset", "").lower()
            if encoding not in _PLAIN_ENCODINGS or charset not in _PLAIN_CHARSETS:
                return None
            status_text = part_body.decode("ascii")
        elif part_kind in _RETURNED_TYPES and not returned_seen:
            returned_seen = True
            if fields.get(b"content-transfer-encoding", b"").lower() not in _PLAIN_ENCODINGS:
                return None
            message_id = _message_id(part_body)
    if status_text is None:
        return None
    return _report(status_text, message_id)


def _report(status_text: str, message_id: str | None) -> Report | None:
    per_message, groups = dsn.group_fields(status_text)
    if not groups:
        return None
    for fields in groups:
        if "action" not in fields or "status" not in fields:
            return None
    report = Report(kind="dsn", detector=dsn.NAME)
    for fields in groups:
        result = dsn.recipient_from_fields(fields, "failed")
        if result is None or not is_mailbox(result.address):
            return None
        if not result.diagnostic and result.action in ("failed", "delayed"):
            return None  # the full path takes the reason from the readable part
        report.recipients.append(result)
    dsn.apply_per_message_fields(report, per_message)
    report.original_message_id = message_id
    return report
