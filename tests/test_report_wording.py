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
        ("ivo@example.net", "failed", "5.1.3"),
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


EZWEB_LIST = """\
Return-Path: <>
From: Postmaster@ezweb.example.jp
To: list-bounces@example.org
Subject: Mail System Error - Returned Mail
Content-Type: text/plain; charset="us-ascii"

The original message was received at Tue, 12 Mar 2024 17:18:02 +0900
from mail.example.org [192.0.2.25]

The user(s) account is temporarily over quota.

<jiro.m@ezweb.example.jp>
<saburo_t@ezweb.example.jp>
"""


def test_addresses_on_consecutive_lines_share_the_reason_above_them():
    assert [address for address, _action, _status in found(EZWEB_LIST)] == [
        "jiro.m@ezweb.example.jp",
        "saburo_t@ezweb.example.jp",
    ]


YAHOO_TWO = """\
Return-Path: <>
From: "Mail Delivery Subsystem" <MAILER-DAEMON@yahoo.example.com>
To: list-bounces@example.org
Subject: Failure Notice
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=UTF-8

Sorry, we were unable to deliver your message to the following address.

<a.kowalski@example.net>:
Remote host said: 552 5.2.2 <a.kowalski@example.net>: Mailbox full [RCPT_TO]

<info@nosuchhost.example.net>:
No MX or A records for nosuchhost.example.net
"""


def test_a_dns_failure_is_an_error_text():
    assert found(YAHOO_TWO) == [
        ("a.kowalski@example.net", "failed", "5.2.2"),
        ("info@nosuchhost.example.net", "failed", "5.1.2"),
    ]


EXCHANGE_SPANISH = """\
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.org>
To: <list-bounces@example.org>
Subject: No se puede entregar: Presupuesto
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
Content-Language: es-ES
Content-Type: text/plain; charset="utf-8"

Error en la entrega a estos destinatarios o grupos:

lmartinez@example.com
No se encontró la dirección de correo electrónico que escribió.

Información de diagnóstico para administradores:

lmartinez@example.com
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found'
"""


def test_an_exchange_report_in_any_language_is_a_bounce_not_an_auto_reply():
    report = parse_report(EXCHANGE_SPANISH.encode("utf-8"))
    assert report.kind == "dsn"
    assert [(r.address, r.action, r.status) for r in report.recipients] == [
        ("lmartinez@example.com", "failed", "5.1.10")
    ]


ITALIAN_DELAY = """\
Return-Path: <>
From: MAILER-DAEMON@virgilio.example.it
To: list-bounces@example.org
Subject: Avviso: messaggio non ancora consegnato
Content-Type: text/plain; charset=utf-8

Questo è un messaggio automatico.

Il messaggio non è stato ancora consegnato ai seguenti destinatari:

  luca.bianchi@example.it
    host mx.example.it: connessione rifiutata

Il sistema continuerà a tentare la consegna per 5 giorni.
"""


def test_a_delay_notice_in_italian_is_a_delay():
    assert found(ITALIAN_DELAY) == [("luca.bianchi@example.it", "delayed", "4.0.0")]


PORTUGUESE_TEMPORARY = """\
Return-Path: <>
From: MAILER-DAEMON@terra.example.br
To: list-bounces@example.org
Subject: Mensagem do sistema
Content-Type: text/plain; charset=utf-8

Sua mensagem não pôde ser entregue ao(s) seguinte(s) destinatário(s):

  ana.souza@example.com.br
    Motivo: servidor temporariamente indisponível (421 4.3.2 Service not available)
"""


def test_a_temporary_error_in_a_notice_that_never_gives_up_is_a_delay():
    assert found(PORTUGUESE_TEMPORARY) == [("ana.souza@example.com.br", "delayed", "4.3.2")]


def test_a_temporary_error_in_a_notice_that_gave_up_stays_a_failure():
    gave_up = PORTUGUESE_TEMPORARY.replace("Mensagem do sistema", "Undeliverable: news")
    assert found(gave_up) == [("ana.souza@example.com.br", "failed", "4.3.2")]


