"""Amazon SES event notifications (JSON, often wrapped in an SNS envelope) sent by e-mail:
Bounce, Complaint and Delivery events.

The JSON carries per-recipient action, status and diagnostic, so it is read as faithfully
as a DSN.
"""

from __future__ import annotations

import json

from .fields import find_status, normalize_address, typed_value, unfold
from .message import ReportMessage
from .results import RecipientResult, Report

NAME = "amazonses"
_DECODER = json.JSONDecoder(strict=False)


def _json_object(text: str) -> dict | None:
    """The first JSON object in text, unwrapping an SNS envelope's Message string."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    inner = value.get("Message")
    if isinstance(inner, str) and inner.lstrip().startswith("{"):
        return _json_object(inner)
    return value


def _bounce(event: dict) -> list[RecipientResult]:
    bounce = event.get("bounce") or {}
    default_action = "failed"
    results = []
    for entry in bounce.get("bouncedRecipients") or []:
        if not isinstance(entry, dict) or not entry.get("emailAddress"):
            continue
        diagnostic = typed_value(str(entry.get("diagnosticCode") or ""))[1]
        action = str(entry.get("action") or default_action).lower()
        status = find_status(str(entry.get("status") or "")) or find_status(diagnostic)
        results.append(
            RecipientResult(
                address=normalize_address(str(entry["emailAddress"])),
                action=action,
                status=status or ("5.0.0" if action == "failed" else "4.0.0"),
                diagnostic=unfold(diagnostic),
            )
        )
    return results


def _delivery(event: dict) -> list[RecipientResult]:
    delivery = event.get("delivery") or {}
    response = str(delivery.get("smtpResponse") or "")
    return [
        RecipientResult(
            address=normalize_address(str(address)),
            action="delivered",
            status=find_status(response) or "2.0.0",
            diagnostic=unfold(response),
        )
        for address in delivery.get("recipients") or []
    ]


def _complaint(event: dict) -> list[RecipientResult]:
    complaint = event.get("complaint") or {}
    feedback = str(complaint.get("complaintFeedbackType") or "abuse")
    return [
        RecipientResult(
            address=normalize_address(str(entry.get("emailAddress"))),
            action="",
            feedback_type=feedback,
        )
        for entry in complaint.get("complainedRecipients") or []
        if isinstance(entry, dict) and entry.get("emailAddress")
    ]


def detect(message: ReportMessage) -> Report | None:
    """Read an SES notification's JSON body."""
    text = message.full_text
    if "notificationType" not in text and "eventType" not in text:
        return None
    event = _json_object(text)
    if event is None:
        return None
    kind = str(event.get("notificationType") or event.get("eventType") or "").lower()
    if kind == "bounce":
        report = Report(kind="dsn", detector=NAME, recipients=_bounce(event))
        reporting = str((event.get("bounce") or {}).get("reportingMTA") or "")
        report.reporting_mta = typed_value(reporting)[1] or None
    elif kind == "delivery":
        report = Report(kind="dsn", detector=NAME, recipients=_delivery(event))
    elif kind == "complaint":
        report = Report(kind="arf", detector=NAME, recipients=_complaint(event))
    else:
        return None
    report.original_message_id = _message_id(event.get("mail") or {})
    return report


def _message_id(mail: dict) -> str | None:
    """The sent message's own Message-ID header, when SES echoes the headers back."""
    common = mail.get("commonHeaders") or {}
    if common.get("messageId"):
        return str(common["messageId"])
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            return str(header.get("value"))
    return None
