"""parse_report on reports built the way real mail systems build them.

Each test writes the report its system sends (headers, MIME layout, wording) and checks
the fields the tracking depends on. No database, no Flask.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.reports import RecipientResult, Report, parse_report, report_as_json

REPO_ROOT = Path(__file__).resolve().parent.parent


def crlf(text: str) -> bytes:
    """Messages travel with CRLF line ends; the parser must not care."""
    return text.replace("\n", "\r\n").encode("utf-8")


# --- Postfix -----------------------------------------------------------------------------

POSTFIX_FAILED = """\
Return-Path: <>
Received: by mx.example.org (Postfix)
\tid 4Q1xYz0abcZ; Tue,  5 Mar 2024 09:12:44 +0100 (CET)
Date: Tue,  5 Mar 2024 09:12:44 +0100 (CET)
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounce+Zk3qT0k3n@lists.example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Q1xYz0abcZ.1709626364/mx.example.org"
Content-Transfer-Encoding: 8bit
Message-Id: <20240305081244.4Q1xYz0abcZ@mx.example.org>

This is a MIME-encapsulated message.

--4Q1xYz0abcZ.1709626364/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<alice@Example.NET> (expanded from <team-alice@example.org>): host
    mail.example.net[192.0.2.25] said: 550 5.1.1 <alice@example.net>:
    Recipient address rejected: User unknown (in reply to RCPT TO command)

<bob@example.com>: host mx.example.com[198.51.100.7] said: 552 5.2.2 Mailbox
    full (in reply to RCPT TO command)

--4Q1xYz0abcZ.1709626364/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 4Q1xYz0abcZ
X-Postfix-Sender: rfc822; bounce+Zk3qT0k3n@lists.example.org
Original-Envelope-Id: Zk3qT0k3n+2B42
Arrival-Date: Tue,  5 Mar 2024 09:12:40 +0100 (CET)

Final-Recipient: rfc822; alice@Example.NET
Original-Recipient: rfc822;team-alice@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.net
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address
    rejected: User unknown

Final-Recipient: rfc822; bob@example.com
Original-Recipient: rfc822;bob@example.com
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--4Q1xYz0abcZ.1709626364/mx.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <bounce+Zk3qT0k3n@lists.example.org>
Received: from lists.example.org (lists.example.org [192.0.2.10])
\tby mx.example.org (Postfix) with ESMTPS id 4Q1xYz0abcZ
\tfor <team-alice@example.org>; Tue,  5 Mar 2024 09:12:40 +0100 (CET)
From: Carol <carol@example.org>
To: team@lists.example.org
Subject: [team] Agenda
Message-ID: <agenda-2024-03@example.org>
Date: Tue, 5 Mar 2024 09:12:38 +0100

