"""VERP return paths with signed tokens: `<prefix>+<token>@<domain>`.

The token names one delivery and carries an HMAC made with the site secret, so a report
with a guessed or altered token changes nobody's tracking. It holds no address, uses only
lower-case letters, digits and one '-', survives MTAs that fold case, and stays far below
the 64-octet limit of a local part. The same token is the DSN ENVID.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

MAC_LENGTH = 20  # base32 characters: 100 bits
_TOKEN = re.compile(rf"([0-9a-z]{{1,13}})-([a-z2-7]{{{MAC_LENGTH}}})")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class BadToken(ValueError):
    """The address carries no token, or one whose signature does not match."""


def _base36(number: int) -> str:
    if number < 0:
        raise ValueError("delivery ids are positive")
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if not number:
            return text


def _mac(secret: str, delivery_part: str) -> str:
    digest = hmac.new(secret.encode(), b"listtrack-verp:" + delivery_part.encode(),
                      hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_LENGTH]


def make_token(delivery_id: int, secret: str) -> str:
    """The signed token for one delivery."""
    delivery_part = _base36(delivery_id)
    return f"{delivery_part}-{_mac(secret, delivery_part)}"


def read_token(token: str, secret: str) -> int:
    """The delivery id in a token; BadToken if malformed or not signed with our secret."""
    found = _TOKEN.fullmatch(token.strip().lower())
    if not found:
        raise BadToken(f"'{token[:80]}' is not a listtrack token")
    delivery_part, mac = found.groups()
    if not hmac.compare_digest(mac, _mac(secret, delivery_part)):
        raise BadToken("the token's signature does not match (forged or altered)")
    return int(delivery_part, 36)


def verp_address(prefix: str, domain: str, delivery_id: int, secret: str) -> str:
    """The envelope sender of one tracked copy."""
    return f"{prefix}+{make_token(delivery_id, secret)}@{domain}"


def token_from_address(address: str, prefix: str) -> str:
    """The token part of a VERP address (`prefix+token@domain`), or BadToken."""
    local_part = address.strip().strip("<>").rpartition("@")[0]
    head, plus, token = local_part.partition("+")
    if not plus or head.lower() != prefix.lower() or not token:
        raise BadToken(f"'{address[:120]}' is not a {prefix}+TOKEN address")
    return token


def delivery_from_address(address: str, prefix: str, secret: str) -> int:
    """The delivery id named by a VERP address; BadToken when absent, malformed or forged."""
    return read_token(token_from_address(address, prefix), secret)