KOREAN_TABLE = """\
Return-Path: <>
From: MAILER-DAEMON@naver.example.com
To: list-bounces@example.org
Subject: =?utf-8?b?66mU7J28IOuwnOyGoSDsi6TtjKg=?=
Content-Type: text/html; charset=UTF-8

<html><body><h3>메일이 정상적으로 발송되지 않았습니다.</h3>
<table border="1"><tr><th>받는 사람</th><td>minsu.kim@naver.example.com</td></tr>
<tr><th>실패 사유</th><td>메일함 용량이 초과되었습니다.<br>(552 5.2.2 Mailbox full)</td></tr>
</table></body></html>
"""


def test_an_html_table_cell_starts_a_line():
    assert found(KOREAN_TABLE) == [("minsu.kim@naver.example.com", "failed", "5.2.2")]


MDAEMON_WARNING = """\
Return-Path: <>
From: Mail Delivery Subsystem <MDaemon@example.jp>
To: list-bounces@example.org
Subject: Warning: Temporary Delivery Failure Notice
Content-Type: text/plain; charset=US-ASCII

The attached message has had transient delivery errors and is still in
the retry queue on this server. Delivery will continue to be attempted
according to the retry schedule set by the postmaster.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

The following recipients are affected:
   yuki@example.jp
"""


def test_a_temporary_delivery_failure_notice_is_a_delay():
    assert found(MDAEMON_WARNING) == [("yuki@example.jp", "delayed", "4.0.0")]


MDAEMON_TRANSCRIPT = """\
Return-Path: <>
From: Mail Delivery Subsystem <MDaemon@example.jp>
To: list-bounces@example.org
Subject: Permanent Delivery Failure
Content-Type: text/plain; charset=US-ASCII

The attached message had PERMANENT fatal delivery errors!

The following recipients were affected:
   kenji@example.jp

--- Session Transcript ---
 Tue 2024-05-14 16:14:01.751: --> MAIL From:<sender@example.org> SIZE=1024
 Tue 2024-05-14 16:14:01.860: <-- 250 2.1.0 Ok
 Tue 2024-05-14 16:14:01.861: --> RCPT To:<kenji@example.jp>
 Tue 2024-05-14 16:14:01.970: <-- 550 5.1.1 <kenji@example.jp>... User unknown
--- End Transcript ---
"""


def test_wording_without_a_code_gives_the_status_detail():
    # RFC 3463 subject and detail from the words; the class from the action.
    for words, status in (
        ("Mailbox is full", "5.2.2"),
        ("User unknown", "5.1.1"),
        ("Host or domain name not found", "5.1.2"),
        ("Message size exceeds fixed maximum message size", "5.3.4"),
        ("Relay access denied", "5.7.1"),
        ("retry timeout exceeded", "5.4.7"),
        ("存在しません", "5.1.1"),
    ):
        text = MDAEMON_TRANSCRIPT.split("--- Session")[0].replace(
            "PERMANENT fatal delivery errors!", words
        )
        assert found(text) == [("kenji@example.jp", "failed", status)], words


def test_a_success_code_in_a_transcript_is_not_the_failure_status():
    assert found(MDAEMON_TRANSCRIPT) == [("kenji@example.jp", "failed", "5.1.1")]


SOPHOS_NOTICE = """\
Return-Path: <>
From: "Sophos Email" <do-not-reply@sophos.example.net>
To: list-bounces@example.org
Subject: Message blocked: CV attached
Content-Type: text/plain; charset="utf-8"

Your message was not delivered.

The message you sent to hr@example.net was blocked because it
contains content that is not allowed by the recipient's email policy.
"""


def test_the_message_you_sent_to_names_the_recipient():
    assert [(a, action) for a, action, _s in found(SOPHOS_NOTICE)] == [
        ("hr@example.net", "failed")
    ]


MAILMAN_REJECTED = """\
From: announce-owner@lists.example.com
To: list-bounces@example.org
Subject: Request to mailing list Announce rejected
X-BeenThere: announce@lists.example.com
X-Mailman-Version: 2.1.39
List-Id: Announce <announce.lists.example.com>
Content-Type: text/plain; charset="us-ascii"

Your request to the Announce mailing list

    Posting of your message titled "Weekly newsletter"

has been rejected by the list moderator.  The moderator gave the
following reason for rejecting your request:

"Off-topic for this list."

Any questions or comments should be directed to the list administrator
at:

    announce-owner@lists.example.com
"""