--4Q1xYz0abcZ.1709626364/mx.example.org--
"""


def test_postfix_dsn_reads_every_recipient_and_the_envelope():
    report = parse_report(crlf(POSTFIX_FAILED))
    assert report.kind == "dsn"
    assert report.detector == "rfc3464"
    assert report.envelope_id == "Zk3qT0k3n+42"  # xtext: "+2B" is "+"
    assert report.reporting_mta == "mx.example.org"
    assert report.arrival_date == datetime(
        2024, 3, 5, 9, 12, 40, tzinfo=timezone(timedelta(hours=1))
    )
    assert report.original_message_id == "<agenda-2024-03@example.org>"
    alice, bob = report.recipients
    assert alice.address == "alice@example.net"  # domain lower-cased
    assert alice.original_recipient == "team-alice@example.org"
    assert (alice.action, alice.status) == ("failed", "5.1.1")
    assert (
        alice.diagnostic
        == "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown"
    )
    assert alice.remote_mta == "mail.example.net"
    assert (bob.address, bob.action, bob.status) == ("bob@example.com", "failed", "5.2.2")
    assert report.problems == []


def test_postfix_delay_and_success_reports():
    delayed = (
        POSTFIX_FAILED.replace(
            "Undelivered Mail Returned to Sender", "Delayed Mail (still being retried)"
        )
        .replace(
            "Action: failed\nStatus: 5.1.1",
            "Action: delayed\nStatus: 4.4.1\n"
            "Will-Retry-Until: Fri,  8 Mar 2024 09:12:40 +0100 (CET)",
        )
        .replace("Action: failed\nStatus: 5.2.2", "Action: delivered\nStatus: 2.0.0")
        .replace("smtp; 552 5.2.2 Mailbox full", "smtp; 250 2.0.0 Ok: queued as 9F8E7D")
    )
    report = parse_report(delayed.encode())
    assert [(r.action, r.status) for r in report.recipients] == [
        ("delayed", "4.4.1"),
        ("delivered", "2.0.0"),
    ]


def test_postfix_alias_expanded_then_failed():
    text = POSTFIX_FAILED.replace(
        "Final-Recipient: rfc822; bob@example.com\nOriginal-Recipient: rfc822;bob@example.com\n"
        "Action: failed",
        "Final-Recipient: rfc822; bob@example.com\nOriginal-Recipient: rfc822;bob@example.com\n"
        "Action: expanded",
    ).replace("Status: 5.2.2", "Status: 2.0.0")
    report = parse_report(text.encode())
    assert [r.action for r in report.recipients] == ["failed", "expanded"]


def test_dsn_without_blank_lines_and_with_odd_case_still_splits_recipients():
    status = (
        "reporting-mta: dns; relay.example.org\n"
        "final-recipient: RFC822; one@example.com\n"
        "ACTION: Failed\n"
        "status: 5.1.1 (bad destination mailbox address)\n"
        "final-recipient: RFC822; two@example.com\n"
        "action: delayed\n"
        "status: 4.4.7\n"
    )
    raw = (
        "From: postmaster@relay.example.org\nTo: sender@example.org\nSubject: DSN\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; boundary="xx"\n\n'
        "--xx\nContent-Type: text/plain\n\nSee the report.\n\n"
        f"--xx\nContent-Type: message/delivery-status\n\n{status}\n--xx--\n"
    )
    report = parse_report(raw.encode())
    assert [(r.address, r.action, r.status) for r in report.recipients] == [
        ("one@example.com", "failed", "5.1.1"),
        ("two@example.com", "delayed", "4.4.7"),
    ]
    assert report.reporting_mta == "relay.example.org"


# --- Sendmail, Exim, qmail ---------------------------------------------------------------

SENDMAIL = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.edu>
To: <sender@example.org>
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="w9TKQ1P7018234.1540929562/mail.example.edu"
Date: Tue, 30 Oct 2018 15:59:22 -0400 (EDT)

This is a MIME-encapsulated message

--w9TKQ1P7018234.1540929562/mail.example.edu

The original message was received at Tue, 30 Oct 2018 15:59:21 -0400 (EDT)
from lists.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<dana@example.edu>
    (reason: 550 5.1.1 <dana@example.edu>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.edu.:
>>> RCPT To:<dana@example.edu>
<<< 550 5.1.1 <dana@example.edu>... User unknown
550 5.1.1 <dana@example.edu>... User unknown

--w9TKQ1P7018234.1540929562/mail.example.edu
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.edu
Received-From-MTA: DNS; lists.example.org
Arrival-Date: Tue, 30 Oct 2018 15:59:21 -0400 (EDT)

Final-Recipient: RFC822; dana@example.edu
Action: failed
Status: 5.1.1
Remote-MTA: DNS; mx.example.edu
Diagnostic-Code: SMTP; 550 5.1.1 <dana@example.edu>... User unknown
Last-Attempt-Date: Tue, 30 Oct 2018 15:59:22 -0400 (EDT)

--w9TKQ1P7018234.1540929562/mail.example.edu
Content-Type: message/rfc822

Return-Path: <sender@example.org>
From: sender@example.org
To: dana@example.edu
Subject: hello
Message-Id: <hello-1@example.org>

hello

--w9TKQ1P7018234.1540929562/mail.example.edu--
"""


