"""A message's header block as bytes: find it, walk its fields, read one, drop some.

Stdlib only and no `email` package: the hand-off reads From on every post, and the copies
sent to subscribers are built by editing these bytes so that the body stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_COMMENT = re.compile(r"\([^()]*\)")
_ANGLE = re.compile(r"<([^<>]*)>")


def split_header_block(raw: bytes) -> tuple[bytes, bytes]:
    """(header lines with their line ends, the rest from the blank line on)."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw
    positions = [found for found in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if found >= 0]
    if not positions:
        return raw if raw.endswith(b"\n") else raw + b"\n", b""
    end = min(positions)
    newline = 2 if raw.startswith(b"\r\n", end) else 1
    return raw[: end + newline], raw[end + newline:]


def line_ending(header: bytes) -> bytes:
    """The header block's own line end (CRLF or LF), to add fields that match."""
    return b"\r\n" if b"\r\n" in header else b"\n"


def fields(header: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(lower-cased name, whole field with its continuation lines) for each field, in order."""
    current_name, current = b"", b""
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and current:
            current += line
            continue
        if current:
            yield current_name, current
        current_name = line.split(b":", 1)[0].strip().lower() if b":" in line else b""
        current = line
    if current:
        yield current_name, current


def field_value(header: bytes, name: bytes) -> str | None:
    """The unfolded value of the first field called `name` (lower-case), or None."""
    for field_name, field in fields(header):
        if field_name == name:
            value = field.split(b":", 1)[1]
            text = value.decode("utf-8", "replace")
            return " ".join(text.split())
    return None


def without_fields(header: bytes, names: frozenset[bytes]) -> bytes:
    """The header block with every field whose lower-cased name is in `names` removed."""
    return b"".join(field for field_name, field in fields(header) if field_name not in names)


def first_address(value: str | None) -> str | None:
    """The first mailbox address in an address header (From, Sender), lower-cased."""
    if not value:
        return None
    text = _QUOTED.sub(" ", value)
    while _COMMENT.search(text):
        text = _COMMENT.sub(" ", text)
    angles = _ANGLE.findall(text)
    candidate = angles[0] if angles else text.split(",", 1)[0]
    candidate = candidate.strip().rsplit(":", 1)[-1].strip()  # a source route or group name
    if "@" not in candidate or any(char.isspace() for char in candidate):
        return None
    return candidate.lower()
