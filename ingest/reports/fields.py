"""Reading the small values reports carry: field blocks, addresses, status codes, dates.

Shared by every detector so that an address or a status code means the same everywhere.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

_FIELD_LINE = re.compile(r"([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
_UTF8_XTEXT = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
_REPLY_STATUS = re.compile(
    r"(?<![\w.])[245]\d\d[ -]+['\"#(]?([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)"
)
# \w (Unicode letters and digits) keeps internationalised addresses and compiles fast.
ADDRESS = re.compile(
    r"(?:\"[^\"\r\n@]{1,64}\"|[\w!#$%&'*+/=?^`{|}~.-]{1,64})"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,10}"
    r"[A-Za-z][A-Za-z0-9-]{0,62}"
)


def parse_fields(text: str) -> list[tuple[str, str] | None]:
    """Split report fields into (lower-cased name, unfolded value), None marking a blank line.

    Other lines are dropped (reports carry stray comments), except that an unindented line
    under Diagnostic-Code continues it: MTAs paste multi-line SMTP replies there unfolded.
    """
    out: list[tuple[str, str] | None] = []
    name = None
    value: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if name is not None:
                out.append((name, " ".join(value).strip()))
                name = None
            out.append(None)
            continue
        if line[0] in " \t":
            if name is not None:
                value.append(line.strip())
            continue
        match = _FIELD_LINE.match(line)
        if not match and name == "diagnostic-code":
            value.append(line.strip())
            continue
        if name is not None:
            out.append((name, " ".join(value).strip()))
            name = None
        if match:
            name = match.group(1).lower()
            value = [match.group(2)]
    if name is not None:
        out.append((name, " ".join(value).strip()))
    return out


def xtext_decode(value: str) -> str:
    """Undo RFC 3461 xtext (+HH) and RFC 6533 utf-8-addr-xtext (\\x{HHHH}) encodings."""
    if "\\x{" in value:
        value = _UTF8_XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)
    if "+" in value:
        value = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def typed_value(value: str) -> tuple[str, str]:
    """Split "rfc822; addr" or "smtp; 550 ..." into (lower-cased type, rest)."""
    kind, sep, rest = value.partition(";")
    if sep and " " not in kind.strip() and "@" not in kind:
        return kind.strip().lower(), rest.strip()
    return "", value.strip()


def normalize_address(value: str) -> str:
    """Clean an address found in a report: no brackets, quotes or type; domain lower-cased."""
    value = value.strip().strip("<>()[]:;,. \t")
    if value.count('"') == 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    value = value.strip("'")
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if value.startswith("<") or value.endswith(">"):
        value = value.strip("<>")
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{domain.lower().rstrip('.')}"


def recipient_address(value: str, *, original: bool = False) -> str:
    """The address of a Final-Recipient or Original-Recipient field value."""
    kind, rest = typed_value(value)
    if kind.startswith("utf-8") or "\\x{" in rest:
        rest = _UTF8_XTEXT.sub(lambda m: chr(int(m.group(1), 16)), rest)
    elif original and kind == "rfc822":
        rest = xtext_decode(rest)
    match = ADDRESS.search(rest)
    return normalize_address(match.group(0) if match else rest)


def is_mailbox(address: str) -> bool:
    """Whether an address has both a local part and a domain ("@host" and "user" do not)."""
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain)


def find_addresses(text: str) -> list[str]:
    """Every address-looking token in text, in order of appearance."""
    return [m.group(0).rstrip(".-") for m in ADDRESS.finditer(text)]


def find_status(text: str, *, errors_only: bool = False) -> str | None:
    """The RFC 3463 status code (x.y.z) in text, preferring one that follows an SMTP reply
    code ("550 5.1.1"), or None. With errors_only, success codes (2.x.x, as in a quoted
    "250 2.1.0 Ok" of a session transcript) are passed over."""
    for pattern in (_REPLY_STATUS, _STATUS):
        for match in pattern.finditer(text):
            if errors_only and match.group(1) == "2":
                continue
            return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}"
    return None


def parse_date(value: str | None) -> datetime | None:
    """An aware datetime from an RFC 5322 date, or None when it cannot be read."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def unfold(value: str) -> str:
    """One line of text from a folded or multi-line value."""
    return " ".join(value.split())
