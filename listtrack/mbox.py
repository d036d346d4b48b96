"""Reading existing archives to import: mbox files (mboxo and mboxrd, LF or CRLF, as Mailman
and Sympa write them) and Sympa's own archive folders (one file per message).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MBOX_FORMATS = ("mboxrd", "mboxo")
# A "From " separator: sender (Mailman's pipermail writes "alice at example.org") then a
# date with a time and a year; "Mon Jan  1 10:00:00 2024" is the usual form.
SEPARATOR_LOOSE = re.compile(rb"From .*\b\d{1,2}:\d{2}(:\d{2})?\b.*\b\d{4}\b")
SEPARATOR_STRICT = re.compile(
    rb"From \S+ +[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d{1,2}:\d{2}(:\d{2})? \d{4}\b")
ESCAPED_FROM_RD = re.compile(rb">+From ")
ESCAPED_FROM_O = re.compile(rb">From ")


class NotAnMbox(ValueError):
    """The file does not start like an mbox; the message says what was found."""


@dataclass(frozen=True)
class MboxMessage:
    raw: bytes
    envelope: bytes  # the "From " line, without its line end
    end_offset: int  # bytes of the file read so far (for a progress bar)


def _blank(line: bytes) -> bool:
    return line in (b"\n", b"\r\n", b"\r")


def read_mbox(handle: BinaryIO, mbox_format: str = "mboxrd") -> Iterator[MboxMessage]:
    """The messages of an mbox, "From " escaping undone; raises NotAnMbox on other files.

    mboxrd (the default) unescapes every `>From `, `>>From `, ... by one `>`; mboxo only
    `>From ` (lines that really began with `>From ` cannot be told apart there).
    """
    if mbox_format not in MBOX_FORMATS:
        raise ValueError(f"mbox format must be one of: {', '.join(MBOX_FORMATS)}")
    escaped = ESCAPED_FROM_RD if mbox_format == "mboxrd" else ESCAPED_FROM_O
    offset = 0
    line = handle.readline()
    while line and _blank(line):
        offset += len(line)
        line = handle.readline()
    if not line:
        return
    if not line.startswith(b"From "):
        shown = line[:60].decode("ascii", "replace").rstrip()
        raise NotAnMbox(f"not an mbox file: it should start with a 'From ' line, not {shown!r}")
    envelope, body, previous_blank = line, [], False
    offset += len(line)
    for line in iter(handle.readline, b""):
        offset += len(line)
        if line.startswith(b"From ") and (
                (previous_blank and SEPARATOR_LOOSE.match(line)) or SEPARATOR_STRICT.match(line)):
            yield MboxMessage(_message_bytes(body), envelope.rstrip(b"\r\n"), offset - len(line))
            envelope, body, previous_blank = line, [], False
            continue
        if escaped.match(line):
            line = line[1:]
        body.append(line)
        previous_blank = _blank(line)
    yield MboxMessage(_message_bytes(body), envelope.rstrip(b"\r\n"), offset)


def _message_bytes(lines: list[bytes]) -> bytes:
    """The message without the blank line that mbox writers put after each one."""
    if lines and _blank(lines[-1]):
        lines = lines[:-1]
    return b"".join(lines)


def sympa_archive_files(folder: Path) -> list[Path]:
    """Message files of a Sympa archive folder (`<yyyy-mm>/arctxt/<n>`, or one arctxt
    folder), in archive order: month, then message number."""
    # Only Sympa's own layouts, never a walk of the whole tree: pointed at Sympa's `arc/`
    # root (one folder per list) it must find nothing rather than merge every list.
    found = [path for pattern in ("[0-9][0-9][0-9][0-9]-[0-9][0-9]/arctxt/*", "arctxt/*")
             for path in folder.glob(pattern) if path.is_file() and path.name.isdigit()]
    if not found and folder.name == "arctxt":
        found = [path for path in folder.iterdir() if path.is_file() and path.name.isdigit()]
    return sorted(found, key=lambda path: (str(path.parent), int(path.name)))


def read_archive_file(path: Path) -> bytes:
    """One archived message file; an mbox-style "From " envelope line on top is dropped."""
    data = path.read_bytes()
    if data.startswith(b"From ") and SEPARATOR_LOOSE.match(data.split(b"\n", 1)[0]):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    return data
