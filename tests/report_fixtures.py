"""Reports laid out as real mail systems write them, and a tracked message to file them on.

Postfix DSNs come from the loopback test MTA's writer; Exim, Sendmail, Exchange, the
Outlook read receipt, the feedback report and the vacation reply are built here in the
shape those programs produce (field order, wording, MIME layout), written for these tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ingest import spool
from ingest.report_processing import process_spooled_reports
from ingest.testmta.dsn_writer import DeliveryReport, RecipientReport, write_dsn
from ingest.testmta.handoff import local_delivery_headers
from ingest.testmta.mdn_writer import DispositionReport, write_mdn
from ingest.verp import make_token, verp_address
from listtrack.archive import archive_message
from listtrack.config import SiteConfig
from listtrack.database import make_engine, make_session_factory
from listtrack.lists import create_list, find_list
from listtrack.models import Delivery

POST_ID = "<20251204100000.4821@lists.example.org>"
POST = (
    "Return-Path: <owner@example.org>\n"
    "From: Owner <owner@example.org>\n"
    "To: board@lists.example.org\n"
    "Subject: Board meeting notes\n"
    f"Message-ID: {POST_ID}\n"
    "Date: Thu, 04 Dec 2025 10:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "The notes are attached.\n"
).encode()
WHEN = "Thu, 04 Dec 2025 10:00:01 +0000"


@dataclass
class TrackedMessage:
    """A post to a list with one delivery per recipient, and how to address reports."""

    site: SiteConfig
    message_id: int
    deliveries: dict[str, int]  # recipient -> delivery id

    def token(self, recipient: str) -> str:
        return make_token(self.deliveries[recipient], self.site.secret_key)

    def return_path(self, recipient: str) -> str:
        return verp_address(self.site.bounce_email_prefix, self.site.domain,
                            self.deliveries[recipient], self.site.secret_key)


def make_tracked_message(session: Session, site: SiteConfig, recipients: list[str], *,
                         tracked: bool = True, receptions: dict[str, str] | None = None,
                         post: bytes = POST) -> TrackedMessage:
    """A list, an archived post and its deliveries (status `waiting`, or the option)."""
    mailing_list = find_list(session, "board@lists.example.org") or create_list(
        session, "board@lists.example.org", ["owner@example.org"])
    message = archive_message(session, mailing_list, post).message
    message.dsn_requested = message.mdn_requested = tracked
    session.execute(insert(Delivery), [
        {"message_id": message.id, "recipient": recipient,
         "reception": (receptions or {}).get(recipient, "mail"),
         "status": (receptions or {}).get(recipient, "waiting"), "send_state": "sent"}
        for recipient in recipients
    ])
    ids = dict(session.execute(
        select(Delivery.recipient, Delivery.id).where(Delivery.message_id == message.id)).all())
    session.commit()
    return TrackedMessage(site, message.id, ids)


def file_spooled_reports(site: SiteConfig) -> int:
    """One pass of the worker's report drainer, as `listtrack worker` runs it."""
    engine = make_engine(site.db_url)
    try:
        return process_spooled_reports(site, make_session_factory(engine))
    finally:
        engine.dispose()


def spool_report(site: SiteConfig, raw: bytes, *, recipients: list[list[str]] | None = None,
                 postfix_recipient: str | None = None, received: float | None = None) -> str:
    """Store a report in the spool as the hand-off does; with `postfix_recipient`, as
    Postfix local(8) pipes it (From line, Return-Path, X-Original-To, Delivered-To)."""
    if postfix_recipient:
        raw = local_delivery_headers(raw, postfix_recipient)
    envelope = {"received": received or time.time(), "sender": None,
                "recipients": recipients or []}
    return spool.store(site.spool_path, spool.REPORTS, envelope, raw).name


