"""What an archived message shows a reader: headers, body parts, attachments, inline images.

Real mail is often broken (bad boundaries, unknown charsets, missing parts): everything here
renders what it can and notes the problem, and never raises on message content.
"""

from __future__ import annotations

import codecs
import contextlib
import mimetypes
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import Header, decode_header, make_header
from email.message import Message as EmailMessage
from email.policy import compat32

from listtrack.html_sanitizer import html_to_text, sanitize_html

SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID")
# Served inline (for cid: references); anything else, SVG included, only as a download.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/gif", "image/jpeg", "image/webp"})
MAX_PARTS = 1000
MAX_SHOWN_CHARS = 1_000_000
MAX_EXTRACT_CHARS = 200_000
UNKNOWN_CHARSETS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined"})


@dataclass(frozen=True)
class Attachment:
    number: int
    filename: str
    content_type: str
    size: int
    content_id: str | None
    inline_image: bool


@dataclass(frozen=True)
class BodyPart:
    number: int
    kind: str  # "text" or "html" (already sanitized)
    content: str
    truncated: bool = False


@dataclass
class RenderedMessage:
    headers: list[tuple[str, str]]
    bodies: list[BodyPart] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    remote_images_blocked: int = 0
    alternative_kinds: set[str] = field(default_factory=set)  # kinds offered by alternatives
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PartContent:
    filename: str
    content_type: str
    charset: str | None
    data: bytes
    inline_image: bool


def header_text(value: object) -> str:
    """A header as parsed from bytes, with raw 8-bit bytes (which compat32 keeps as a Header
    of unknown charset, or as surrogates) decoded."""
    if isinstance(value, Header):
        pieces = []
        for data, charset in decode_header(value):
            pieces.append(decode_payload(data, charset)[0] if isinstance(data, bytes) else data)
        return "".join(pieces)
    text = str(value) if value is not None else ""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text, _ = decode_payload(text.encode("ascii", "surrogateescape"), None)
    return text


def decode_text(value: object) -> str:
    """An RFC 2047 header value as one line of text; never raises on bad encodings."""
    text = header_text(value)
    if not text:
        return ""
    with contextlib.suppress(Exception):  # unknown charsets, broken words: keep the raw text
        text = str(make_header(decode_header(text)))
    return " ".join(text.split())


def parse_message(raw: bytes) -> EmailMessage:
    """The message tree; compat32 keeps going on broken input and records defects."""
    return message_from_bytes(raw, policy=compat32)


