"""RFC 3834 automatic replies: vacation notices, out-of-office messages, autoresponders.

They prove a message reached a mailbox without being a delivery report, so they are kept
apart (kind "auto-reply", empty action) and tried only after every bounce reader.
"""

from __future__ import annotations

import re

from .bounce_text import has_bounce_structure, has_bounce_subject
from .fields import find_addresses, normalize_address
from .message import ReportMessage, is_daemon_address
from .results import RecipientResult, Report

NAME = "rfc3834"
_AUTO_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-auto-reply",
    "x-vacation",
    "x-ms-exchange-inbox-rules-loop",
)
_AUTO_HEADERS_TICKETS = ("rt-ticket", "x-rt-loop-prevention", "x-otrs-loop")
# Searched in the subject after any list or ticket tags: "[#4821] AutoReply: ...".
_SUBJECT = re.compile(
    r"auto(?:matic|matische)?[- ]?(?:reply|response|answer|antwort)|autoreply|auto-?respon"
    r"|out of (?:the )?office|away from (?:the |my )?(?:office|mail|e-?mail|desk)"
    r"|on vacation|vacation (?:reply|notice)|on leave|abwesenheit|nicht im büro|außer haus"
    r"|r[ée]ponse automatique|absent du bureau|risposta automatica|fuori (?:sede|ufficio)"
    r"|respuesta autom[áa]tica|fuera de la oficina|automatisch antwoord|afwezig|autosvar"
    r"|不在|自動返信|自動応答|自动回复|자동 ?응답|автоответ",
    re.IGNORECASE,
)
_BODY = re.compile(
    r"this is an? automatic(?:ally generated)? (?:reply|response|answer|message)"
    r"|automatically generated in response|this is an auto-?(?:reply|response)",
    re.IGNORECASE,
)
# A person's absence notice opens with it; nobody writes that to a list's return path.
_ABSENCE = re.compile(
    r"^\W*(?:i am|i'm|i will be|i'll be)(?: currently)? (?:out of (?:the )?office|away|on"
    r" (?:vacation|holiday|leave|annual leave|parental leave)|travell?ing)"
    r"|^\W*(?:ich bin|ich befinde mich)[^.\n]{0,40}(?:abwesend|nicht im büro|im urlaub)"
    r"|^\W*je suis (?:absent|en congé|en vacances)|^\W*(?:estoy|me encuentro) fuera"
    r"|^\W*sono (?:assente|fuori ufficio|in ferie)",
    re.IGNORECASE,
)
_PRECEDENCE = ("auto_reply", "auto-reply")


def _answers_something(message: ReportMessage) -> bool:
    return bool(message.msg.get("in-reply-to") or message.msg.get("references"))


def looks_automatic(message: ReportMessage) -> bool:
    """Whether the headers, the subject or the opening words say a program answered on the
    recipient's behalf."""
    msg = message.msg
    submitted = (msg.get("auto-submitted") or "").strip().lower()
    if submitted.startswith("auto-replied"):
        return True
    if submitted.startswith("auto-") and _answers_something(message):
        return True  # Exchange and help desks answer with "auto-generated"
    if any(msg.get(name) for name in _AUTO_HEADERS + _AUTO_HEADERS_TICKETS):
        return True
    precedence = (msg.get("precedence") or "").strip().lower()
    if precedence in _PRECEDENCE:
        return True
    if (msg.get("x-apple-action") or "").strip().upper() == "VACATION":
        return True
    if _SUBJECT.search(message.subject):
        return True
    opening = message.notification_text[:2000]
    if _ABSENCE.search(opening.lstrip()):
        return True
    return bool((precedence == "junk" or submitted.startswith("auto-")) and _BODY.search(opening))


def detect(message: ReportMessage) -> Report | None:
    """An auto-reply names the address that answered: its From (or Reply-To, or Sender)."""
    # An auto-reply may quote or discuss bounces; only a report's own marks make it one.
    if not looks_automatic(message) or has_bounce_structure(message):
        return None
    if has_bounce_subject(message):
        return None
    for name in ("from", "reply-to", "sender", "return-path"):
        for address in find_addresses(message.header(name)):
            address = normalize_address(address)
            if not is_daemon_address(address):
                return Report(
                    kind="auto-reply",
                    detector=NAME,
                    original_message_id=(message.msg.get("in-reply-to") or "").strip() or None,
                    recipients=[RecipientResult(address=address, action="", status=None)],
                )
    return None