def postfix_dsn(tracked: TrackedMessage, recipient: str, action: str, *,
                status: str | None = None, envid: bool = True, linesep: str = "\n") -> bytes:
    """A Postfix bounce/delay/success notice for one copy (Postfix's own layout)."""
    now = datetime.now(UTC)
    texts = {
        "failed": ("5.1.1", "smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown "
                            "in virtual mailbox table"),
        "delayed": ("4.2.2", "smtp; 452 4.2.2 <{r}>: Mailbox full"),
        "delivered": ("2.0.0", "X-Postfix; delivered to mailbox"),
        "expanded": ("2.0.0", "X-Postfix; alias expanded"),
        "relayed": ("2.0.0", "X-Postfix; relayed to non-DSN-aware mailer"),
    }
    code, diagnostic = texts[action]
    report = DeliveryReport(
        reporting_mta="mx.example.net",
        envelope_sender=tracked.return_path(recipient),
        arrival=now - timedelta(seconds=5),
        created=now,
        queue_id=f"4Q{time.perf_counter_ns() % 10**9:09d}X",
        recipients=(RecipientReport(
            final_recipient=recipient,
            original_recipient=f"rfc822;{recipient}",
            action="delivered" if action in ("expanded", "relayed") else action,
            status=status or code,
            reason=diagnostic.format(r=recipient).split("; ", 1)[1],
            diagnostic=diagnostic.format(r=recipient),
            remote_mta="dns; mx.example.net" if action in ("failed", "delayed") else None,
        ),),
        envid=tracked.token(recipient) if envid else None,
        ret="HDRS",
    )
    raw = write_dsn(report, POST, linesep)
    if action in ("expanded", "relayed"):  # success notices with their own action word
        raw = raw.replace(b"Action: delivered", f"Action: {action}".encode())
    return raw


def thunderbird_mdn(tracked: TrackedMessage, recipient: str, disposition: str) -> bytes:
    """A Thunderbird read receipt to the Disposition-Notification-To (our VERP address)."""
    return write_mdn(DispositionReport(
        reader=recipient, notify_to=tracked.return_path(recipient), disposition=disposition,
        created=datetime.now(UTC), original_recipient=f"rfc822;{recipient}",
    ), POST)


def exim_dsn(tracked: TrackedMessage, recipient: str) -> bytes:
    """Exim 4 with DSN support: multipart/report, Action before Final-Recipient."""
    boundary = "1733306401-eximdsn-1804289383"
    return f"""Received: from Debian-exim by mail.example.net with local (Exim 4.96)
\tid 1tIxyz-000ABC-2F
\tfor {tracked.return_path(recipient)}; {WHEN}
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mail.example.net>
To: {tracked.return_path(recipient)}
Content-Type: multipart/report; report-type=delivery-status; boundary={boundary}
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tIxyz-000ABC-2F@mail.example.net>
Date: {WHEN}

--{boundary}
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mx.example.net [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--{boundary}
Content-type: message/delivery-status

Reporting-MTA: dns; mail.example.net
Original-Envelope-ID: {tracked.token(recipient)}

Action: failed
Final-Recipient: rfc822;{recipient}
Status: 5.0.0
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--{boundary}
Content-type: text/rfc822-headers

{POST.decode().split(chr(10) + chr(10))[0]}

--{boundary}--
""".encode()


def exim_plain_bounce(tracked: TrackedMessage, recipient: str) -> bytes:
    """Exim without DSN: the plain-text "Mail delivery failed" with the message copy."""
    return f"""Received: from mail by mail.example.net with local (Exim 4.96)
\tid 1tIxyz-000DEF-4q
\tfor {tracked.return_path(recipient)}; {WHEN}
Date: {WHEN}
Message-Id: <E1tIxyz-000DEF-4q@mail.example.net>
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mail.example.net>
To: {tracked.return_path(recipient)}
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    host mx.example.net [192.0.2.20]: 550 5.1.1 <{recipient}>: User unknown

------ This is a copy of the message, including all the headers. ------

{POST.decode()}""".encode()


