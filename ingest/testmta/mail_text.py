"""Small pieces of text that every report shares: dates, ids, header blocks, wrapping."""

from __future__ import annotations

import email.utils
import secrets
import textwrap
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32
from io import BytesIO

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def mail_date(moment: datetime) -> str:
    """RFC 5322 date the way Postfix writes it: ``Fri,  5 Dec 2025 09:04:01 +0000 (UTC)``."""
    moment = moment.astimezone(UTC)
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:2d} {_MONTHS[moment.month - 1]} "
        f"{moment.year} {moment:%H:%M:%S} +0000 (UTC)"
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def queue_id() -> str:
    """A Postfix-like short queue id (10 upper-case hex digits)."""
    return secrets.token_hex(5).upper()


def postfix_message_id(moment: datetime, host: str) -> str:
    return f"<{moment.astimezone(UTC):%Y%m%d%H%M%S}.{queue_id()}@{host}>"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() or "localhost"


def as_text(raw: bytes) -> str:
    """Message bytes as text with LF line ends; every 8-bit byte is kept as a surrogate.

    The email package's generator then writes those bytes back unchanged.
    """
    return raw.replace(b"\r\n", b"\n").decode("ascii", errors="surrogateescape")


def header_block(text: str) -> str:
    """The header section of a message (LF line ends), without the blank line."""
    head, _, _ = text.partition("\n\n")
    return head.rstrip("\n") + "\n"


def header_value(text: str, name: str) -> str | None:
    """The first ``name`` header of the header section in ``text``, unfolded, or None.

    Read by hand: the email package would turn 8-bit bytes (kept as surrogates) into text.
    """
    wanted = name.lower() + ":"
    found: list[str] | None = None
    for line in header_block(text).splitlines():
        if found is not None:
            if line[:1] not in (" ", "\t"):
                break
            found.append(line.strip())
        elif line.lower().startswith(wanted):
            found = [line[len(wanted) :].strip()]
    return None if found is None else " ".join(part for part in found if part)


def first_address(value: str | None) -> str | None:
    """The first mailbox address in a header value such as Disposition-Notification-To."""
    for _name, address in email.utils.getaddresses([value or ""]):
        if "@" in address:
            return address
    return None


def wrapped(text: str, width: int = 79, indent: int = 4) -> str:
    """Wrap a long line like Postfix's bounce_print_wrap: continuation lines indented."""
    lines = textwrap.wrap(
        text,
        width=width,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(lines) or text


def field_block(fields: list[tuple[str, str]]) -> Message:
    """One group of report fields (message/delivery-status, disposition-notification)."""
    block = Message()
    for name, value in fields:
        block[name] = value
    return block


class VerbatimHeaders(Compat32):
    """compat32, but header values are written as given: we fold them ourselves (like
    Postfix), and returned headers must come back byte for byte. Also 3x faster."""

    def fold(self, name: str, value: str) -> str:
        return f"{name}: " + self.linesep.join(value.splitlines()) + self.linesep

    def fold_binary(self, name: str, value: str) -> bytes:
        return self.fold(name, value).encode("ascii", errors="surrogateescape")


def flatten(message: Message, linesep: str) -> bytes:
    """Serialise with the email package's generator, every line ended by ``linesep``."""
    out = BytesIO()
    policy = VerbatimHeaders(linesep=linesep, max_line_length=0)
    BytesGenerator(out, mangle_from_=False, policy=policy).flatten(message)
    return out.getvalue()
