"""The commonest plain-text bounce layout: each failed address on a line of its own, its error
text on the lines below (or after a colon on the same line).

Exim, qmail, Postfix's notice, Yahoo, Gmail, GMX, Mail.ru, OpenSMTPD, Zoho, Exchange,
Domino and many appliances write it; reading the layout, not each product's sentences,
keeps unseen variants working.
"""

from __future__ import annotations

import re

from .bounce_text import (
    LINE_CONTINUES,
    clean_diagnostic,
    error_lines,
    has_error_words,
    is_delay_warning,
    is_own_address,
    is_success_notice,
    looks_like_bounce,
    recipient_result,
    status_in,
    wording_report,
)
from .fields import ADDRESS, find_addresses, normalize_address
from .message import ReportMessage, is_daemon_address
from .results import Report

NAME = "recipient-blocks"
# A line led by an address: indentation, an optional bullet, an optional label naming it
# ("Addressee:", PMDF and Notes-like notices), optional <> or quotes.
_LEAD = re.compile(
    r"^[ \t\u3000]*(?:[*>•·-]+[ \t]*|\d{1,2}[.)][ \t]+)?"
    r"(?:(?i:addressee|recipient(?: address)?|failed recipient|original (?:address|recipient)"
    r"|final recipient|empfänger|destinataire|destinatario|收件人|收信人|收件者|받는 ?사람|수신자"
    r"|宛先|送信先|送付先|получатель|адресат)[ \t\u3000]*[:：][ \t\u3000]*)?"
    r"[<\"'\[]?(?P<address>" + ADDRESS.pattern + r")"
    r"[>\"'\]]?(?P<rest>(?:[\s:;,.(\[<]|\.\.\.|$).*)$"
)
# Exchange/Office 365 also write "Display Name (addr)<mailto:addr>" on a line of its own.
_NAMED_LEAD = re.compile(
    r"^[ \t]*[^@\n<(]{1,60}\((?P<address>" + ADDRESS.pattern + r")\)(?:<mailto:[^>]*>)?[ \t]*$"
)
# A display name (quoted, or a few capitalised words) then the address in angle brackets:
# '"Ivan Jones" <ivan@x>', 'Kevin Lee <k@x>'.
_NAME_ADDR_LEAD = re.compile(
    r"^[ \t]*(?:\"[^\"\n]{1,60}\"|(?:[A-Z][\w.'-]*[ \t]+){0,3}[A-Z][\w.'-]*)[ \t]*<(?P<address>"
    + ADDRESS.pattern
    + r")>(?P<rest>.*)$"
)
_MAILTO = re.compile(r"<mailto:[^>]*>")
_SEPARATOR = re.compile(r"^\s*(?:[-=_*#|]{3,}|\*\*)")
_MAX_DETAIL_LINES = 12
MAX_RECIPIENTS = 1000
# A paragraph that announces the list of failed addresses below it.
_INTRODUCES_RECIPIENTS = re.compile(
    r"recipient|address|deliver|destinat|not (?:be )?(?:sent|reach)|failed|undeliver|mailbox"
    r"|empfänger|zugestellt|destinatari|consegna|entrega|příjemc|doruč"
    r"|宛先|アドレス|получател|адрес|доставлен|收件人|收信人|받는 ?사람|수신자",
    re.IGNORECASE,
)
# "<alias> (expanded from\n    <list@...>)": the second address is where it came from.
_ALIAS_OF = re.compile(r"(?:expanded|generated|forwarded|aliased|redirected) (?:from|by):?\s*$")


