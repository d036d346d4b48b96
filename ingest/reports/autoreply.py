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
_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic|matische)?[- ]?(?:reply|response|answer|antwort)"
    r"|out of (?:the )?office|away from (?:the |my )?office|on vacation|vacation reply"
    r"|abwesenheit|r[ée]ponse automatique|risposta automatica|respuesta autom[áa]tica"
    r"|automatisch antwoord|autosvar|不在)",
    re.IGNORECASE,
)
_PRECEDENCE = ("auto_reply", "auto-reply")


def looks_automatic(message: ReportMessage) -> bool:
    """Whether the headers say a program answered on the recipient's behalf."""
    msg = message.msg
    submitted = (msg.get("auto-submitted") or "").strip().lower()
    if submitted.startswith("auto-replied"):
        return True
    if any(msg.get(name) for name in _AUTO_HEADERS):
        return True
    if (msg.get("precedence") or "").strip().lower() in _PRECEDENCE:
        return True
    if (msg.get("x-apple-action") or "").strip().upper() == "VACATION":
        return True
    subject = message.subject
    if subject.lower().startswith(("re:", "aw:", "fw:", "fwd:")):
        subject = subject[subject.index(":") + 1 :]
    return bool(_SUBJECT.match(subject))


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
