"""One parsed incoming report, with the lazily computed views that detectors share.

The message is parsed once (compat32, the fastest policy of the standard package); the
plain-text views that only the heuristic detectors need are computed on first use.
"""

from __future__ import annotations

import base64
import binascii
import email
import quopri
import re
from collections.abc import Callable
from email.errors import MissingHeaderBodySeparatorDefect
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32
from functools import cached_property
from typing import TypeVar

from .fields import ADDRESS, find_addresses, normalize_address

T = TypeVar("T")
_ORIGINAL_MARKER = re.compile(
    r"^[ \t|>]*(?:[-=_*#]{2,}[ \t]*)?(?:"
    r"below this line is a copy of the message"
    r"|this is a copy of the message"
    r"|(?:original|returned|unsent|undelivered|enclosed|rejected|bounced) (?:message|e-?mail)"
    r"|message (?:text|headers) follows?"
    r"|(?:the )?headers? of (?:the |your )?original message"
    r"|original (?:message|mail) (?:headers|info)"
    r"|included is a copy of the message"
    r"|enclosed is a copy of the message"
    r"|(?:below is )?a? ?copy of (?:the |your )?(?:original )?message"
    r"|the attachment contains the original"
    r"|forwarded message"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z0-9-]*):[ \t]?\S")
_STRONG_HEADERS = frozenset(
    (
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "dkim-signature",
        "x-mailer",
        "delivered-to",
        "x-received",
    )
)
_TAG = re.compile(
    r"<(?:script|style)\b.*?</(?:script|style)>|<!--.*?-->|</?[A-Za-z][A-Za-z0-9:-]*(?:[\s/][^>]*)?>",
    re.IGNORECASE | re.DOTALL,
)
# A line break in the rendering; the source's own newline right after it is the same break.
_BR = re.compile(
    r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/td|/th|p|div|tr|li)\b[^>]*>(?:[ \t]*\r?\n)?",
    re.IGNORECASE,
)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&"}
_DAEMON_LOCAL = re.compile(
    r"^(?:mailer[-_]?daemon|post[-_]?master|mail[-_]?daemon|daemon|mmdf|bounces?"
    r"|microsoftexchange[0-9a-f]{32})$",
    re.IGNORECASE,
)


