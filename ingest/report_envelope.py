"""What our own MTA wrapped around a report, and the addresses that may carry our VERP token.

Postfix local(8) pipes a report as `From ` line + Return-Path + X-Original-To + Delivered-To
+ the report; Exim's pipe transport adds a `From ` line and may add Return-path,
Envelope-to and Delivery-date. Those lines are ours, not the reporting system's: they are
kept apart so the stored evidence is the report as it was written. Cheap byte scanning
only: this runs once per report in the worker's hot loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.header_block import fields, split_header_block

# Header lines that the receiving MTA prepends at final delivery (never written by a reporter).
PREFIX_HEADERS = frozenset(
    (b"return-path", b"x-original-to", b"delivered-to", b"envelope-to", b"delivery-date")
)
# Where an envelope recipient is written down, most exact first (RFC 3464: a report is
# addressed to the return path, so `To` names it too).
RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "envelope-to")
_HEADER_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")
_ADDRESS = re.compile(r"[^\s<>\"',;:()\[\]]+@[^\s<>\"',;:()\[\]]+")


def _line_end(data: bytes, start: int) -> int:
    """Offset just after the line that begins at `start` (its newline included)."""
    end = data.find(b"\n", start)
    return len(data) if end == -1 else end + 1


def split_mta_prefix(data: bytes) -> tuple[bytes, bytes]:
    """(what our MTA added in front, the report as the reporting system wrote it)."""
    position = 0
    if data.startswith(b"From "):
        position = _line_end(data, 0)
    while position < len(data):
        match = _HEADER_NAME.match(data, position)
        if not match or match.group(1).lower() not in PREFIX_HEADERS:
            break
        position = _line_end(data, position)
        while position < len(data) and data[position : position + 1] in (b" ", b"\t"):
            position = _line_end(data, position)  # a folded continuation line
    return data[:position], data[position:]


def header_values(section: bytes, name: str) -> list[str]:
    """Every value of one header field in a header section, unfolded, as text."""
    wanted = name.lower().encode("ascii")
    return [" ".join(field.split(b":", 1)[1].decode("utf-8", "replace").split())
            for field_name, field in fields(section) if field_name == wanted]


def addresses_in(value: str) -> list[str]:
    """The bare addresses written in a header value (angle brackets, comments, lists)."""
    return _ADDRESS.findall(value)


def header_recipients(mta_prefix: bytes, raw: bytes) -> Iterator[tuple[str, str]]:
    """(source, address) from our MTA's lines, then the report's own headers, lazily."""
    report_header = split_header_block(raw)[0]
    sections = (("mta", mta_prefix), ("report", report_header))
    for origin, section in sections:
        if not section:
            continue
        for name in RECIPIENT_HEADERS:
            for value in header_values(section, name):
                for address in addresses_in(value):
                    yield f"{origin}:{name}", address
    for value in header_values(report_header, "to"):
        for address in addresses_in(value):
            yield "report:to", address
