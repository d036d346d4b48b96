"""MAIL/RCPT parameters of RFC 5321, with the DSN ones of RFC 3461 read exactly.

aiosmtpd upper-cases parameters and refuses the DSN ones; a DSN test server has to keep an
ENVID or ORCPT byte for byte, so the parsing lives here instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 3461 section 4: xchar is "!".."~" except "+" and "="; hexchar is "+" and two
# upper-case hex digits.
_XTEXT = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-F]{2})*")
_HEXCHAR_BYTES = re.compile(rb"\+([0-9A-F]{2})")
_XCHAR_BYTES = frozenset(range(33, 127)) - {ord("+"), ord("=")}
# RFC 5321 esmtp-keyword and esmtp-value (any printable but "="; RFC 6531 adds UTF-8).
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_VALUE = re.compile(r"[^\x00-\x20=\x7f]+")
# RFC 5322 atom, for the addr-type of ORCPT.
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")

NOTIFY_EVENTS = ("SUCCESS", "FAILURE", "DELAY")
ENVID_MAX_LENGTH = 100
ORCPT_MAX_LENGTH = 500


class ParameterError(Exception):
    """A MAIL or RCPT parameter the server must refuse; ``reply`` is the SMTP answer."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class EsmtpParameter:
    """One ``KEYWORD[=value]`` exactly as the client sent it (case kept)."""

    keyword: str
    value: str | None

    def __str__(self) -> str:
        return self.keyword if self.value is None else f"{self.keyword}={self.value}"


@dataclass(frozen=True)
class MailParameters:
    """What MAIL FROM asked for; ``envid`` is verbatim, ``envid_decoded`` its xtext decoding."""

    ret: str | None = None
    envid: str | None = None
    envid_decoded: str | None = None
    body: str | None = None
    size: int | None = None
    smtputf8: bool = False


@dataclass(frozen=True)
class RcptParameters:
    """What RCPT TO asked for; ``notify`` is None when absent, ``orcpt`` verbatim."""

    notify: tuple[str, ...] | None = None
    orcpt: str | None = None
    orcpt_decoded: str | None = None

    @property
    def orcpt_type(self) -> str | None:
        return None if self.orcpt_decoded is None else self.orcpt_decoded.split(";", 1)[0]

    @property
    def orcpt_address(self) -> str | None:
        return None if self.orcpt_decoded is None else self.orcpt_decoded.split(";", 1)[1]


def is_xtext(text: str) -> bool:
    """True when ``text`` is valid xtext (RFC 3461 section 4)."""
    return _XTEXT.fullmatch(text) is not None


def xtext_decode(text: str) -> str:
    """Undo xtext: every ``+XX`` becomes the byte 0xXX (the result read as UTF-8)."""
    if "+" not in text:
        return text
    raw = _HEXCHAR_BYTES.sub(lambda m: bytes([int(m[1], 16)]), text.encode("utf-8"))
    return raw.decode("utf-8", errors="surrogateescape")


def xtext_encode(text: str) -> str:
    """Encode ``text`` as xtext, for clients and tests that need a correct parameter."""
    return "".join(
        chr(byte) if byte in _XCHAR_BYTES else f"+{byte:02X}" for byte in text.encode("utf-8")
    )


def split_parameters(text: str) -> tuple[EsmtpParameter, ...]:
    """Split the text after the address into parameters, refusing bad syntax with 501."""
    params = []
    for token in text.split():
        keyword, eq, value = token.partition("=")
        if not _KEYWORD.fullmatch(keyword) or (eq and not _VALUE.fullmatch(value)):
            raise ParameterError(f"501 5.5.4 Bad parameter syntax: {token}")
        params.append(EsmtpParameter(keyword, value if eq else None))
    return tuple(params)


def _once(seen: set[str], param: EsmtpParameter) -> str:
    name = param.keyword.upper()
    if name in seen:
        raise ParameterError(f"501 5.5.4 Duplicate {name} parameter")
    seen.add(name)
    return name