def test_sendmail_dsn():
    report = parse_report(SENDMAIL.encode())
    (dana,) = report.recipients
    assert (dana.address, dana.action, dana.status) == ("dana@example.edu", "failed", "5.1.1")
    assert dana.diagnostic == "550 5.1.1 <dana@example.edu>... User unknown"
    assert dana.last_attempt_date == datetime(
        2018, 10, 30, 15, 59, 22, tzinfo=timezone(timedelta(hours=-4))
    )
    assert report.original_message_id == "<hello-1@example.org>"


def test_sendmail_without_dsn_reads_the_transcript():
    text = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@old.example.com>
To: sender@example.org
Subject: Returned mail: User unknown

   ----- Transcript of session follows -----
While talking to mx.example.net:
>>> RCPT To:<erin@example.net>
<<< 550 <erin@example.net>... User unknown
550 <erin@example.net>... User unknown
554 <frank@example.net>... Service unavailable

   ----- Unsent message follows -----
From: sender@example.org
To: erin@example.net, frank@example.net
Subject: hi

hi
"""
    report = parse_report(text.encode())
    assert report.kind == "dsn"
    assert [(r.address, r.action) for r in report.recipients] == [
        ("erin@example.net", "failed"),
        ("frank@example.net", "failed"),
    ]


EXIM = """\
Return-path: <>
X-Failed-Recipients: gina@example.net
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@smtp.example.org>
To: bounce+Zk3qT0k3n@lists.example.org
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1rhX2B-0004Qd-0T@smtp.example.org>
Date: Tue, 05 Mar 2024 09:30:01 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gina@example.net
    host mx.example.net [203.0.113.5]
    SMTP error from remote mail server after RCPT TO:<gina@example.net>:
    550 5.1.1 <gina@example.net>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <bounce+Zk3qT0k3n@lists.example.org>
From: carol@example.org
To: team@lists.example.org
Subject: [team] Agenda
Message-ID: <agenda-2024-03@example.org>

Agenda.
"""


def test_exim_plain_text_bounce():
    report = parse_report(crlf(EXIM))
    assert report.kind == "dsn"
    (gina,) = report.recipients
    assert (gina.address, gina.action, gina.status) == ("gina@example.net", "failed", "5.1.1")
    assert "Recipient address rejected: User unknown" in gina.diagnostic
    assert "Agenda" not in gina.diagnostic


def test_exim_delay_warning_is_delayed():
    text = """\
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@smtp.example.org>
To: sender@example.org
Subject: Warning: message 1rhX2B-0004Qd-0T delayed 24 hours

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on smtp.example.org.

The address to which the message has not yet been delivered is:

  hank@example.net
    host mx.example.net [203.0.113.5]
    Delay reason: SMTP error from remote mail server after RCPT TO:<hank@example.net>:
    451 4.3.0 Temporary lookup failure

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.
"""
    (hank,) = parse_report(text.encode()).recipients
    assert (hank.address, hank.action, hank.status) == ("hank@example.net", "delayed", "4.3.0")


def test_qmail_plain_text_bounce_with_two_recipients():
    text = """\
Return-Path: <>
From: MAILER-DAEMON@mail.example.org
To: sender@example.org
Subject: failure notice

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ivan@example.net>:
203.0.113.9 does not like recipient.
Remote host said: 550 5.1.1 <ivan@example.net>: User unknown
Giving up on 203.0.113.9.

<judy@example.net>:
Sorry, I couldn't find any host named example.net. (#5.1.2)

--- Below this line is a copy of the message.

Return-Path: <sender@example.org>
From: sender@example.org
To: ivan@example.net, judy@example.net
Subject: hi

