"""Delivery status notifications (RFC 3464) laid out exactly as Postfix writes them.

listtrack's report parser must meet the real thing in tests, so the form follows Postfix's
bounce daemon: subjects, the human-readable part, the field order, the boundary shape.
"""

from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.policy import compat32

from ingest.testmta.mail_text import (
    as_text,
    field_block,
    flatten,
    header_block,
    mail_date,
    postfix_message_id,
    wrapped,
)

SUBJECTS = {
    "delivered": "Successful Mail Delivery Report",
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
}

_INTRO = {
    "delivered": (
        "Your message was successfully delivered to the destination(s)\n"
        "listed below. If the message was delivered to mailbox you will\n"
        "receive no further notifications. Otherwise you may still receive\n"
        "notifications of mail delivery errors from other systems.\n"
    ),
    "failed": (
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n"
    ),
    "delayed": (
        "####################################################################\n"
        "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
        "####################################################################\n"
        "\n"
        "Your message could not be delivered for 4.0 hours.\n"
        "It will be retried until it is 5.0 days old.\n"
    ),
}

_ASSISTANCE = (
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n"
)


@dataclass(frozen=True)
class RecipientReport:
    """The per-recipient fields; ``reason`` is the human text after ``<address>: ``."""

    final_recipient: str
    action: str  # delivered | failed | delayed
    status: str
    reason: str
    diagnostic: str  # "smtp; 550 ..." or "X-Postfix; delivered to mailbox"
    original_recipient: str | None = None  # ORCPT after xtext decoding: "rfc822;addr"
    remote_mta: str | None = None  # "dns; host"
    last_attempt: datetime | None = None
    will_retry_until: datetime | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """One DSN: per-message fields, its recipients, and how much of the message to return."""

    reporting_mta: str
    envelope_sender: str
    arrival: datetime
    created: datetime
    queue_id: str
    recipients: tuple[RecipientReport, ...]
    envid: str | None = None  # ENVID after xtext decoding (RFC 3461 section 6.3)
    ret: str | None = None  # FULL | HDRS | None (failures full, the rest headers)
    helo: str = "localhost"

    @property
    def action(self) -> str:
        return self.recipients[0].action


def write_dsn(report: DeliveryReport, original: bytes, linesep: str = "\n") -> bytes:
    """The DSN's bytes, every line ended by ``linesep``, as Postfix would send it."""
    host = report.reporting_mta
    returned = _returned_text(report, original)
    eight_bit = not returned.isascii()

    message = Message()
    created = mail_date(report.created)
    message["Received"] = f"by {host} (Postfix)\n\tid {report.queue_id}; {created}"
    message["Date"] = created
    message["From"] = f"MAILER-DAEMON@{host} (Mail Delivery System)"
    message["Subject"] = SUBJECTS[report.action]
    message["To"] = report.envelope_sender
    message["Auto-Submitted"] = "auto-replied"
    message["MIME-Version"] = "1.0"
    boundary = f"{report.queue_id}.{int(report.created.timestamp())}/{host}"
    message["Content-Type"] = (
        f'multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"'
    )
    if eight_bit:
        message["Content-Transfer-Encoding"] = "8bit"
    message["Message-Id"] = postfix_message_id(report.created, host)
    message.preamble = "This is a MIME-encapsulated message.\n"
    message.set_payload(
        [_notification(report), _delivery_status(report), _returned_part(report, returned)]
    )
    return flatten(message, linesep)


def _notification(report: DeliveryReport) -> Message:
    text = f"This is the mail system at host {report.reporting_mta}.\n\n"
    text += _INTRO[report.action]
    if report.action != "delivered":
        text += "\n" + _ASSISTANCE
    text += "\n                   The mail system\n"
    for rcpt in report.recipients:
        text += "\n" + wrapped(f"<{rcpt.final_recipient}>: {rcpt.reason}") + "\n"
    part = Message()
    part["Content-Description"] = "Notification"
    part["Content-Type"] = "text/plain; charset=us-ascii"
    part.set_payload(text)
    return part


def _delivery_status(report: DeliveryReport) -> Message:
    per_message = [("Reporting-MTA", f"dns; {report.reporting_mta}")]
    if report.envid:
        per_message.append(("Original-Envelope-Id", report.envid))
    per_message += [
        ("X-Postfix-Queue-ID", report.queue_id),
        ("X-Postfix-Sender", f"rfc822; {report.envelope_sender}"),
        ("Arrival-Date", mail_date(report.arrival)),
    ]
    blocks = [field_block(per_message)]
    for rcpt in report.recipients:
        fields = [("Final-Recipient", f"rfc822; {rcpt.final_recipient}")]
        if rcpt.original_recipient:
            fields.append(("Original-Recipient", rcpt.original_recipient))
        fields += [("Action", rcpt.action), ("Status", rcpt.status)]
        if rcpt.remote_mta:
            fields.append(("Remote-MTA", rcpt.remote_mta))
        fields.append(("Diagnostic-Code", _field_wrapped("Diagnostic-Code", rcpt.diagnostic)))
        if rcpt.last_attempt:
            fields.append(("Last-Attempt-Date", mail_date(rcpt.last_attempt)))
        if rcpt.will_retry_until:
            fields.append(("Will-Retry-Until", mail_date(rcpt.will_retry_until)))
        blocks.append(field_block(fields))
    part = Message()
    part["Content-Description"] = "Delivery report"
    part["Content-Type"] = "message/delivery-status"
    part.set_payload(blocks)
    return part


def _field_wrapped(name: str, value: str) -> str:
    """Fold a long field value as Postfix does, by wrapping ``Name: value`` at 79 columns."""
    return wrapped(f"{name}: {value}")[len(name) + 2 :]


def _returns_full(report: DeliveryReport) -> bool:
    if report.ret is not None:
        return report.ret == "FULL"
    return report.action == "failed"


def _returned_text(report: DeliveryReport, original: bytes) -> str:
    """The message as this MTA stored it: its own trace fields, then what it was sent."""
    rcpt = report.recipients[0].final_recipient
    trace = (
        f"Return-Path: <{report.envelope_sender}>\n"
        f"Received: from {report.helo} (localhost [127.0.0.1])\n"
        f"\tby {report.reporting_mta} (Postfix) with ESMTP id {report.queue_id}\n"
        f"\tfor <{rcpt}>; {mail_date(report.arrival)}\n"
    )
    text = trace + as_text(original)
    return text if _returns_full(report) else header_block(text)


def _returned_part(report: DeliveryReport, returned: str) -> Message:
    undelivered = "Undelivered " if report.action != "delivered" else ""
    part = Message()
    if _returns_full(report):
        part["Content-Description"] = f"{undelivered}Message"
        part["Content-Type"] = "message/rfc822"
        part.set_payload([email.message_from_string(returned, policy=compat32)])
    else:
        part["Content-Description"] = f"{undelivered}Message Headers"
        part["Content-Type"] = "text/rfc822-headers"
        part.set_payload(returned)
    if not returned.isascii():
        part["Content-Transfer-Encoding"] = "8bit"
    return part