def sendmail_dsn(tracked: TrackedMessage, recipient: str) -> bytes:
    """Sendmail 8: "Returned mail: see transcript for details", no ENVID echoed."""
    boundary = "4B4A0aB1000123.1733306401/mail.example.com"
    headers = POST.decode().split("\n\n")[0]
    return f"""Received: from localhost (localhost)
\tby mail.example.com (8.17.1.9/8.17.1.9) id 4B4A0aB1000123;
\tThu, 4 Dec 2025 10:00:01 GMT
Date: Thu, 4 Dec 2025 10:00:01 GMT
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.com>
Message-Id: <202512041000.4B4A0aB1000123@mail.example.com>
To: <{tracked.return_path(recipient)}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)

This is a MIME-encapsulated message

--{boundary}

The original message was received at Thu, 4 Dec 2025 10:00:00 GMT
from lists.example.org [192.0.2.1]

   ----- The following addresses had permanent fatal errors -----
<{recipient}>
    (reason: 550 5.1.1 <{recipient}>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.com.:
>>> RCPT To:<{recipient}>
<<< 550 5.1.1 <{recipient}>... User unknown
550 5.1.1 <{recipient}>... User unknown

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
Received-From-MTA: DNS; lists.example.org
Arrival-Date: Thu, 4 Dec 2025 10:00:00 GMT

Final-Recipient: RFC822; {recipient}
Action: failed
Status: 5.1.1
Remote-MTA: DNS; mx.example.com
Diagnostic-Code: SMTP; 550 5.1.1 <{recipient}>... User unknown
Last-Attempt-Date: Thu, 4 Dec 2025 10:00:01 GMT

--{boundary}
Content-Type: text/rfc822-headers

{headers}

--{boundary}--
""".encode()


def exchange_ndr(tracked: TrackedMessage, recipient: str) -> bytes:
    """Exchange Server / Office 365 non-delivery report: alternative text+HTML, then DSN."""
    outer, inner = "_000_DB7PR04MB4321contoso_", "_001_DB7PR04MB4321contoso_"
    return f"""From: Microsoft Outlook
\t<MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.com>
To: <{tracked.return_path(recipient)}>
Date: Thu, 4 Dec 2025 10:00:02 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{outer}"
Content-Language: en-US
X-MS-Exchange-Message-Is-Ndr:
Message-ID: <c5e7a2f0-51a9-4a5b-8c1e-0e7c9b1d2f3a@DB7PR04MB4321.eurprd04.prod.outlook.com>
In-Reply-To: {POST_ID}
Subject: Undeliverable: Board meeting notes
Auto-Submitted: auto-replied
MIME-Version: 1.0

--{outer}
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="{inner}"

--{inner}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to {recipient} couldn't be delivered.
{recipient.split("@")[0]} wasn't found at {recipient.split("@")[1]}.

Diagnostic information for administrators:

Generating server: DB7PR04MB4321.eurprd04.prod.outlook.com

{recipient}
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipien=
t not found by SMTP address lookup'

--{inner}
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><body><p>Your message to {recipient} couldn't be delivered.</p></body></html>

--{inner}--

--{outer}
Content-Type: message/delivery-status

Reporting-MTA: dns;DB7PR04MB4321.eurprd04.prod.outlook.com
Received-From-MTA: dns;lists.example.org
Arrival-Date: Thu, 4 Dec 2025 10:00:00 +0000

Original-Recipient: rfc822;{recipient}
Final-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup

--{outer}
Content-Type: text/rfc822-headers

{POST.decode().split(chr(10) + chr(10))[0]}

--{outer}--
""".encode()


def outlook_mdn(tracked: TrackedMessage, recipient: str, disposition: str) -> bytes:
    """Outlook (through Exchange): "Read:" / "Not read:" receipt, automatic action."""
    boundary = "----=_NextPart_000_0017_01DB4633.7A1B2C30"
    subject = "Read" if disposition == "displayed" else "Not read"
    said = "was read on" if disposition == "displayed" else "was deleted without being read on"
    return f"""From: Erin Example <{recipient}>
To: <{tracked.return_path(recipient)}>
Subject: {subject}: Board meeting notes
Date: Thu, 4 Dec 2025 10:05:00 +0000
Message-ID: <000001db4633$7a1b2c30$6e518490$@contoso.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
\tboundary="{boundary}"
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdtGM3obLDBuUYSQbFGEkA==

This is a multipart message in MIME format.

--{boundary}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

Your message

  To: {recipient}
  Subject: Board meeting notes
  Sent: Thursday, December 4, 2025 10:00:00 AM (UTC+00:00) Dublin, Lisbon

{said} Thursday, December 4, 2025 10:05:00 AM (UTC+00:00) Dublin, Lisbon.

--{boundary}
Content-Type: message/disposition-notification

Reporting-UA: contoso.com; Microsoft Outlook 16.0
Final-Recipient: rfc822;{recipient}
Original-Message-ID: {POST_ID}
Disposition: automatic-action/MDN-sent-automatically; {disposition}

--{boundary}--
""".encode()