def test_a_list_moderator_rejection_fails_the_list_address():
    assert found(MAILMAN_REJECTED) == [("announce@lists.example.com", "failed", "5.7.1")]


def test_a_post_held_for_the_moderator_is_delayed():
    held = MAILMAN_REJECTED.replace(
        "Request to mailing list Announce rejected",
        "Your message to Announce awaits moderator approval",
    ).replace(
        "has been rejected by the list moderator.",
        "Is being held until the list moderator can review it.",
    )
    assert found(held) == [("announce@lists.example.com", "delayed", "4.7.1")]


EZMLM_REJECTED = """\
Return-Path: <announce-return-123-list-bounces=example.org@lists.example.com>
Mailing-List: contact announce-help@lists.example.com; run by ezmlm
From: announce-help@lists.example.com
To: list-bounces@example.org
Subject: MODERATOR'S COMMENT: Weekly newsletter
Content-Type: text/plain; charset=us-ascii

Hi! This is the ezmlm program. I'm managing the
announce@lists.example.com mailing list.

I'm sorry, your message (enclosed) was not accepted by the moderator.
"""


def test_ezmlm_names_its_list_before_the_words_mailing_list():
    assert found(EZMLM_REJECTED) == [("announce@lists.example.com", "failed", "5.7.1")]


DSN_WITHOUT_DIAGNOSTIC = """\
From: MAILER-DAEMON@mx.example.net
To: list-bounces@example.org
Subject: Delivery status notification: delayed
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this email.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

neko@example.jp: No MX found for domain

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; neko@example.jp
Action: delayed
Status: 4.0.0

--b1--
"""


def test_a_dsn_without_diagnostic_code_takes_the_reason_from_its_text():
    (result,) = parse_report(DSN_WITHOUT_DIAGNOSTIC.encode()).recipients
    assert (result.action, result.status) == ("delayed", "4.0.0")
    assert result.diagnostic == "No MX found for domain"


def test_a_notice_without_error_words_gives_its_first_plain_paragraph_as_the_reason():
    notice = """\
From: Google Groups <mailer-daemon@googlemail.example.com>
To: list-bounces@example.org
Subject: Delivery Status Notification (Failure)
Content-Type: text/plain; charset=utf-8

Hello list-bounces@example.org,

We're writing to let you know that the group you tried to contact (news) may not exist,
or you may not have permission to post messages to the group.

news@googlegroups.example.com
"""
    (result,) = parse_report(notice.encode()).recipients
    assert result.diagnostic.startswith("We're writing to let you know that the group")


def test_text_in_a_sibling_of_its_declared_charset_is_read():
    japanese = "次のあて先へのメッセージはエラーのため送信できませんでした。"
    body = (japanese + "\n\nRemote host is not responding.\n\n<yuki@ezweb.example.jp>\n")
    raw = (
        b"From: Postmaster@ezweb.example.jp\nTo: list-bounces@example.org\n"
        b"Subject: Mail System Error - Returned Mail\n"
        b'Content-Type: text/plain; charset="ISO-2022-JP"\n\n' + body.encode("euc-jp")
    )
    (result,) = parse_report(raw).recipients
    assert result.address == "yuki@ezweb.example.jp"
    assert "not responding" in result.diagnostic
    from ingest.reports.message import ReportMessage

    assert japanese in ReportMessage(raw).notification_text


GATEWAY_SUMMARY = """\
Return-Path: <>
From: FortiMail <postmaster@gw.example.com>
To: list-bounces@example.org
Subject: Virus detected in your message
Content-Type: text/plain

This is a notification from the mail gateway.

The message you sent has been blocked because it contains a virus.

  From:        poster@example.org
  To:          it@example.com
  Subject:     Scan results
  Virus name:  EICAR_TEST_FILE

The message has not been delivered to the recipient.
"""


def test_a_gateway_summary_of_the_refused_message_names_its_recipient():
    assert [(a, action) for a, action, _s in found(GATEWAY_SUMMARY)] == [
        ("it@example.com", "failed")
    ]