def decode_payload(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes as text with the declared charset, else UTF-8, else Windows-1252; and a note."""
    name = (charset or "").strip().strip('"').lower()
    if name and name not in UNKNOWN_CHARSETS:
        try:
            return data.decode(_text_codec(name)), None
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if name in ("", "us-ascii", "ascii"):  # undeclared or mislabelled 8-bit text: common
        return text, None
    return text, f"charset {name!r} could not be used; shown as best as possible"


def _text_codec(name: str) -> str:
    """A codec that turns bytes into text (not base64, zlib, rot13 and the like)."""
    info = codecs.lookup(name)
    if not getattr(info, "_is_text_encoding", True):
        raise LookupError(name)
    return info.name


def safe_filename(name: str | None, number: int, content_type: str) -> str:
    """A download name with no path, no control characters, never empty."""
    text = decode_text(name) if name else ""
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = text.replace('"', "'").strip(" .")[:150]
    if not text:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        text = f"part-{number}{extension}"
    return text


def _numbered_parts(message: EmailMessage) -> list[EmailMessage]:
    parts = []
    for part in message.walk():
        parts.append(part)
        if len(parts) >= MAX_PARTS:
            break
    return parts


def _content_id(part: EmailMessage) -> str | None:
    value = part.get("Content-ID")
    return str(value).strip().strip("<>").strip() or None if value else None


def _payload_bytes(part: EmailMessage) -> bytes:
    if part.get_content_type() == "message/rfc822" and part.is_multipart():
        inner = part.get_payload(0)
        try:
            return inner.as_bytes(policy=compat32)
        except Exception:  # noqa: BLE001 - a broken attached message still downloads as text
            return str(inner).encode("utf-8", "replace")
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - undecodable transfer encodings: keep what is there
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
    return data


def _disposition(part: EmailMessage) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # noqa: BLE001 - a malformed Content-Disposition counts as absent
        return None


def _is_body(part: EmailMessage) -> bool:
    """Text to show in the page: text/plain or text/html not sent as an attachment, and a
    "multipart" whose boundary is missing (its content is all there is to read)."""
    if part.is_multipart() or _disposition(part) == "attachment":
        return False
    content_type = part.get_content_type()
    return content_type in ("text/plain", "text/html") or content_type.startswith("multipart/")


def _kind_inside(part: EmailMessage) -> str | None:
    """'html' if this alternative can show HTML, 'text' if only text, None otherwise."""
    kinds = {sub.get_content_type() for sub in part.walk() if _is_body(sub)}
    if "text/html" in kinds:
        return "html"
    return "text" if "text/plain" in kinds else None


def unflow(text: str, delete_space: bool) -> str:
    """RFC 3676 format=flowed: join soft line breaks so text wraps to the reader's width."""
    lines, current = [], ""
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.endswith(" ") and line != "-- ":
            current += line[:-1] if delete_space else line
        else:
            lines.append(current + line)
            current = ""
    if current:
        lines.append(current)
    return "\n".join(lines)


class _Renderer:
    def __init__(self, message: EmailMessage, *, prefer_html: bool, remote_images: bool,
                 part_url: Callable[[int], str]) -> None:
        self.message = message
        self.prefer_html = prefer_html
        self.remote_images = remote_images
        self.part_url = part_url
        self.parts = _numbered_parts(message)
        self.numbers = {id(part): number for number, part in enumerate(self.parts)}
        self.content_ids = {}
        for number, part in enumerate(self.parts):
            cid = _content_id(part)
            if cid and part.get_content_type() in INLINE_IMAGE_TYPES:
                self.content_ids.setdefault(cid, number)
        self.result = RenderedMessage(headers=[])

    def render(self) -> RenderedMessage:
        for name in SHOWN_HEADERS:
            value = self.message.get(name)
            if value is not None:
                self.result.headers.append((name, decode_text(str(value))))
        self._walk(self.message, 0)
        defects = {type(defect).__name__ for part in self.parts for defect in part.defects}
        if defects:
            self.result.problems.append(
                "malformed MIME (" + ", ".join(sorted(defects)) + "): shown as best as possible")
        if len(self.parts) >= MAX_PARTS:
            self.result.problems.append(f"only the first {MAX_PARTS} MIME parts are shown")
        return self.result

    def _walk(self, part: EmailMessage, depth: int) -> None:
        if id(part) not in self.numbers or depth > 50:
            return
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            self._attached_message(part, depth)
            return
        if not part.is_multipart():
            if _is_body(part):
                self._body(part)
            else:
                self._attachment(part)
            return
        children = [child for child in part.get_payload() if isinstance(child, EmailMessage)]
        if content_type == "multipart/alternative" and children:
            self._alternative(children, depth)
        else:
            for child in children:
                self._walk(child, depth + 1)

    def _attached_message(self, part: EmailMessage, depth: int) -> None:
        """A forwarded message: downloadable as .eml, and shown inline unless it was sent
        as a plain attachment."""
        self._attachment(part)
        inner = part.get_payload(0) if part.is_multipart() else None
        if inner is None or _disposition(part) == "attachment":
            return
        summary = [f"{name}: {decode_text(inner.get(name))}"
                   for name in ("From", "Date", "Subject") if inner.get(name) is not None]
        self.result.bodies.append(BodyPart(self.numbers[id(part)], "text",
                                           "\n".join(["Attached message", *summary])))
        self._walk(inner, depth + 1)

    def _alternative(self, children: list[EmailMessage], depth: int) -> None:
        kinds = [_kind_inside(child) for child in children]
        self.result.alternative_kinds.update(kind for kind in kinds if kind)
        wanted = "html" if self.prefer_html else "text"
        chosen = None
        for child, kind in zip(children, kinds, strict=True):  # the last one is the richest
            if kind == wanted or (kind and chosen is None):
                chosen = child
        if chosen is None:
            chosen = children[-1]
        self._walk(chosen, depth + 1)
        for child in children:  # attachments hidden inside the other versions still count
            if child is not chosen:
                for sub in child.walk():
                    if id(sub) in self.numbers and not sub.is_multipart() and not _is_body(sub):
                        self._attachment(sub)

    def _body(self, part: EmailMessage) -> None:
        number = self.numbers[id(part)]
        text, note = decode_payload(_payload_bytes(part), part.get_content_charset())
        if note:
            self.result.problems.append(f"part {number}: {note}")
        truncated = len(text) > MAX_SHOWN_CHARS
        text = text[:MAX_SHOWN_CHARS]
        if part.get_content_type() == "text/html":
            cleaned = sanitize_html(text, remote_images=self.remote_images,
                                    cid_url=self._cid_url)
            self.result.remote_images_blocked += cleaned.remote_images_blocked
            self.result.bodies.append(BodyPart(number, "html", cleaned.html, truncated))
            return
        if (part.get_param("format") or "").lower() == "flowed":
            text = unflow(text, (part.get_param("delsp") or "").lower() == "yes")
        self.result.bodies.append(BodyPart(number, "text", text.replace("\r\n", "\n"),
                                           truncated))

    def _cid_url(self, content_id: str) -> str | None:
        number = self.content_ids.get(content_id)
        return None if number is None else self.part_url(number)

    def _attachment(self, part: EmailMessage) -> None:
        number = self.numbers[id(part)]
        if any(found.number == number for found in self.result.attachments):
            return
        content_type = part.get_content_type()
        name = part.get_filename() if content_type != "message/rfc822" else None
        if content_type == "message/rfc822" and not name:
            name = f"message-{number}.eml"
        self.result.attachments.append(Attachment(
            number=number,
            filename=safe_filename(_filename(part) or name, number, content_type),
            content_type=content_type,
            size=len(_payload_bytes(part)),
            content_id=_content_id(part),
            inline_image=content_type in INLINE_IMAGE_TYPES,
        ))


def _filename(part: EmailMessage) -> str | None:
    try:
        return part.get_filename()
    except Exception:  # noqa: BLE001 - broken RFC 2231 parameters: no name
        return None


def render_message(raw: bytes, *, part_url: Callable[[int], str], prefer_html: bool = True,
                   remote_images: bool = False) -> RenderedMessage:
    """Everything the message page shows; `part_url(n)` is where part n is served."""
    try:
        message = parse_message(raw)
        return _Renderer(message, prefer_html=prefer_html, remote_images=remote_images,
                         part_url=part_url).render()
    except Exception as error:  # noqa: BLE001 - never a 500 on content: show the raw text
        text, _ = decode_payload(raw[:MAX_SHOWN_CHARS], None)
        return RenderedMessage(
            headers=[], bodies=[BodyPart(0, "text", text)],
            problems=[f"the message could not be read as MIME ({type(error).__name__}); "
                      "its raw text is shown"],
        )


def _header_safe_charset(part: EmailMessage) -> str | None:
    """The part's charset if it can go into a Content-Type header as it is."""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001 - a malformed parameter: no charset
        return None
    return charset if charset and re.fullmatch(r"[a-z0-9._:+-]{1,40}", charset) else None


def message_part(raw: bytes, number: int) -> PartContent | None:
    """Part `number` (as numbered by `render_message`) as bytes, or None if there is none."""
    parts = _numbered_parts(parse_message(raw))
    if not 0 <= number < len(parts):
        return None
    part = parts[number]
    content_type = part.get_content_type()
    if part.is_multipart() and content_type != "message/rfc822":
        return None
    return PartContent(
        filename=safe_filename(_filename(part), number, content_type),
        content_type=content_type,
        charset=_header_safe_charset(part) if content_type.startswith("text/") else None,
        data=_payload_bytes(part),
        inline_image=content_type in INLINE_IMAGE_TYPES,
    )


def extract_body_text(raw: bytes, limit: int = MAX_EXTRACT_CHARS) -> str:
    """The plain text of a message's body, for search: text parts, else its HTML's text."""
    try:
        message = parse_message(raw)
        texts, htmls = [], []
        for part in _numbered_parts(message):
            if _is_body(part):
                text, _ = decode_payload(_payload_bytes(part), part.get_content_charset())
                (htmls if part.get_content_type() == "text/html" else texts).append(text)
        chosen = texts or [html_to_text(markup) for markup in htmls]
        return "\n".join(chosen)[:limit]
    except Exception:  # noqa: BLE001 - an unreadable message is still archived, unsearched
        return ""
