"""How fast parse_report is next to the standard email package merely parsing the same bytes.

Run: python bench/parse_speed.py [CORPUS_DIR] [--repeat N]
Prints messages/second for email.message_from_bytes(policy=compat32) and for parse_report,
side by side, over the corpus files and over one typical Postfix DSN repeated N times
(5,000 by default), with their ratio. The budget is a ratio of at least 1/3 (aim: 0.5).
"""

from __future__ import annotations

import argparse
import email
import sys
import time
from collections.abc import Callable
from email.policy import compat32
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "bounces"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ingest.reports import parse_report  # noqa: E402


def postfix_dsn(number: int = 1) -> bytes:
    """A bounce as Postfix 3 writes it for a tracked list message (RET=HDRS, ENVID, ORCPT)."""
    boundary = f"3F1A2B4C5D.{1700000000 + number}/mx.example.org"
    return f"""Return-Path: <>
Received: by mx.example.org (Postfix)
\tid 3F1A2B4C5D; Mon,  4 Dec 2023 10:15:02 +0100 (CET)
Date: Mon,  4 Dec 2023 10:15:02 +0100 (CET)
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounce+a1b2c3d4e5f6{number}@lists.example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20231204091502.3F1A2B4C5D@mx.example.org>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<alice{number}@example.net>: host mail.example.net[192.0.2.25] said: 550 5.1.1
    <alice{number}@example.net>: Recipient address rejected: User unknown in
    local recipient table (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 3F1A2B4C5D
X-Postfix-Sender: rfc822; bounce+a1b2c3d4e5f6{number}@lists.example.org
Original-Envelope-Id: a1b2c3d4e5f6{number}
Arrival-Date: Mon,  4 Dec 2023 10:15:01 +0100 (CET)

Final-Recipient: rfc822; alice{number}@example.net
Original-Recipient: rfc822;alice{number}@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.net
Diagnostic-Code: smtp; 550 5.1.1 <alice{number}@example.net>: Recipient address
    rejected: User unknown in local recipient table

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <bounce+a1b2c3d4e5f6{number}@lists.example.org>
Received: from lists.example.org (lists.example.org [192.0.2.10])
\tby mx.example.org (Postfix) with ESMTPS id 3F1A2B4C5D
\tfor <alice{number}@example.net>; Mon,  4 Dec 2023 10:15:01 +0100 (CET)
From: Bob <bob@example.com>
To: team@lists.example.org
Subject: [team] Minutes of Monday's meeting
Date: Mon, 4 Dec 2023 10:14:58 +0100
Message-ID: <minutes-{number}@example.com>
List-Id: <team.lists.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

--{boundary}--
""".encode()


def rate(function: Callable[[bytes], object], messages: list[bytes], rounds: int) -> float:
    """Messages per second over `rounds` passes, best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            for raw in messages:
                function(raw)
        best = min(best, time.perf_counter() - start)
    return len(messages) * rounds / best


def compare(label: str, messages: list[bytes], rounds: int) -> float:
    """Print both rates for one set of messages and return their ratio."""
    baseline = rate(lambda raw: email.message_from_bytes(raw, policy=compat32), messages, rounds)
    ours = rate(parse_report, messages, rounds)
    ratio = ours / baseline
    print(
        f"{label:<34} email.message_from_bytes: {baseline:9,.0f}/s   "
        f"parse_report: {ours:9,.0f}/s   ratio: {ratio:.2f}"
    )
    return ratio


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5000)
    options = parser.parse_args(argv[1:])
    dsn = postfix_dsn()
    report = parse_report(dsn)
    assert report.kind == "dsn" and report.recipients[0].action == "failed", report
    compare(f"typical Postfix DSN x {options.repeat}", [dsn], options.repeat)
    files = sorted(options.corpus.glob("*.eml")) if options.corpus.is_dir() else []
    if files:
        corpus = [path.read_bytes() for path in files]
        compare(f"corpus ({len(corpus)} files) x 3", corpus, 3)
    else:
        print(f"corpus not found at {options.corpus}; skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
