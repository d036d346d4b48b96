"""Bounces that name the recipient inside a sentence rather than on a line of its own:
"Could not be delivered to: <addr>", "Unknown user: addr", "RCPT TO:<addr>", and so on.

Tried after the line-layout readers, since a phrase can also mention other addresses.
"""

from __future__ import annotations

import re

from .bounce_text import LINE_CONTINUES, is_own_address, looks_like_bounce
from .fields import ADDRESS
from .message import ReportMessage
from .recipient_blocks import prefer_real_recipients, results_from
from .results import Report

NAME = "recipient-phrases"
_PHRASE = re.compile(
    r"(?:(?:could|can)(?:n't| ?not) be delivered to|(?:was|were) not delivered to|not delivered to"
    r"|unable to deliver (?:the |this |your )?(?:message |mail |e-?mail )?to"
    r"|undeliverable to|undeliverable:|failed to deliver to|delivery (?:to|failed|failure)\b"
    r"|error (?:delivering|sending) (?:your )?(?:mail|message|e-?mail) to"
    r"|did not reach the following recipients?|did not reach"
    r"|(?:unknown|invalid|bad|disabled|non-?existent)\b[\w ]{0,30}?\b"
    r"(?:user(?:id|name)?|recipient|address(?:ee)?|mailbox|account)"
    r"|user unknown|no such (?:user|recipient|mailbox)|rcpt to|recipient(?:'s)?(?: address)?"
    r"|returned (?:permanent |temporary )?errors?|failed recipients?|following recipients?"
    r"|following address(?:es)?|your (?:message|e-?mail|mail|fax|sms|text|mms) to"
    r"|mailbox (?:is )?(?:full|unavailable)"
    r"|(?:message|mail|e-?mail) (?:that )?you sent to|(?:message|mail) from \S+ to"
    r"|message could not be delivered to|delivered to the following|following message to"
    r"|宛先|あて先|送信先|收件人|收信人|收件者|받는 ?사람|수신자|получател[ья]|адресат)",
    re.IGNORECASE,
)
_PHRASED_ADDRESS = re.compile(
    _PHRASE.pattern + r"[^@\n]{0,40}?<?(?P<address>" + ADDRESS.pattern + r")",
    re.IGNORECASE,
)
# A server's reply quoting the address: "550 5.1.1 <a@x>... User unknown", "550 <a@x>: Recipient
# address rejected", "552 5.2.2 <a@x> Mailbox quota exceeded".
_REPLY_NAMING = re.compile(
    r"(?<![\w.])[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3}[ -])?\s*<(?P<address>"
    + ADDRESS.pattern
    + r")>(?:(?:\.\.\.|:)\s*|\s+)\S",
    re.IGNORECASE,
)
# "...returned permanent errors: a@x, b@y." names several at once.
_LISTED_NEXT = re.compile(r"[>\"']?\s*(?:,|;|and)\s*[<\"']?(?P<address>" + ADDRESS.pattern + r")")
_CONTEXT_LINES = 40

MAX_WRAPPED = 50


_ONLY_ADDRESSES = re.compile(
    r"^\s*(?:<?" + ADDRESS.pattern + r">?\s*[,;]?\s*)+$"
)
_HAS_REPLY = re.compile(r"(?<![\w.])[45]\d\d[ -]|[45]\.\d{1,3}\.\d{1,3}")


def _wrapped_list(lines: list[str], number: int, column: int) -> list[str]:
    """Addresses continuing a recipient list on the lines below, indented under the first."""
    more: list[str] = []
    for line in lines[number + 1 : number + 1 + MAX_WRAPPED]:
        indent = len(line) - len(line.lstrip())
        if not _ONLY_ADDRESSES.match(line) or indent < column:
            break
        more += [m.group(0).strip("<>") for m in ADDRESS.finditer(line)]
    return more


def _detail_after(lines: list[str], number: int) -> list[str]:
    """The phrase's line and its paragraph; when neither gives the server's reply, also
    the next paragraph if it opens with one ("There was an error delivering your mail to
    x." then the reply)."""
    detail = [lines[number].strip()]
    below = lines[number + 1 : number + 8]
    for index, following in enumerate(below):
        if following.strip():
            detail.append(following.strip())
            continue
        rest = below[index + 1 :]
        opening = "\n".join(rest[:3])
        if _HAS_REPLY.search("\n".join(detail)) or not _HAS_REPLY.search(opening):
            break
        for line in rest:
            if not line.strip():
                break
            detail.append(line.strip())
        break
    return detail


def detect(message: ReportMessage) -> Report | None:
    """Collect addresses that follow a failure phrase on the same line."""
    if not looks_like_bounce(message):
        return None
    text = message.notification_text
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        if LINE_CONTINUES.search(line) and number + 1 < len(lines) and lines[number + 1].strip():
            line = line.rstrip() + " " + lines[number + 1].strip()  # a wrapped sentence
        for match in [*_PHRASED_ADDRESS.finditer(line), *_REPLY_NAMING.finditer(line)]:
            addresses = [match.group("address")]
            position = match.end()
            while listed := _LISTED_NEXT.match(line, position):
                addresses.append(listed.group("address"))
                position = listed.end()
            column = line.find(addresses[-1])
            if line[position:].strip(" >\"'.,;") == "":
                addresses += _wrapped_list(lines, number, column)
            detail = _detail_after(lines, number)
            context = "\n".join(lines[number + 1 : number + _CONTEXT_LINES])
            for address in addresses:
                if not is_own_address(message, address):
                    found.append((address, "\n".join(detail), context))
    found = prefer_real_recipients(message, found)
    if not found:
        return None
    return results_from(message, found, NAME)