hi
"""
    report = parse_report(text.encode())
    assert [(r.address, r.action, r.status) for r in report.recipients] == [
        ("ivan@example.net", "failed", "5.1.1"),
        ("judy@example.net", "failed", "5.1.2"),
    ]
    assert report.recipients[1].diagnostic.startswith("Sorry, I couldn't find any host")


# --- Exchange / Office 365 ----------------------------------------------------------------

OFFICE365 = """\
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>
To: <bounce+Zk3qT0k3n@lists.example.org>
Subject: Undeliverable: [team] Agenda
Date: Tue, 5 Mar 2024 08:40:12 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_a1b2c3_"
MIME-Version: 1.0
Message-ID: <a1b2c3@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>

--_000_a1b2c3_
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="_002_a1b2c3_"

--_002_a1b2c3_
Content-Type: text/plain; charset="us-ascii"

Your message to kim@example.com couldn't be delivered.
kim wasn't found at example.com.

--_002_a1b2c3_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to kim@example.com couldn't be delivered.</p></body></html>

--_002_a1b2c3_--

--_000_a1b2c3_
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;lists.example.org
Arrival-Date: Tue, 5 Mar 2024 08:40:11 +0000

Final-Recipient: rfc822;kim@example.com
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup
X-Display-Name: Kim

--_000_a1b2c3_
Content-Type: message/rfc822

From: carol@example.org
To: team@lists.example.org
Subject: [team] Agenda
Message-ID: <agenda-2024-03@example.org>

Agenda.

--_000_a1b2c3_--
"""


def test_office365_dsn():
    report = parse_report(crlf(OFFICE365))
    (kim,) = report.recipients
    assert (kim.address, kim.action, kim.status) == ("kim@example.com", "failed", "5.1.10")
    assert kim.diagnostic.endswith("Recipient not found by SMTP address lookup")
    assert report.original_message_id == "<agenda-2024-03@example.org>"


def test_old_exchange_plain_text():
    text = """\
From: System Administrator <postmaster@example.com>
To: sender@example.org
Subject: Undeliverable: hello

Your message

  To:      Leo
  Subject: hello
  Sent:    Thu, 9 May 2005 23:34:45 +0900

did not reach the following recipient(s):

leo@example.com on Thu, 9 May 2005 23:34:45 +0900
    The recipient name is not recognized
    MSEXCH:IMS:EXAMPLE:SITE:SERVER 0 (000C05A6) Unknown Recipient
"""
    (leo,) = parse_report(text.encode()).recipients
    assert (leo.address, leo.action, leo.status) == ("leo@example.com", "failed", "5.0.0")
    assert "not recognized" in leo.diagnostic


# --- Global DSN (RFC 6533) ----------------------------------------------------------------


def test_global_dsn_with_utf8_addresses():
    raw = """\
From: MAILER-DAEMON@mx.example.org
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=global-delivery-status; boundary="g"

--g
Content-Type: text/plain; charset=utf-8

Your message could not be delivered.

--g
Content-Type: message/global-delivery-status
Content-Transfer-Encoding: 8bit

Reporting-MTA: dns; mx.example.org

Original-Recipient: utf-8; j\\x{E9}r\\x{F4}me@example.com
Final-Recipient: utf-8; jérôme@ÉXEMPLE.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 unknown user jérôme

--g--
""".encode()
    (result,) = parse_report(raw).recipients
    assert result.address == "jérôme@éxemple.com"
    assert result.original_recipient == "jérôme@example.com"
    assert result.diagnostic == "550 5.1.1 unknown user jérôme"


def test_utf8_xtext_address_in_plain_dsn():
    raw = SENDMAIL.replace(
        "Final-Recipient: RFC822; dana@example.edu",
        "Original-Recipient: utf-8; d\\x{E4}na@example.edu\n"
        "Final-Recipient: RFC822; dana@example.edu",
    ).encode()
    (dana,) = parse_report(raw).recipients
    assert dana.original_recipient == "däna@example.edu"


# --- MDN (RFC 8098) -----------------------------------------------------------------------

THUNDERBIRD_MDN = """\
From: Mia <mia@example.net>
To: bounce+Zk3qT0k3n@lists.example.org
Subject: Return Receipt (displayed) - [team] Agenda
Date: Tue, 5 Mar 2024 10:02:11 +0100
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
 boundary="------------mdn0123456789"

