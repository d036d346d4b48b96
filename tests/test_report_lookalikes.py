"""Mail that reaches a VERP return address without being a bounce must fail nobody.

Auto-replies go to the return path (RFC 3834), so they quote or discuss bounces; people
forward bounces they got themselves, or reply quoting a report. A wrong "failed" would tell
the owner a subscriber never got the post.
"""

from __future__ import annotations

from ingest.reports import parse_report

OUT_OF_OFFICE_ABOUT_BOUNCES = """\
Return-Path: <>
From: Rachel Kim <rachel.kim@example.org>
To: list-bounces+Ud4tx0ff@lists.example.org
Subject: Automatic reply: [garden] Spring seed swap on Saturday
In-Reply-To: <20241204091244.5531.garden@lists.example.org>
Auto-Submitted: auto-generated
X-MS-Exchange-Inbox-Rules-Loop: rachel.kim@example.org
Content-Type: text/plain; charset="us-ascii"

Thank you for your email. I am out of the office until December 9.

Please note: we are migrating our mail system this week. If you receive an
"Undeliverable" or "Delivery has failed" notice from us, your message was
probably still delivered - please do not resend it. If you get a
"550 5.1.1 recipient not found" error for a colleague, please contact
helpdesk@example.org.
"""


def test_an_out_of_office_reply_that_talks_about_bounces_is_an_auto_reply():
    report = parse_report(OUT_OF_OFFICE_ABOUT_BOUNCES.encode())
    assert report.kind == "auto-reply"
    assert [(r.address, r.action) for r in report.recipients] == [("rachel.kim@example.org", "")]


def test_an_auto_reply_to_a_bounce_subject_is_still_an_auto_reply():
    text = OUT_OF_OFFICE_ABOUT_BOUNCES.replace(
        "Automatic reply: [garden] Spring seed swap on Saturday",
        "Automatic reply: [garden] Re: Mail delivery failed: returning message to sender",
    )
    assert parse_report(text.encode()).kind == "auto-reply"


FORWARDED_BOUNCE = """\
Return-Path: <steve.l@example.com>
From: Steve Lam <steve.l@example.com>
To: list-bounces+Fw8att02@lists.example.org
Subject: Fwd: Undelivered Mail Returned to Sender
User-Agent: Mozilla Thunderbird
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=UTF-8

FYI - this came back when I replied to Alice's post.

--outer
Content-Type: message/rfc822

Return-Path: <>
From: MAILER-DAEMON@smtp.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: steve.l@example.com
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="inner"

--inner
Content-Type: text/plain; charset=us-ascii

<kim.old@example.org>: host mx.example.org said: 550 5.1.1 User unknown

--inner
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp.example.com

Final-Recipient: rfc822; kim.old@example.org
Action: failed
Status: 5.1.1

--inner--

--outer--
"""


def test_a_bounce_forwarded_by_a_person_fails_nobody():
    report = parse_report(FORWARDED_BOUNCE.encode())
    assert [r for r in report.recipients if r.action in ("failed", "delayed")] == []


def test_a_bounce_wrapped_by_a_mail_system_is_still_read():
    # A gateway that wraps the inner server's report is machine-written: its report counts.
    wrapped = FORWARDED_BOUNCE.replace(
        "Return-Path: <steve.l@example.com>\nFrom: Steve Lam <steve.l@example.com>",
        "Return-Path: <>\nFrom: Mail Gateway <postmaster@gw.example.com>",
    )
    (result,) = parse_report(wrapped.encode()).recipients
    assert (result.address, result.action) == ("kim.old@example.org", "failed")


PERSON_QUOTING_A_REPORT = """\
From: Jo Writer <jo@example.net>
To: list-bounces+Qz9@lists.example.org
Subject: Re: [tech-talk] Undelivered Mail Returned to Sender - Action: failed?
In-Reply-To: <abc@example.net>
User-Agent: Gnus/5.13
Content-Type: text/plain

Why does my copy say this?

Final-Recipient: rfc822; bob@example.net
Action: failed
Status: 5.1.1
"""


def test_a_person_quoting_report_fields_fails_nobody():
    report = parse_report(PERSON_QUOTING_A_REPORT.encode())
    assert [r for r in report.recipients if r.action in ("failed", "delayed")] == []


def _kind_and_recipients(text: str) -> tuple[str, list[tuple[str, str]]]:
    report = parse_report(text.encode("utf-8"))
    return report.kind, [(r.address, r.action) for r in report.recipients]


