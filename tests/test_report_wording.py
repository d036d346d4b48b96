"""parse_report on bounces that carry no machine-readable part, only their wording.

Unseen mail systems mostly differ here, so these tests vary the layout rather than the
product: the addressee named as the failed recipient, Sendmail's "expanded from", a server
reply quoting the address mid-line, HTML-only notices.
"""

from __future__ import annotations

from ingest.reports import parse_report


def found(raw: str) -> list[tuple[str, str, str]]:
    report = parse_report(raw.replace("\n", "\r\n").encode("utf-8"))
    return [(r.address, r.action, r.status) for r in report.recipients]


POSTFIX_TO_SELF = """\
Return-Path: <MAILER-DAEMON@mx.example.org>
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: carol@example.net
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Dec 2024 10:00:00 +0000
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

                   The mail system

<carol@example.net>: host mail.example.net[192.0.2.7] said: 550 5.1.1
    <carol@example.net>: Recipient address rejected: User unknown (in reply to
    RCPT TO command)

--- Below this line is a copy of the message.

From: carol@example.net
To: carol@example.net
Subject: test
"""


def test_a_bounce_naming_only_its_own_addressee_reads_the_addressee():
    # The sender wrote to themselves: the one failed address is also the report's To.
    assert found(POSTFIX_TO_SELF) == [("carol@example.net", "failed", "5.1.1")]


GREETING_ONLY = """\
From: Mail Delivery System <mailer-daemon@mx.example.org>
To: dave@example.net
Subject: Mail delivery failed
Content-Type: text/plain

Dear dave@example.net,

your message to erin@example.com could not be delivered:
550 5.2.1 mailbox disabled
"""


def test_the_addressee_greeted_in_the_text_is_not_taken_for_the_recipient():
    assert found(GREETING_ONLY) == [("erin@example.com", "failed", "5.2.1")]


SENDMAIL_EXPANDED = """\
Return-Path: <MAILER-DAEMON@relay.example.org>
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>
To: <sender@example.org>
Subject: Returned mail: see transcript for details
Content-Type: text/plain

The original message was received at Tue, 3 Dec 2024 08:00:00 +0100
from host.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
frank@mail.example.com
    (reason: 550 5.1.1 <frank@mail.example.com>... User unknown)
    (expanded from: <team@example.org>)

   ----- Transcript of session follows -----
... while talking to mail.example.com.:
>>> RCPT To:<frank@mail.example.com>
<<< 550 5.1.1 <frank@mail.example.com>... User unknown
"""


def test_sendmail_names_the_address_the_sender_wrote_when_it_was_expanded():
    # Sendmail's own DSN calls team@ the Final-Recipient; the text agrees with it.
    assert found(SENDMAIL_EXPANDED) == [("team@example.org", "failed", "5.1.1")]


RELAY_SERVICE = """\
From: MAILER-DAEMON@relay.example.net
To: list-bounces@example.org
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain

This is an automatically generated message from the relay service.
Your message was not able to be delivered to one of its intended recipients.

grace:0001:<grace@example.com> : mx.example.com : 550 5.1.1 <grace@example.com>... User Unknown
"""


def test_a_server_reply_quoting_the_address_names_the_recipient():
    assert found(RELAY_SERVICE) == [("grace@example.com", "failed", "5.1.1")]


HTML_ONLY = """\
From: "Mail Delivery System" <postmaster@mail.example.net>
To: list-bounces@example.org
Subject: Undelivered Mail Returned to Sender
Content-Type: text/html; charset=utf-8

<html><body><p>I'm sorry to have to inform you that your message could not<br>
be delivered to one or more recipients.<br>
<br>
&lt;kim@mail.example.com&gt; (expanded from<br>
&lt;team@example.org&gt;): host mail.example.com[192.0.2.8] said:<br>
550 5.1.1 &lt;kim@mail.example.com&gt;: Recipient address rejected<br>
</p></body></html>
"""


def test_html_only_notice_keeps_its_lines_together():
    # "<br>" and the newline after it are one line break, so the alias line stays an alias.
    assert found(HTML_ONLY) == [("kim@mail.example.com", "failed", "5.1.1")]
    (result,) = parse_report(HTML_ONLY.encode()).recipients
    assert "Recipient address rejected" in result.diagnostic


def test_a_break_and_the_newline_after_it_are_one_line_end():
    from ingest.reports.message import html_to_text

    assert html_to_text("one<br>\ntwo<br/>\r\nthree<p>four") == "one\ntwo\nthree\nfour"


PMDF_ADDRESSEE = """\
Return-path: <>
From: PMDF e-Mail Interconnect <postmaster@gw.example.com>
To: list-bounces@example.org
Subject: Undeliverable mail: Weekly news
Content-type: text/plain; charset=us-ascii

The message could not be delivered to:

Addressee: ivo@example.net
Reason:
  553 Mailbox name not allowed

----------------------------------------

Addressee: jana@example.net
Reason:
  Illegal host/domain name found
"""


def test_a_label_before_each_address_still_leads_its_block():
    assert found(PMDF_ADDRESSEE) == [
        ("ivo@example.net", "failed", "5.0.0"),
        ("jana@example.net", "failed", "5.0.0"),
    ]


MMDF_WAITING = """\
From: MMDF Mail System <mmdf@relay.example.com>
To: list-bounces@example.org
Subject: Waiting mail
Content-type: text/plain

After 2 days (48 hours), your message has not yet been
fully delivered.  Attempts to deliver the message will continue
for 5 more days.  No further action is required by you.

    Delivery attempts are still pending for the following address(es):

        leo@example.net
"""


def test_a_delay_notice_wrapped_over_lines_is_a_delay():
    assert found(MMDF_WAITING) == [("leo@example.net", "delayed", "4.0.0")]