This is a multi-part message in MIME format.
--------------mdn0123456789
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

This is a Return Receipt for the mail that you sent to mia@example.net.

Note: This Return Receipt only acknowledges that the message was displayed on the
recipient's computer. There is no guarantee that the recipient has read or
understood the message contents.

--------------mdn0123456789
Content-Type: message/disposition-notification; name="MDNPart2.txt"
Content-Disposition: inline
Content-Transfer-Encoding: 7bit

Reporting-UA: mia-laptop.example.net; Mozilla Thunderbird
Final-Recipient: rfc822;mia@example.net
Original-Message-ID: <agenda-2024-03@example.org>
Disposition: manual-action/MDN-sent-manually; displayed

--------------mdn0123456789
Content-Type: text/rfc822-headers; name="MDNPart3.txt"
Content-Disposition: inline
Content-Transfer-Encoding: 7bit

From: carol@example.org
To: team@lists.example.org
Subject: [team] Agenda
Message-ID: <agenda-2024-03@example.org>
Disposition-Notification-To: bounce+Zk3qT0k3n@lists.example.org

--------------mdn0123456789--
"""


def test_thunderbird_mdn_displayed():
    report = parse_report(crlf(THUNDERBIRD_MDN))
    assert report.kind == "mdn"
    assert report.original_message_id == "<agenda-2024-03@example.org>"
    (mia,) = report.recipients
    assert (mia.address, mia.action, mia.status) == ("mia@example.net", "displayed", None)
    assert mia.disposition_mode == "manual-action/MDN-sent-manually"


def outlook_mdn(disposition: str, subject_prefix: str) -> bytes:
    return f"""\
From: Noah <noah@example.com>
To: <bounce+Zk3qT0k3n@lists.example.org>
Subject: {subject_prefix}: [team] Agenda
Date: Tue, 5 Mar 2024 11:15:00 +0000
Content-Type: multipart/report; report-type=disposition-notification;
\tboundary="_000_NOAH_"
MIME-Version: 1.0

--_000_NOAH_
Content-Type: text/plain; charset="us-ascii"

Your message

  To: team@lists.example.org
  Subject: [team] Agenda
  Sent: Tuesday, March 5, 2024 9:12:38 AM (UTC+01:00)

was read on Tuesday, March 5, 2024 11:15:00 AM (UTC+00:00).

--_000_NOAH_
Content-Type: message/disposition-notification

Reporting-UA: AM0PR01MB1234.eurprd01.prod.exchangelabs.com; Microsoft Exchange Server
Final-Recipient: rfc822;noah@example.com
Original-Message-ID: <agenda-2024-03@example.org>
Disposition: automatic-action/MDN-sent-automatically; {disposition}

--_000_NOAH_--
""".replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    ("disposition", "prefix"), [("displayed", "Read"), ("deleted", "Not read")]
)
def test_outlook_mdn(disposition, prefix):
    report = parse_report(outlook_mdn(disposition, prefix))
    assert report.kind == "mdn"
    (noah,) = report.recipients
    assert (noah.address, noah.action) == ("noah@example.com", disposition)
    assert noah.disposition_mode == "automatic-action/MDN-sent-automatically"
    assert report.reporting_mta == "AM0PR01MB1234.eurprd01.prod.exchangelabs.com"


# --- ARF (RFC 5965) and auto-replies ------------------------------------------------------


def test_arf_abuse_report():
    raw = b"""\
From: <feedback@fbl.example.net>
To: <abuse@lists.example.org>
Subject: FW: [team] Agenda
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP 192.0.2.10.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <bounce+Zk3qT0k3n@lists.example.org>
Original-Rcpt-To: <olivia@example.net>
Arrival-Date: Tue, 5 Mar 2024 09:14:00 +0000
Source-IP: 192.0.2.10
Reported-Domain: lists.example.org