def lead_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, address, rest of the line) for every address-led line of text."""
    found = []
    for number, line in enumerate(text.splitlines()):
        match = _LEAD.match(line) or _NAMED_LEAD.match(line) or _NAME_ADDR_LEAD.match(line)
        if match:
            rest = match.group("rest") if "rest" in match.groupdict() else ""
            found.append((number, match.group("address"), rest))
    return found


def _detail(lines: list[str], start: int, stop: int, rest: str, address: str) -> str:
    """The error text of one block: the rest of its lead line and the lines below it.

    A paragraph ending in ":" ("because:", "Technical details:") runs on into the next.
    """
    rest = _MAILTO.sub(" ", rest).lstrip()
    for form in (f"<{address}>", address):  # the address repeated ("a@x (a@x)")
        if rest.startswith(form):
            rest = rest[len(form) :]
            break
    rest = rest.strip(" \t:;,.")
    collected = [rest] if rest else []
    for line in lines[start + 1 : stop][: _MAX_DETAIL_LINES * 2]:
        if not line.strip():
            if collected and not collected[-1].endswith(":"):
                break
            continue
        if _SEPARATOR.match(line):
            if collected:
                break
            continue
        collected.append(line.strip())
        if len(collected) >= _MAX_DETAIL_LINES:
            break
    return "\n".join(collected)


def _preceding(lines: list[str], number: int) -> str:
    """The paragraph just above a lead line (Notes and MailMarshal give the reason first)."""
    above: list[str] = []
    for line in reversed(lines[max(0, number - _MAX_DETAIL_LINES) : number]):
        if not line.strip() or _SEPARATOR.match(line):
            if above:
                break
            continue
        above.insert(0, line.strip())
    return "\n".join(above)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _continues_block(lines: list[str], lead: int, number: int) -> bool:
    """Whether an address line indented deeper than the block's lead, with no blank line
    between, is the block's error text wrapped onto it ("250 2.6.0\n    <id@host> Queued")."""
    if _indent(lines[number]) <= _indent(lines[lead]):
        return False
    return all(line.strip() for line in lines[lead + 1 : number])


def candidates(message: ReportMessage) -> list[tuple[str, str, str]]:
    """(address, error text, text down to the next block) for each address-led block."""
    text = message.notification_text
    lines = text.splitlines()
    leads: list[tuple[int, str, str]] = []
    for number, address, rest in lead_lines(text):
        if is_own_address(message, address):
            continue
        previous = lines[number - 1] if number else ""
        if _ALIAS_OF.search(previous):
            continue
        if leads and leads[-1][1] == address and lines[number][:1].isspace():
            continue
        if leads and _continues_block(lines, leads[-1][0], number):
            continue
        after_lead = bool(leads) and leads[-1][0] == number - 1
        if number and LINE_CONTINUES.search(previous) and not after_lead:
            continue  # the end of a wrapped sentence, read by the phrase reader
        leads.append((number, address, rest))
        if len(leads) >= MAX_RECIPIENTS:
            break
    out = []
    success = is_success_notice(message)
    details = _block_details(lines, leads)
    introduced = bool(leads) and bool(_INTRODUCES_RECIPIENTS.search(_preceding(lines, leads[0][0])))
    run_start = 0
    for index, (number, address, _rest) in enumerate(leads):
        stop = leads[index + 1][0] if index + 1 < len(leads) else len(lines)
        following = "\n".join(lines[number + 1 : stop])
        detail = details[index]
        # Addresses on consecutive lines form one list, introduced by the paragraph above it.
        if index and not (number == leads[index - 1][0] + 1 and not leads[index - 1][2].strip()):
            run_start = index
        above = _preceding(lines, leads[run_start][0]) if run_start == 0 else ""
        if not has_error_words(detail) and has_error_words(above):
            detail = "\n".join(filter(None, [above, detail]))
        if has_error_words(detail) or _INTRODUCES_RECIPIENTS.search(above):
            out.append((address, detail, following))
        elif introduced and _same_layout(lines, leads[0][0], number):
            out.append((address, detail, following))  # a later block of the introduced list
        elif success and detail.strip():
            out.append((address, detail, following))  # "delivered to mailbox"
    return out


def _same_layout(lines: list[str], first: int, number: int) -> bool:
    """Whether a block's address line looks like the list's first one (indent and brackets),
    with no separator line between them."""
    if _indent(lines[number]) != _indent(lines[first]):
        return False
    if lines[number].lstrip()[:1] != lines[first].lstrip()[:1]:
        return False
    return not any(_SEPARATOR.match(line) for line in lines[first:number])


def _bare(rest: str) -> bool:
    return not rest.strip(" \t:;,.")