def feedback_report(tracked: TrackedMessage, recipient: str) -> bytes:
    """An RFC 5965 abuse report from a mailbox provider's feedback loop."""
    boundary = "part1_13d.2e68ed54_boundary"
    return f"""From: <staff@hotmail.example>
Date: Thu, 4 Dec 2025 11:00:00 +0000
Subject: FW: Board meeting notes
To: <{tracked.return_path(recipient)}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 4 Dec 2025 10:00:00 +0000.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{tracked.return_path(recipient)}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: Thu, 4 Dec 2025 10:00:00 +0000
Reporting-MTA: dns; mail.hotmail.example
Source-IP: 192.0.2.1

--{boundary}
Content-Type: message/rfc822
Content-Disposition: inline

{POST.decode()}
--{boundary}--
""".encode()


def vacation_reply(tracked: TrackedMessage, recipient: str) -> bytes:
    """A Sieve vacation (RFC 5230) answer, sent to the return path as RFC 3834 says."""
    return f"""Date: Thu, 4 Dec 2025 10:00:03 +0000
From: Grace Example <{recipient}>
To: {tracked.return_path(recipient)}
Subject: Auto: Board meeting notes
Auto-Submitted: auto-replied (vacation)
Precedence: bulk
In-Reply-To: {POST_ID}
References: {POST_ID}
Message-ID: <sieve-vacation-1733306403@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

I am away until Monday 8 December and will read your message then.
""".encode()


def outlook_text_receipt(tracked: TrackedMessage, recipient: str) -> bytes:
    """Outlook's plain-text read receipt (no RFC 8098 part), sent to our return path."""
    return f"""Date: Thu, 4 Dec 2025 11:47:03 -0000
From: "Alice Example" <{recipient}>
To: <{tracked.return_path(recipient)}>
Subject: Read: Board meeting notes
Message-ID: <003b01db4647$8a9b0c1d$9fb12453$@example.net>
MIME-Version: 1.0
Content-Type: text/plain;
X-Mailer: Microsoft Outlook 16.0

Your message


was read on Thursday, December 4, 2025 11:47:03 AM (UTC+00:00) London.
""".encode()


def exchange_ndr_in_german(tracked: TrackedMessage, recipient: str) -> bytes:
    """An Office 365 non-delivery report in German, without its delivery-status part."""
    return f"""Date: Thu, 4 Dec 2025 10:00:04 +0000
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.net>
To: <{tracked.return_path(recipient)}>
Subject: Unzustellbar: Board meeting notes
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied
Content-Language: de-DE
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Fehler bei der Nachrichtenzustellung an folgende Empfänger oder Gruppen:

{recipient}
Das Postfach des Empfängers ist voll und kann derzeit keine Nachrichten annehmen.

Diagnoseinformationen für Administratoren:

{recipient}
Remote Server returned '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException'
""".encode()


def out_of_office_about_bounces(tracked: TrackedMessage, recipient: str) -> bytes:
    """An Exchange out-of-office reply whose text talks about bounces: proof of receipt."""
    return f"""Date: Thu, 4 Dec 2025 10:00:05 +0000
From: Alice Example <{recipient}>
To: {tracked.return_path(recipient)}
Subject: Automatic reply: Board meeting notes
Auto-Submitted: auto-generated
X-MS-Exchange-Inbox-Rules-Loop: {recipient}
In-Reply-To: {POST_ID}
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I am out of the office until Monday. We are moving mail systems this week: if you get an
"Undeliverable" notice from us, your message was still delivered. For a "550 5.1.1" error
about a colleague, write to helpdesk@example.net.
""".encode()