--arf
Content-Type: message/rfc822

From: carol@example.org
To: team@lists.example.org
Subject: [team] Agenda
Message-ID: <agenda-2024-03@example.org>

Agenda.
--arf--
"""
    report = parse_report(raw)
    assert report.kind == "arf"
    (olivia,) = report.recipients
    assert (olivia.address, olivia.action, olivia.feedback_type) == (
        "olivia@example.net",
        "",
        "abuse",
    )
    assert report.original_message_id == "<agenda-2024-03@example.org>"
    assert report_as_json(report, "x.eml")["recipients"][0]["feedback_type"] == "abuse"


def test_vacation_auto_reply():
    raw = b"""\
Return-Path: <>
From: Paul <paul@example.net>
To: bounce+Zk3qT0k3n@lists.example.org
Subject: Out of Office: [team] Agenda
Auto-Submitted: auto-replied
In-Reply-To: <agenda-2024-03@example.org>
Content-Type: text/plain; charset=utf-8

I am away until March 12 and will reply on my return.
"""
    report = parse_report(raw)
    assert report.kind == "auto-reply"
    assert [(r.address, r.action) for r in report.recipients] == [("paul@example.net", "")]
    assert report.original_message_id == "<agenda-2024-03@example.org>"


# --- Not reports, and inputs that must not break anything ---------------------------------


def test_ordinary_message_is_unrecognized():
    raw = b"""From: Quinn <quinn@example.net>
To: team@lists.example.org
Subject: Re: [team] Agenda

Thanks! Please also invite
  rachel@example.org
to the meeting.
"""
    report = parse_report(raw)
    assert report.kind == "unrecognized"
    assert report.recipients == []
    assert report.problems


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n",
        b"\x00\xff\xfe" * 300,
        bytes(range(256)) * 40,
        b"Content-Type: multipart/report; boundary=",
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\n\n--x\n'
        b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n!!!!",
        b"Subject: =?x-unknown?B?////?=\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
        b"\xff\xfe",
        b"From: MAILER-DAEMON@x\nSubject: Undeliverable\n\n<",
        POSTFIX_FAILED.encode()[:900],
        POSTFIX_FAILED.encode()[:-200],
    ],
)
def test_broken_input_never_raises(raw):
    report = parse_report(raw)
    assert isinstance(report, Report)
    assert report.kind in ("dsn", "mdn", "arf", "auto-reply", "unrecognized")
    if report.kind == "unrecognized":
        assert report.recipients == [] and report.problems


def test_truncated_dsn_still_yields_what_it_has():
    report = parse_report(POSTFIX_FAILED.encode()[:-200])
    assert [r.address for r in report.recipients] == ["alice@example.net", "bob@example.com"]


def test_non_bytes_input_is_a_problem_not_an_exception():
    report = parse_report("not bytes")  # type: ignore[arg-type]
    assert report.kind == "unrecognized" and report.problems


def test_unknown_charset_is_reported_as_a_problem():
    raw = EXIM.replace("Subject:", "Content-Type: text/plain; charset=x-no-such\nSubject:")
    report = parse_report(raw.encode())
    assert report.recipients[0].address == "gina@example.net"
    assert any("x-no-such" in problem for problem in report.problems)


# --- The JSON shape and the command line --------------------------------------------------


def test_report_as_json_has_exactly_the_contract_keys():
    report = parse_report(POSTFIX_FAILED.encode())
    data = report_as_json(report, "bounce.eml")
    assert set(data) == {"file", "kind", "recipients"}
    assert data["recipients"][0] == {
        "address": "alice@example.net",
        "action": "failed",
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown",
    }
    assert isinstance(report.recipients[0], RecipientResult)


def test_command_line_prints_one_json_line_per_file(tmp_path):
    first = tmp_path / "a.eml"
    first.write_bytes(POSTFIX_FAILED.encode())
    second = tmp_path / "b.eml"
    second.write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-m", "ingest.reports", str(first), str(second)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["dsn", "unrecognized"]
    assert lines[0]["file"] == str(first)


def test_importing_ingest_stays_cheap():
    """The MTA hand-off imports `ingest`; the report parser must not come with it."""
    code = (
        "import sys, ingest; print('ingest.reports' in sys.modules, 'email.parser' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"]


# --- More layouts seen in the wild ----------------------------------------------------------


def test_sendmail_warning_with_transient_errors_is_delayed():
    text = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
To: <sender@example.org>
Subject: Warning: could not send message for past 4 hours

    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

   ----- The following addresses had transient non-fatal errors -----
<sam@example.com>

   ----- Transcript of session follows -----
<sam@example.com>... Deferred: Connection timed out with example.com.
Warning: message still undelivered after 4 hours
"""
    (sam,) = parse_report(text.encode()).recipients
    assert (sam.address, sam.action, sam.status) == ("sam@example.com", "delayed", "4.4.1")


