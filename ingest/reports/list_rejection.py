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
# A list's role addresses: announce-owner@, announce-request@...; without it, the list.
_ROLE_SUFFIX = re.compile(r"-(?:admin|owner|request|bounces?|help)@", re.IGNORECASE)
_REFUSAL = re.compile(
    r"not (?:a )?member|only (?:list )?(?:members|subscribers) (?:may|can|are allowed to)"
    r"|not (?:allowed|authori[sz]ed|permitted) to (?:post|send)|non-?member"
    r"|posting (?:is )?(?:restricted|not allowed|denied)"
    r"|rejected by the (?:list )?moderator|not accepted by the moderator"
    r"|request to mailing list .{0,60}rejected",
    re.IGNORECASE,
)
# A post held for the moderator is neither delivered nor refused yet.
_HELD = re.compile(
    r"held until the (?:list )?moderator|awaits? (?:the )?moderator(?:'s)? approval"
    r"|is being held|held for (?:moderat\w+|approval|review)",
    re.IGNORECASE,
)
_LIST_ADDRESS = re.compile(
    r"\blist\b[^@\n]{0,20}?<?(" + ADDRESS.pattern + r")"
    r"|<?(" + ADDRESS.pattern + r")>?\s+(?:mailing )?list\b",
    re.IGNORECASE,
)


def _named_lists(message: ReportMessage, text: str) -> list[str]:
    """Where the refusing list is named: its text, then its own headers, then the address it
    writes from with the role suffix (-owner, -request...) taken off."""
    msg = message.msg
    named = [m.group(1) or m.group(2) for m in _LIST_ADDRESS.finditer(text)]
    named += find_addresses(str(msg.get("x-beenthere") or ""))
    named += find_addresses(str(msg.get("list-post") or ""))
    for header in ("from", "sender", "mailing-list"):
        for address in find_addresses(message.header(header)):
            if _ROLE_SUFFIX.search(address):
                named.append(_ROLE_SUFFIX.sub("@", address, count=1))
    return named


def detect(message: ReportMessage) -> Report | None:
    """The list address named by a refusal (failed) or a moderation hold (delayed)."""
    msg = message.msg
    from_list = any(msg.get(name) for name in _LIST_HEADERS)
    if not from_list and not _ROLE_SUFFIX.search(message.header("from")):
        return None
    text = message.notification_text
    refusal = _REFUSAL.search(message.subject) or _REFUSAL.search(text)
    held = _HELD.search(message.subject) or _HELD.search(text)
    if held is not None:
        cause, action, status = _HELD, "delayed", "4.7.1"
    elif refusal is not None:
        cause, action, status = _REFUSAL, "failed", "5.7.1"
    else:
        return None
    addresses = [
        normalize_address(a)
        for a in _named_lists(message, text)
        if not is_own_address(message, a) and not _ROLE_SUFFIX.search(a)
    ]
    if not addresses:
        return None
    matched = (held or refusal).group(0)
    line = next((ln.strip() for ln in text.splitlines() if cause.search(ln)), matched)
    return Report(
        kind="dsn",
        detector=NAME,
        recipients=[
            RecipientResult(address=addresses[0], action=action, status=status, diagnostic=line)
        ],
    )
