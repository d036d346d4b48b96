"""Sendmail-style notices without a usable DSN part: "----- The following addresses had
permanent fatal errors -----" sections and "----- Transcript of session follows -----".

Old Sendmail (V5/V8 without DSN), its look-alikes (InterScan, ActiveHunter, many
appliances) and Biglobe write these; the transcript's "550 <addr>... reason" lines name
recipients even when no section does.
"""

from __future__ import annotations

import re

from .bounce_text import (
    is_delay_warning,
    is_own_address,
    looks_like_bounce,
    recipient_result,
    status_in,
    wording_report,
)
from .fields import ADDRESS
from .message import ReportMessage
from .recipient_blocks import lead_lines
from .results import Report

NAME = "sendmail"
# Titles may hold single hyphens ("transient non-fatal errors").
_SECTION = re.compile(
    r"^\s*-{2,}\s*(?P<title>(?:[^-\n]|-(?!-))*?(?:address|recipient)(?:[^-\n]|-(?!-))*?)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ANY_SECTION = re.compile(r"^\s*-{2,}\s*\S.*?-{2,}\s*$", re.MULTILINE)
_TRANSCRIPT = re.compile(r"^\s*-{2,}\s*transcript of session follows\s*-{2,}", re.I | re.M)
_TRANSCRIPT_LINE = re.compile(
    r"^\s*(?P<code>[245]\d\d)[ -](?:(?P<status>[245]\.\d{1,3}\.\d{1,3}) )?"
    r"<?(?P<address>" + ADDRESS.pattern + r")>?\.\.\.\s*(?P<reason>.*)$",
    re.MULTILINE,
)
_TRANSIENT = re.compile(r"transient|non-fatal|delayed|warning", re.IGNORECASE)
# "(expanded from: <list@x>)" under an address: the address the sender wrote, which is
# also what Sendmail's own DSN names as the Final-Recipient.
_EXPANDED_FROM = re.compile(r"\(expanded from:?\s*<?(?P<address>" + ADDRESS.pattern + r")>?\s*\)")


def _sections(text: str) -> list[tuple[str, str]]:
    """(title, body) of each "----- ... address ... -----" section."""
    out = []
    for match in _SECTION.finditer(text):
        following = _ANY_SECTION.search(text, match.end())
        end = following.start() if following else len(text)
        out.append((match.group("title"), text[match.end() : end]))
    return out


def detect(message: ReportMessage) -> Report | None:
    """Read the address sections, with the transcript lines that explain each address."""
    text = message.notification_text
    sections = _sections(text)
    transcript = _TRANSCRIPT.search(text)
    if not sections and not transcript:
        return None
    if not looks_like_bounce(message):
        return None
    explained: dict[str, list[str]] = {}
    transcript_order: list[str] = []
    if transcript:
        for match in _TRANSCRIPT_LINE.finditer(text, transcript.end()):
            if match.group("code")[0] == "2":
                continue
            address = match.group("address")
            key = address.lower()
            if key not in explained:
                transcript_order.append(address)
            explained.setdefault(key, []).append(match.group(0).strip())
    warning = is_delay_warning(message)
    results = []
    for title, body in sections:
        action = "delayed" if warning or _TRANSIENT.search(title) else "failed"
        for _number, address, rest in lead_lines(body):
            if is_own_address(message, address):
                continue
            rest = rest.replace(address, " ").strip(" <>[]():")
            parts = [rest, _indented_after(body, address)]
            detail = "\n".join(p for p in [*parts, *explained.get(address.lower(), [])] if p)
            expanded = _EXPANDED_FROM.search(parts[1])
            if expanded and not is_own_address(message, expanded.group("address")):
                address = expanded.group("address")
            results.append(recipient_result(address, detail, action))
    if not results:
        action = "delayed" if warning else "failed"
        for address in transcript_order:
            if not is_own_address(message, address):
                detail = "\n".join(explained[address.lower()])
                results.append(recipient_result(address, detail, action))
    if not results:
        return None
    if len(results) == 1 and status_in(results[0].diagnostic, "") is None:
        results[0].status = status_in(text[transcript.end() :] if transcript else text, action)
    return wording_report(message, NAME, results)


def _indented_after(body: str, address: str) -> str:
    """The indented reason lines under an address in a section ("(reason: 550 ...)")."""
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if address in line:
            reasons = []
            for following in lines[index + 1 :]:
                if not following[:1].isspace() or not following.strip():
                    break
                reasons.append(following.strip())
            return "\n".join(reasons)
    return ""