def test_exchange_text_with_display_name_line():
    text = """\
From: Microsoft Outlook <postmaster@example.onmicrosoft.com>
To: sender@example.org
Subject: Undeliverable: hello

Delivery has failed to these recipients or groups:

Tina Lee (tina@example.com)<mailto:tina@example.com>
The email address you entered couldn't be found.

Diagnostic information for administrators:

tina@example.com
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'
"""
    (tina,) = parse_report(text.encode()).recipients
    assert (tina.address, tina.action, tina.status) == ("tina@example.com", "failed", "5.1.1")


def test_amazon_ses_bounce_notification():
    event = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [
                {
                    "emailAddress": "uma@example.com",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
        },
        "mail": {"commonHeaders": {"messageId": "<agenda-2024-03@example.org>"}},
    }
    envelope = {"Type": "Notification", "Message": json.dumps(event)}
    raw = (
        "From: no-reply@sns.amazonaws.com\nTo: ops@example.org\n"
        "Subject: AWS Notification Message\n\n" + json.dumps(envelope, indent=2)
    ).encode()
    report = parse_report(raw)
    assert report.detector == "amazonses"
    (uma,) = report.recipients
    assert (uma.address, uma.action, uma.status) == ("uma@example.com", "failed", "5.1.1")
    assert uma.diagnostic == "550 5.1.1 user unknown"
    assert report.original_message_id == "<agenda-2024-03@example.org>"


def test_list_server_refusing_a_non_member():
    text = """\
From: team-admin@lists.example.net
To: bounce+Zk3qT0k3n@lists.example.org
Subject: You are not member (team ML)
X-MLServer: fml [fml 4.0.3 release]

You are not a member of this mailing list <team@lists.example.net>.
"""
    (team,) = parse_report(text.encode()).recipients
    assert (team.address, team.action) == ("team@lists.example.net", "failed")


def test_base64_delivery_status_part():
    status = base64.b64encode(
        b"Reporting-MTA: dns; mx.example.org\n\n"
        b"Final-Recipient: rfc822; vera@example.net\nAction: failed\nStatus: 5.2.2\n"
    ).decode()
    raw = (
        "From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\nSubject: Undelivered\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nfailed.\n\n"
        "--b\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        f"{status}\n--b--\n"
    ).encode()
    (vera,) = parse_report(raw).recipients
    assert (vera.address, vera.action, vera.status) == ("vera@example.net", "failed", "5.2.2")


def test_light_dsn_reader_agrees_with_the_full_parser():
    """The fast path for plain DSNs must give exactly what the full parse gives."""
    from ingest.reports import quick_dsn
    from ingest.reports.message import ReportMessage
    from ingest.reports.scan import DETECTORS

    for raw in (crlf(POSTFIX_FAILED), SENDMAIL.encode(), crlf(OFFICE365)):
        quick = quick_dsn.detect(raw)
        assert quick is not None
        message = ReportMessage(raw)
        full = next(r for r in (d(message) for d in DETECTORS) if r is not None and r.recipients)
        assert quick == full