def _unsupported(param: EsmtpParameter) -> ParameterError:
    return ParameterError(f"555 5.5.4 Unsupported option: {param}")


def read_mail_parameters(
    params: tuple[EsmtpParameter, ...],
    *,
    dsn_enabled: bool,
    smtputf8_enabled: bool,
    size_limit: int | None,
) -> MailParameters:
    """Validate MAIL FROM parameters (RFC 1652, 1870, 3461, 6531) and return their meaning."""
    seen: set[str] = set()
    found: dict[str, object] = {}
    for param in params:
        name = _once(seen, param)
        value = param.value
        if name in ("RET", "ENVID") and not dsn_enabled:
            raise _unsupported(param)
        if name == "RET":
            if value is None or value.upper() not in ("FULL", "HDRS"):
                raise ParameterError("501 5.5.4 Bad RET parameter syntax")
            found["ret"] = value.upper()
        elif name == "ENVID":
            if not value or len(value) > ENVID_MAX_LENGTH or not is_xtext(value):
                raise ParameterError("501 5.5.4 Bad ENVID parameter syntax")
            found["envid"] = value
            found["envid_decoded"] = xtext_decode(value)
        elif name == "BODY":
            if value is None or value.upper() not in ("7BIT", "8BITMIME"):
                raise ParameterError(f"501 5.5.4 Bad BODY keyword: {value}")
            found["body"] = value.upper()
        elif name == "SIZE":
            if value is None or not value.isdigit():
                raise ParameterError("501 5.5.4 Bad message size syntax")
            if size_limit and int(value) > size_limit:
                raise ParameterError("552 5.3.4 Message size exceeds fixed limit")
            found["size"] = int(value)
        elif name == "SMTPUTF8":
            if value is not None:
                raise ParameterError("501 5.5.4 SMTPUTF8 takes no value")
            if not smtputf8_enabled:
                raise _unsupported(param)
            found["smtputf8"] = True
        else:
            raise _unsupported(param)
    return MailParameters(**found)  # type: ignore[arg-type]


def _read_notify(value: str | None) -> tuple[str, ...]:
    items = (value or "").upper().split(",")
    if items == ["NEVER"]:
        return ("NEVER",)
    if not all(item in NOTIFY_EVENTS for item in items):
        raise ParameterError("501 5.5.4 Bad NOTIFY parameter syntax")
    return tuple(dict.fromkeys(items))


def _read_orcpt(value: str | None, smtputf8: bool) -> str:
    addr_type, semicolon, address = (value or "").partition(";")
    utf8_type = addr_type.lower() == "utf-8"
    valid_address = is_xtext(address) or (utf8_type and smtputf8 and address.isprintable())
    if (
        not semicolon
        or not address
        or len(value or "") > ORCPT_MAX_LENGTH
        or not _ATOM.fullmatch(addr_type)
        or not valid_address
    ):
        raise ParameterError("501 5.5.4 Bad ORCPT parameter syntax")
    decoded = xtext_decode(address)
    if utf8_type:  # RFC 6533 utf-8-addr-xtext: \x{HEX} escapes inside the xtext
        decoded = _UTF8_ESCAPE.sub(lambda m: chr(int(m[1], 16)), decoded)
    return f"{addr_type};{decoded}"


def read_rcpt_parameters(
    params: tuple[EsmtpParameter, ...], *, dsn_enabled: bool, smtputf8: bool = False
) -> RcptParameters:
    """Validate RCPT TO parameters (RFC 3461 NOTIFY and ORCPT) and return their meaning."""
    seen: set[str] = set()
    notify = orcpt = orcpt_decoded = None
    for param in params:
        name = _once(seen, param)
        if name in ("NOTIFY", "ORCPT") and not dsn_enabled:
            raise _unsupported(param)
        if name == "NOTIFY":
            notify = _read_notify(param.value)
        elif name == "ORCPT":
            orcpt_decoded = _read_orcpt(param.value, smtputf8)
            orcpt = param.value
        else:
            raise _unsupported(param)
    return RcptParameters(notify=notify, orcpt=orcpt, orcpt_decoded=orcpt_decoded)