def _reasons_above(lines: list[str], leads: list[tuple[int, str, str]]) -> bool:
    """Whether each bare address line has its reason on the line just above it (Notes'
    "Failure Reasons": reason, address, reason, address)."""
    numbers = {number for number, _address, _rest in leads}
    for number, _address, rest in leads:
        above = lines[number - 1] if number else ""
        if not _bare(rest) or not above.strip() or number - 1 in numbers:
            return False
        if not has_error_words(above):
            return False
    last = leads[-1][0] if leads else 0
    return bool(leads) and (last + 1 >= len(lines) or not lines[last + 1].strip())


def _block_details(lines: list[str], leads: list[tuple[int, str, str]]) -> list[str]:
    """The error text of each address block; bare addresses listed on consecutive lines
    share the text under the last of them."""
    if _reasons_above(lines, leads):
        details = []
        for index, (number, _address, _rest) in enumerate(leads):
            start = leads[index - 1][0] + 1 if index else number - 1
            details.append("\n".join(ln.strip() for ln in lines[start:number] if ln.strip()))
        return details
    details = []
    for index, (number, address, rest) in enumerate(leads):
        stop = leads[index + 1][0] if index + 1 < len(leads) else len(lines)
        details.append(_detail(lines, number, stop, rest, address))
    end = len(leads) - 1
    while end > 0:
        start = end
        while (start > 0 and leads[start][0] == leads[start - 1][0] + 1
               and _bare(leads[start - 1][2])):
            start -= 1
        for member in range(start, end):
            if not details[member].strip():
                details[member] = details[end]
        end = start - 1
    return details


def prefer_real_recipients(
    message: ReportMessage, found: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """Drop daemon and original-sender addresses when real recipients are also named."""
    attached = message.attached_message
    senders: set[str] = set()
    if attached is not None:
        for name in ("from", "sender", "return-path"):
            senders.update(a.lower() for a in find_addresses(str(attached.get(name) or "")))
    kept = [
        item
        for item in found
        if not is_daemon_address(item[0]) and normalize_address(item[0]).lower() not in senders
    ]
    return kept or found


def _better_detail(earlier: str, later: str) -> bool:
    """Whether a later block for the same address says more: an error where the first had
    none, or a permanent reply after a temporary one (the last attempt's verdict)."""
    if not has_error_words(earlier):
        return has_error_words(later)
    first, last = status_in(earlier, ""), status_in(later, "")
    return bool(first and last and first[0] == "4" and last[0] == "5")


def results_from(message: ReportMessage, found: list[tuple[str, str, str]], name: str) -> Report:
    """Turn (address, detail, following text) candidates into a wording-based Report.

    An address named twice keeps its first block, unless a later one says more (see
    _better_detail).
    """
    action = "delayed" if is_delay_warning(message) else "failed"
    blocks: dict[str, tuple[str, str, str]] = {}
    for address, detail, following in found[:MAX_RECIPIENTS]:
        key = normalize_address(address).lower()
        if key not in blocks:
            blocks[key] = (address, detail, following)
        elif _better_detail(blocks[key][1], detail):
            blocks[key] = (blocks[key][0], detail, following)
    whole = message.notification_text
    results = []
    for address, detail, following in blocks.values():
        result = recipient_result(address, detail, action)
        if status_in(detail, "") is None:
            context = following if len(blocks) > 1 else following + "\n" + whole
            status = status_in(context, "")
            if status is None and (result.status or "").endswith(".0.0"):
                status = status_in(context, result.action)  # the detail from the words
            if status is not None:
                result.status = status
            if not has_error_words(result.diagnostic) and not is_success_notice(message):
                lines = error_lines(following) or _whole_errors(message)
                result.diagnostic = clean_diagnostic(lines) or result.diagnostic
        results.append(result)
    return wording_report(message, name, results)


def _whole_errors(message: ReportMessage) -> str:
    return message.remember("error_lines", lambda: error_lines(message.notification_text))


def detect(message: ReportMessage) -> Report | None:
    """Read address-led blocks; with none, trust X-Failed-Recipients (Exim, Gmail)."""
    if not looks_like_bounce(message):
        return None
    found = prefer_real_recipients(message, candidates(message))
    if not found:
        # The header is written by the MTA itself, so even the sender's own address counts.
        header = " ".join(str(v) for v in message.msg.get_all("x-failed-recipients") or [])
        addresses = find_addresses(header)
        text = message.notification_text
        found = [(address, "", text) for address in addresses]
    if not found:
        return None
    return results_from(message, found, NAME)
