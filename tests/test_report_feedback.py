"""parse_report on feedback-loop complaints (RFC 5965 ARF and its relatives).

A complaint names the subscriber who pressed "this is spam"; list copies carry the list's
own address in To, so the receiver's own headers must name the complainant.
"""

from __future__ import annotations

import base64

from ingest.reports import parse_report

COPY = """\
X-Apparently-To: ravi_88@example.net; Wed, 04 Dec 2024 09:15:12 +0000
Delivered-To: ravi_88@example.net
Received: from mx.lists.example.org (mx.lists.example.org [192.0.2.5])
\tby mta.example.net with ESMTPS; Wed, 04 Dec 2024 09:15:11 +0000
Delivered-To: hikers@lists.example.org
Return-Path: <list-bounces+Tk1@lists.example.org>
From: Poster <poster@example.org>
To: hikers@lists.example.org
List-Id: Hikers <hikers.lists.example.org>
List-Post: <mailto:hikers@lists.example.org>
Subject: Saturday walk
Message-ID: <walk-1@example.org>

See you on Saturday.
"""


def arf(copy: str, feedback_fields: str = "", *, encoding: str = "") -> bytes:
    attached = copy
    transfer = ""
    if encoding == "base64":
        attached = base64.encodebytes(copy.encode()).decode()
        transfer = "Content-Transfer-Encoding: base64\n"
    return f"""\
From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.example.com>
To: list-bounces+Tk1@lists.example.org
Subject: FW: Saturday walk
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="fb"

--fb
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.5.

--fb
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/1.0
Version: 1
Original-Mail-From: <list-bounces+Tk1@lists.example.org>
{feedback_fields}
--fb
Content-Type: message/rfc822
{transfer}
{attached}
--fb--
""".encode()


def complainants(raw: bytes) -> list[tuple[str, str | None]]:
    report = parse_report(raw)
    assert report.kind == "arf"
    return [(r.address, r.feedback_type) for r in report.recipients]


def test_without_original_rcpt_to_the_receivers_own_headers_name_the_complainant():
    assert complainants(arf(COPY)) == [("ravi_88@example.net", "abuse")]


def test_original_rcpt_to_comes_first():
    raw = arf(COPY, "Original-Rcpt-To: <ravi@example.net>\n")
    assert complainants(raw) == [("ravi@example.net", "abuse")]


def test_headers_added_before_the_last_hop_do_not_name_the_complainant():
    # Below the first Received line, Delivered-To is the list server's own delivery.
    copy = COPY.replace("X-Apparently-To: ravi_88@example.net; Wed, 04 Dec 2024 09:15:12 +0000\n"
                        "Delivered-To: ravi_88@example.net\n", "")
    copy = copy.replace("To: hikers@lists.example.org\n", "To: hikers@lists.example.org, "
                        "ravi_88@example.net\n")
    assert complainants(arf(copy)) == [("ravi_88@example.net", "abuse")]


def test_a_reported_copy_sent_base64_is_read():
    assert complainants(arf(COPY, encoding="base64")) == [("ravi_88@example.net", "abuse")]


def test_a_report_forwarded_whole_by_a_postmaster_is_read():
    inner = arf(COPY, "Original-Rcpt-To: <owen.t@example.com>\n").decode()
    raw = f"""\
From: Postmaster <postmaster@example.com>
To: list-bounces+Tk1@lists.example.org
Subject: Fwd: complaint
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="out"

--out
Content-Type: text/plain

Forwarding the complaint below.

--out
Content-Type: message/rfc822

{inner}
--out--
""".encode()
    assert complainants(raw) == [("owen.t@example.com", "abuse")]


def test_an_x_arf_report_is_a_feedback_report():
    raw = f"""\
From: reports@abuse.example.net
To: list-bounces+Tk1@lists.example.org
Subject: abuse report about 192.0.2.5
X-ARF: YES
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="x"

--x
Content-Type: text/plain; charset=utf-8

A spam trap received the attached message.

--x
Content-Type: text/plain; charset=utf-8; name="report.txt"

Reported-From: reports@abuse.example.net
Category: abuse
Report-Type: spam
Source: 192.0.2.5

--x
Content-Type: message/rfc822

{COPY.replace("ravi_88@example.net", "honeypot-17@example.org")}
--x--
""".encode()
    assert complainants(raw) == [("honeypot-17@example.org", "abuse")]