# An item's end and the next item's start are one line break, not a blank line.
_ITEM_SEAM = re.compile(r"</(li|tr)\s*>\s*(?=<\1\b)", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """A rough plain rendering of an HTML body, enough to find addresses and error text."""
    text = _BR.sub("\n", _ITEM_SEAM.sub("", html))
    text = _TAG.sub("", text)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return "\n".join(line.strip() for line in text.splitlines())


def _decode_chunk(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    for candidate in (charset, "utf-8"):
        if candidate and candidate != "unknown-8bit":
            try:
                return data.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("latin-1")


def decode_header_value(value: object) -> str:
    """A header value as text, with RFC 2047 words and raw 8-bit bytes decoded; never raises."""
    if value is None:
        return ""
    if not isinstance(value, str | Header):
        value = str(value)
    if isinstance(value, str) and "=?" not in value:
        return " ".join(value.split())
    try:
        text = "".join(_decode_chunk(data, charset) for data, charset in decode_header(value))
    except (LookupError, ValueError, UnicodeError, AssertionError, TypeError):
        text = str(value)
    return " ".join(text.split())


_ENCODED = ("base64", "quoted-printable")


def _transfer_decoded(text: str, encoding: str) -> str:
    """A message/* part sent base64 or quoted-printable (the parser leaves those as text)."""
    try:
        if encoding == "base64":
            data = base64.b64decode("".join(text.split()), validate=False)
        else:
            data = quopri.decodestring(text.encode("utf-8", "surrogateescape"))
    except (ValueError, binascii.Error):
        return text
    return data.decode("utf-8", "replace")


# Mail systems often label text with the wrong member of a family (EUC-JP sent as
# ISO-2022-JP, GBK as GB2312, Windows-1251 as KOI8-R); these are tried in turn.
_CHARSET_FAMILIES = (
    ("iso-2022-jp", "euc-jp", "shift_jis", "cp932", "euc_jp", "shift-jis", "sjis"),
    ("gb2312", "gbk", "gb18030", "big5", "hz"),
    ("euc-kr", "cp949", "iso-2022-kr", "ks_c_5601-1987"),
    ("koi8-r", "cp1251", "windows-1251", "koi8-u", "iso-8859-5"),
)


def _mislabelled(data: bytes, charset: str) -> str:
    """Text whose bytes do not fit their declared charset: UTF-8, else a sibling of the
    declared charset, else the declared charset with the bad bytes replaced."""
    declared = charset.lower()
    candidates = ["utf-8"]
    for family in _CHARSET_FAMILIES:
        if declared in family:
            candidates += [name for name in family[:4] if name != declared]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(charset, "replace")


def part_text(part: Message, problems: list[str] | None = None) -> str:
    """The decoded text of a leaf part; undecodable charsets fall back to latin-1."""
    payload = part.get_payload()
    if isinstance(payload, list):
        text = "\n\n".join(headers_and_body_text(sub) for sub in payload)
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
        return _transfer_decoded(text, encoding) if encoding in _ENCODED else text
    data = part.get_payload(decode=True)
    if data is None:
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        return _mislabelled(data, charset)
    except (LookupError, ValueError):
        if problems is not None:
            problems.append(f"unknown charset {charset!r}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _utf8(text: object) -> str:
    """Text the parser kept as raw 8-bit (surrogate escapes) read as UTF-8, as RFC 6532 says."""
    text = str(text)
    if text.isascii():
        return text
    try:
        return text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text


def headers_and_body_text(msg: Message) -> str:
    """A message given back as text: its header lines, a blank line, its body."""
    head = "\n".join(f"{name}: {_utf8(value)}" for name, value in msg.raw_items())
    payload = msg.get_payload()
    if isinstance(payload, list):
        body = "\n\n".join(headers_and_body_text(sub) for sub in payload)
    else:
        data = msg.get_payload(decode=True)
        body = data.decode("utf-8", "replace") if isinstance(data, bytes) else _utf8(payload or "")
    if not head:
        return body
    # Headers that ran into a non-header line had no blank line after them.
    joined = any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in msg.defects)
    return f"{head}\n{body}" if joined else f"{head}\n\n{body}"


def header_block_start(text: str) -> int | None:
    """Offset of the first run of returned-message header lines inside plain text, if any."""
    offset = 0
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        match = _HEADER_LINE.match(line)
        if match and _looks_like_header_run(lines[index : index + 8]):
            return offset
        offset += len(line)
    return None


def _looks_like_header_run(lines: list[str]) -> bool:
    names = []
    for line in lines:
        match = _HEADER_LINE.match(line)
        if match:
            names.append(match.group(1).lower())
        elif not line[:1].isspace() or not line.strip():
            break
    return len(names) >= 3 and any(name in _STRONG_HEADERS for name in names)


_RECEIVED_FOR = re.compile(r"\bfor\s+<?(" + ADDRESS.pattern + r")>?", re.IGNORECASE)


def received_for(headers: Message) -> str | None:
    """The envelope recipient a message's newest Received line names ("for <a@x>")."""
    received = headers.get_all("received") or []
    match = _RECEIVED_FOR.search(" ".join(str(received[0]).split())) if received else None
    return match.group(1) if match else None


def is_daemon_address(address: str) -> bool:
    """Whether an address is a mail system's own (MAILER-DAEMON, postmaster...)."""
    local = address.rpartition("@")[0] or address
    return bool(_DAEMON_LOCAL.match(local))


class ReportMessage:
    """An incoming report parsed once, with shared views computed on demand."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.problems: list[str] = []
        self.memo: dict[str, object] = {}
        # Set for the second reading of a bounce that named nobody but its own addressee
        # (a sender who wrote to themselves, as test messages often do).
        self.addressee_may_be_recipient = False
        if b"\r\n" in raw:
            raw = raw.replace(b"\r\n", b"\n")
        self.msg: Message = email.message_from_bytes(raw, policy=compat32)

    def remember(self, key: str, compute: Callable[[], T]) -> T:
        """A reading of this message that detectors share: computed once, on first use."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]  # type: ignore[return-value]

    def header(self, name: str) -> str:
        """A top-level header, decoded; "" when absent."""
        return decode_header_value(self.msg.get(name))

    @cached_property
    def subject(self) -> str:
        return self.header("subject")

    @cached_property
    def parts(self) -> list[tuple[Message, bool]]:
        """Every part in order with whether it sits inside an attached message."""
        out: list[tuple[Message, bool]] = []
        stack: list[tuple[Message, bool]] = [(self.msg, False)]
        while stack:
            part, attached = stack.pop()
            out.append((part, attached))
            payload = part.get_payload()
            if isinstance(payload, list):
                inner = attached or part.get_content_maintype() == "message"
                for sub in reversed(payload):
                    if isinstance(sub, Message):
                        stack.append((sub, inner))
        return out

    @cached_property
    def attached_message(self) -> Message | None:
        """The returned original message (or its headers), when the report carries one."""
        for part, _attached in self.parts:
            ctype = part.get_content_type()
            if ctype in ("message/rfc822", "message/global"):
                payload = part.get_payload()
                if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
                    if encoding in _ENCODED:  # sent encoded: the parser left it as text
                        text = _transfer_decoded(payload[0].as_string(), encoding)
                        return email.message_from_string(text, policy=compat32)
                    return payload[0]
            elif ctype in ("text/rfc822-headers", "text/global-headers"):
                text = part_text(part).lstrip()
                return email.message_from_string(text, policy=compat32)
        return None

    @cached_property
    def full_text(self) -> str:
        """The readable text of every part outside attached messages, in order (HTML only
        when there is no plain text; parsed report parts are read by their own readers)."""
        chunks: list[str] = []
        plain_seen = False
        htmls: list[str] = []
        for part, attached in self.parts:
            if attached or part.is_multipart():
                continue
            ctype = part.get_content_type()
            if ctype == "text/html":
                htmls.append(html_to_text(part_text(part, self.problems)))
            elif part.get_content_maintype() in ("text", "multipart"):
                # A multipart whose boundary never shows up arrives here as one text.
                if ctype in ("text/rfc822-headers", "text/global-headers"):
                    continue
                chunks.append(part_text(part, self.problems))
                plain_seen = plain_seen or bool(chunks[-1].strip())
        if not plain_seen:
            chunks.extend(htmls)
        return "\n".join(chunks)

    @cached_property
    def _original_start(self) -> int:
        """Where a copy of the original message begins in full_text (its length if nowhere)."""
        text = self.full_text
        match = _ORIGINAL_MARKER.search(text)
        end = match.start() if match else len(text)
        block = header_block_start(text[:end])
        return block if block is not None else end

    @cached_property
    def notification_text(self) -> str:
        """The readable text cut where a copy of the original message begins."""
        return self.full_text[: self._original_start]

    @cached_property
    def trailing_text(self) -> str:
        """The text after the notification (often the returned message or its headers)."""
        return self.full_text[self._original_start :]

    def _addresses_in(self, *names: str) -> set[str]:
        found: set[str] = set()
        for name in names:
            for value in self.msg.get_all(name) or []:
                found.update(normalize_address(a).lower() for a in find_addresses(str(value)))
        return found

    @cached_property
    def writer_addresses(self) -> set[str]:
        """Addresses of the report's writer (From, Return-Path): never a recipient."""
        return self._addresses_in("from", "return-path")

    @cached_property
    def addressee_addresses(self) -> set[str]:
        """Where the report was delivered (To, Delivered-To): the original sender, who is
        named in greetings and quotes, and only rarely also a failed recipient."""
        return self._addresses_in("to", "delivered-to")

    @property
    def own_addresses(self) -> set[str]:
        """Addresses that are not read as recipients: the writer's, and the addressee's
        unless a second reading allows it (see scan.parse_report)."""
        if self.addressee_may_be_recipient:
            return self.writer_addresses
        return self.writer_addresses | self.addressee_addresses