POSTFIX_SUCCESS = """\
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
To: list-bounces@example.org
Subject: Successful Mail Delivery Report
Content-Type: text/plain

This is the mail system at host mail.example.org.

Your message was successfully delivered to the destination(s)
listed below. If the message was delivered to mailbox you will
receive no further notifications. Otherwise you may still receive
notifications of mail delivery errors from other systems.

                   The mail system

<tara@example.org>: delivered to mailbox

<ugo@example.com>: delivery via exchange.example.com[192.0.2.46]:25: 250 2.6.0
    <20241204.4711@example.org> Queued mail for delivery
"""


def test_a_success_report_without_its_status_part_delivers_and_relays():
    assert found(POSTFIX_SUCCESS) == [
        ("tara@example.org", "delivered", "2.0.0"),
        ("ugo@example.com", "relayed", "2.6.0"),
    ]


SENDMAIL_TWO_SECTIONS = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>
To: list-bounces@example.org
Subject: Returned mail: see transcript for details
Content-Type: text/plain

The original message was received at Wed, 4 Dec 2024 09:00:00 +0100
from host.example.org [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<jonas@example.com>
    (reason: 550 5.1.1 User unknown)

   ----- The following addresses had transient non-fatal errors -----
<lars@example.net>
    (reason: 451 4.3.0 Temporary system failure)
"""


def test_sendmail_section_titles_may_hold_hyphens():
    assert found(SENDMAIL_TWO_SECTIONS) == [
        ("jonas@example.com", "failed", "5.1.1"),
        ("lars@example.net", "delayed", "4.3.0"),
    ]


EZWEB_FOOTER = """\
From: Postmaster@ezweb.example.jp
To: list-bounces@example.org
Subject: Mail System Error - Returned Mail
Content-Type: text/plain

The user(s) account is disabled.

<taro@ezweb.example.jp>

Please reply to <Postmaster@ezweb.example.jp>
if you feel this message to be in error.
"""


def test_a_footer_about_errors_is_not_the_reason():
    (result,) = parse_report(EZWEB_FOOTER.encode()).recipients
    assert result.address == "taro@ezweb.example.jp"
    assert result.diagnostic.startswith("The user(s) account is disabled.")


def test_recipient_labels_in_chinese_and_korean_lead_blocks():
    chinese = """\
From: postmaster@126.example.com
To: list-bounces@example.org
Subject: =?utf-8?b?6YKu5Lu25oqV6YCS5aSx6LSl?=
Content-Type: text/plain; charset=utf-8

您发送的邮件无法投递。
收件人：lihua_2008@126.example.com
原因：550 User not found
"""
    korean = """\
From: MAILER-DAEMON@daum.example.net
To: list-bounces@example.org
Subject: Undeliverable
Content-Type: text/plain; charset=utf-8

메일이 전송되지 않았습니다.

받는 사람 : hyun.park@hanmail.example.net
실패 이유 : 552 5.2.2 Mailbox full
"""
    assert found(chinese) == [("lihua_2008@126.example.com", "failed", "5.1.1")]
    assert found(korean) == [("hyun.park@hanmail.example.net", "failed", "5.2.2")]


def test_your_e_mail_to_names_the_recipient():
    text = """\
From: SMS Gateway <postmaster@sms.example.net>
To: list-bounces@example.org
Subject: SMS Delivery Failure
Content-Type: text/plain

Your e-mail to 4475550123@sms.example.net could not be delivered as a text message.
The number is not a mobile subscriber.
"""
    assert [(a, action) for a, action, _s in found(text)] == [
        ("4475550123@sms.example.net", "failed")
    ]


NOTES_REASONS_FIRST = """\
From: Postmaster@notes.example.co.jp
To: list-bounces@example.org
Subject: DELIVERY FAILURE: User hiro.tanaka not listed in Domino Directory
Content-Type: text/plain

------- Failure Reasons  --------

User not listed in public Name & Address Book
hiro.tanaka@example.co.jp
Recipient's mail database is over its size quota
m.ito@example.co.jp
"""


def test_reasons_written_above_each_address_belong_to_it():
    assert found(NOTES_REASONS_FIRST) == [
        ("hiro.tanaka@example.co.jp", "failed", "5.1.1"),
        ("m.ito@example.co.jp", "failed", "5.2.2"),
    ]


def test_bare_addresses_listed_together_share_the_reason_below():
    text = """\
From: Postmaster@ezweb.example.jp
To: list-bounces@example.org
Subject: Mail System Error - Returned Mail
Content-Type: text/plain

<yuto.k@ezweb.example.jp>
<aoi-n@ezweb.example.jp>

Each of the following recipients was rejected by a remote mail server.
"""
    assert found(text) == [
        ("yuto.k@ezweb.example.jp", "failed", "5.0.0"),
        ("aoi-n@ezweb.example.jp", "failed", "5.0.0"),
    ]


def test_the_last_attempt_decides_for_an_address_named_twice():
    text = """\
From: SurfControl <postmaster@gw.example.net>
To: list-bounces@example.org
Subject: Weekly digest
Content-Type: text/plain

Attempt 1:
yolanda@example.net
  [192.0.2.8], 452 4.2.2 Mailbox temporarily over quota

Attempt 2:
yolanda@example.net
  [192.0.2.8], 552 5.2.2 Mailbox over quota

--- Message non-deliverable.
"""
    assert found(text) == [("yolanda@example.net", "failed", "5.2.2")]


def test_a_recipient_list_wrapped_under_its_first_address_is_read_whole():
    text = """\
From: MAILER-DAEMON@james.example.com
To: list-bounces@example.org
Subject: [BOUNCE]
Content-Type: text/plain

Hi. This is the James mail server at james.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.

Error message below:
550 5.1.1 Requested action not taken: mailbox unavailable

Message details:
  Subject: Weekly digest
  RCPT TO: lea@example.com
           marc@example.com
  From: Pat Poster <poster@example.org>
  Size (in bytes): 1024
"""
    assert [a for a, _action, _s in found(text)] == ["lea@example.com", "marc@example.com"]


def test_the_servers_reply_in_the_next_paragraph_is_the_reason():
    text = """\
From: MAILER-DAEMON@dma.example.org
To: list-bounces@example.org
Subject: Mail delivery failed
Content-Type: text/plain

This is the DragonFly Mail Agent v0.13 at dma.example.org.

There was an error delivering your mail to <nina@example.net>.

mx.example.net [192.0.2.3] did not like our RCPT TO:
550 5.1.1 <nina@example.net>: Recipient address rejected: User unknown
"""
    (result,) = parse_report(text.encode()).recipients
    assert (result.address, result.action, result.status) == ("nina@example.net", "failed", "5.1.1")
    assert "Recipient address rejected" in result.diagnostic


def test_a_dsn_without_action_that_says_it_gave_up_is_a_failure():
    text = """\
From: MAILER-DAEMON@mx.example.es
To: list-bounces@example.org
Subject: Returned mail: message expired
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Your message could not be delivered for 5 days; delivery has been abandoned
and the message has expired.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.es

Final-Recipient: rfc822; lola@example.es
Status: 4.4.7

--b--
"""
    assert found(text) == [("lola@example.es", "failed", "4.4.7")]
    notice = text.split("--b\n")[1]
    warning = text.replace("Returned mail: message expired", "Warning: delayed mail").replace(
        notice,
        "Content-Type: text/plain\n\nYour message has not yet been delivered; delivery "
        "attempts will continue.\n\n",
    )
    assert found(warning) == [("lola@example.es", "delayed", "4.4.7")]


def test_a_notice_with_a_failure_section_and_a_delay_section_reads_each():
    text = """\
From: MAILER-DAEMON@mx.example.org
To: list-bounces@example.org
Subject: Delivery Status Notification
Content-Type: text/plain

Delivery to the following recipients failed permanently:

    lucy@example.net
        550 5.1.1 <lucy@example.net> Mailbox not found

Delivery to the following recipients has been delayed and will be retried:

    nell@example.net
        421 4.7.0 Too many concurrent connections
"""
    assert found(text) == [
        ("lucy@example.net", "failed", "5.1.1"),
        ("nell@example.net", "delayed", "4.7.0"),
    ]


def test_addresses_led_by_a_display_name_are_read():
    text = """\
From: Mail Delivery System <postmaster@mx.example.org>
To: list-bounces@example.org
Subject: Undeliverable: Weekly digest
Content-Type: text/plain

Your message could not be delivered to the following recipients:

    "Ivan Jones" <ivan.jones@example.org>
        Reason: 550 5.1.1 Recipient address rejected: user does not exist
    Kevin Lee <klee@example.org>
        Reason: 554 5.7.1 Message rejected by recipient's spam filter

Original sender: "Alice Example" <alice@example.com>
"""
    assert found(text) == [
        ("ivan.jones@example.org", "failed", "5.1.1"),
        ("klee@example.org", "failed", "5.7.1"),
    ]


def test_a_sentence_listing_recipients_over_two_lines_names_them_all():
    text = """\
From: postmaster@mx.example.com
To: list-bounces@example.org
Subject: Undeliverable mail
Content-Type: text/plain

The message you sent to dan.g@example.com, ella.h@example.com and
finn.i@example.com could not be delivered: the mailboxes do not exist.
"""
    assert sorted(a for a, _action, _s in found(text)) == [
        "dan.g@example.com", "ella.h@example.com", "finn.i@example.com"
    ]


def test_html_list_items_are_one_list_and_later_blocks_of_an_introduced_list_count():
    html = """\
From: postmaster@mailhost.example.org
To: list-bounces@example.org
Subject: Undeliverable
Content-Type: text/html; charset=us-ascii

<html><body>
<p>Your message to the following recipients could not be delivered because
the mailboxes do not exist:</p>
<ul>
<li>aaron@example.org</li>
<li>beth@example.org</li>
</ul>
</body></html>
"""
    qmail = """\
From: MAILER-DAEMON@mail.example.net
To: list-bounces@example.org
Subject: failure notice
Content-Type: text/plain

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<bob@example.net>:
Sorry, no mailbox here by that name. (#5.1.1)

<dave@example.net>:
This address no longer accepts mail.
"""
    assert [a for a, _action, _s in found(html)] == ["aaron@example.org", "beth@example.org"]
    assert [a for a, _action, _s in found(qmail)] == ["bob@example.net", "dave@example.net"]


def test_a_final_notice_in_another_language_that_gave_up_is_a_failure():
    text = """\
From: MAILER-DAEMON@mail.example.de
To: list-bounces@example.org
Subject: Benachrichtigung
Content-Type: text/plain; charset=utf-8

Ihre Nachricht konnte innerhalb von 4 Tagen nicht an folgenden Empfänger zugestellt werden:

  jonas@example.de
    451 4.3.0 Mail server temporarily rejected message

Es erfolgen keine weiteren Zustellversuche.
"""
    assert found(text) == [("jonas@example.de", "failed", "4.3.0")]


def test_a_warning_that_says_what_happens_if_delivery_fails_stays_a_warning():
    text = """\
From: MAILER-DAEMON@mail.example.pt
To: list-bounces@example.org
Subject: Aviso: mensagem ainda não entregue
Content-Type: text/plain; charset=utf-8

A sua mensagem ainda não foi entregue a:

  rui@example.pt
    421 4.3.2 Service not available

Continuaremos a tentar; se não for possível entregar em 5 dias, será devolvida.
"""
    assert found(text) == [("rui@example.pt", "delayed", "4.3.2")]


def test_the_returned_copy_names_the_subscriber_before_the_list_address():
    text = """\
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: list-bounces@example.org
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

\t--- Delivery report unavailable ---

--- Below this line is a copy of the message.

From: Poster <poster@example.org>
To: discuss@lists.example.org, quinn@example.net
List-Post: <mailto:discuss@lists.example.org>
Subject: Weekly digest
"""
    assert [(a, action) for a, action, _s in found(text)] == [("quinn@example.net", "failed")]
    alone = text.replace("To: discuss@lists.example.org, quinn@example.net",
                         "To: discuss@lists.example.org")
    # With nobody else named the list's address stands in; the token names the copy anyway.
    assert [(a, action) for a, action, _s in found(alone)] == [
        ("discuss@lists.example.org", "failed")
    ]