HELP_DESK_ACKNOWLEDGEMENT = """\
From: "Example IT via RT" <it@example.net>
To: list-bounces+Rt4821ab@lists.example.org
Subject: [example.net #4821] AutoReply: [garden] Spring seed swap on Saturday
In-Reply-To: <20241204091244.5531.garden@lists.example.org>
Precedence: bulk
RT-Ticket: example.net #4821
Content-Type: text/plain; charset="utf-8"

Greetings,

This message has been automatically generated in response to the
creation of a trouble ticket regarding your message.
"""


def test_a_help_desk_acknowledgement_is_an_auto_reply():
    assert _kind_and_recipients(HELP_DESK_ACKNOWLEDGEMENT) == (
        "auto-reply",
        [("it@example.net", "")],
    )


def test_an_out_of_office_known_only_by_its_subject_is_an_auto_reply():
    text = """\
From: John Smith <john.smith@example.net>
To: list-bounces+Dn7oof00@lists.example.org
Subject: I will be out of the office starting 12/04/2024 and will not return until 12/11/2024.
X-Mailer: Lotus Notes Release 7.0.2 September 26, 2006
Content-type: text/plain; charset=US-ASCII

I will respond to your message when I return.
"""
    assert _kind_and_recipients(text) == ("auto-reply", [("john.smith@example.net", "")])


def test_an_answer_generated_by_a_service_is_an_auto_reply():
    text = """\
From: Example Support <support@example.net>
To: list-bounces+Zd1tkt48@lists.example.org
In-Reply-To: <20241204091244.5531.garden@lists.example.org>
Subject: [Example Support] Re: [garden] Spring seed swap on Saturday
Auto-Submitted: auto-generated
Content-Type: text/plain; charset=utf-8

Your request (48213) has been received and is being reviewed by our support staff.
"""
    assert _kind_and_recipients(text) == ("auto-reply", [("support@example.net", "")])


OUTLOOK_TEXT_RECEIPT = """\
From: "Victor Hale" <victor.hale@example.com>
To: <list-bounces+Ol1rd007@lists.example.org>
Subject: Read: [garden] Spring seed swap on Saturday
X-Mailer: Microsoft Outlook 16.0
Content-Type: text/plain;

Your message


was read on Wednesday, December 4, 2024 11:47:03 AM (UTC+00:00) London.
"""


def test_a_plain_text_read_receipt_is_a_displayed_disposition():
    assert _kind_and_recipients(OUTLOOK_TEXT_RECEIPT) == (
        "mdn",
        [("victor.hale@example.com", "displayed")],
    )


def test_a_plain_text_not_read_receipt_is_a_deleted_disposition():
    text = OUTLOOK_TEXT_RECEIPT.replace("Subject: Read:", "Subject: Not read:").replace(
        "was read on", "was deleted without being read on"
    )
    assert _kind_and_recipients(text) == ("mdn", [("victor.hale@example.com", "deleted")])


def test_a_lotus_notes_return_receipt_is_a_displayed_disposition():
    text = """\
Subject: Return Receipt
To: list-bounces+Ln3rr009@lists.example.org
From: Karl Hoffmann <karl.hoffmann@example.net>
X-Mailer: Lotus Notes Release 8.5.3 September 15, 2011
Content-type: text/plain; charset=US-ASCII

Your document:\t[garden] Spring seed swap on Saturday
was received by:\tKarl Hoffmann/Sales/Example
at:\t04.12.2024 11:32:11
"""
    assert _kind_and_recipients(text) == ("mdn", [("karl.hoffmann@example.net", "displayed")])


def test_a_person_writing_read_in_a_subject_sends_no_receipt():
    text = """\
From: Ann <ann@example.net>
To: list-bounces+Q@lists.example.org
Subject: Read: the book we talked about
Content-Type: text/plain

Have you read it yet?
"""
    assert parse_report(text.encode()).kind != "mdn"


def test_an_absence_notice_without_any_marks_is_an_auto_reply():
    text = """\
From: Dev Patel <dpatel@example.com>
To: list-bounces+Gw1@lists.example.org
Subject: Re: [garden] Spring seed swap on Saturday
X-Mailer: GroupWise Internet Agent 8.0.3
Content-Type: text/plain

I am out of the office until Monday, December 9, with limited access to e-mail.
"""
    assert _kind_and_recipients(text) == ("auto-reply", [("dpatel@example.com", "")])
