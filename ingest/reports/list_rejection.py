"""A mailing list that refuses a post from a non-member (fml, Mailman, ezmlm, Sympa).

When a subscriber address is itself a list, its list server answers our message with a
rejection rather than a bounce; the refused recipient is that list's address.
"""

from __future__ import annotations

import re

from .bounce_text import is_own_address
from .fields import ADDRESS, find_addresses, normalize_address
from .message import ReportMessage
from .results import RecipientResult, Report

NAME = "list-rejection"
_LIST_HEADERS = (
    "x-mlserver",
    "mailing-list",
    "list-id",
    "list-post",
    "x-ml-name",
    "x-mailman-version",
)
_LIST_SENDER = re.compile(r"-(?:admin|owner|request|bounces?)@", re.IGNORECASE)
_REFUSAL = re.compile(
    r"not (?:a )?member|only (?:list )?(?:members|subscribers) (?:may|can|are allowed to)"
    r"|not (?:allowed|authori[sz]ed|permitted) to (?:post|send)|non-?member"
    r"|posting (?:is )?(?:restricted|not allowed|denied)",
    re.IGNORECASE,
)
_LIST_ADDRESS = re.compile(r"\blist\b[^@\n]{0,20}?<?(" + ADDRESS.pattern + r")", re.IGNORECASE)


def detect(message: ReportMessage) -> Report | None:
    """The list address named by a non-member refusal, as a failed recipient."""
    msg = message.msg
    from_list = any(msg.get(name) for name in _LIST_HEADERS)
    if not from_list and not _LIST_SENDER.search(message.header("from")):
        return None
    text = message.notification_text
    refusal = _REFUSAL.search(message.subject) or _REFUSAL.search(text)
    if refusal is None:
        return None
    named = [m.group(1) for m in _LIST_ADDRESS.finditer(text)]
    if not named:
        named = find_addresses(str(msg.get("list-post") or ""))
    addresses = [normalize_address(a) for a in named if not is_own_address(message, a)]
    if not addresses:
        return None
    line = next((ln.strip() for ln in text.splitlines() if _REFUSAL.search(ln)), refusal.group(0))
    return Report(
        kind="dsn",
        detector=NAME,
        recipients=[
            RecipientResult(address=addresses[0], action="failed", status="5.7.1", diagnostic=line)
        ],
    )
