"""``python -m ingest.testmta.load_client``: time N one-recipient transactions to an MTA.

Sends like listtrack's worker (VERP sender, RET=HDRS ENVID, NOTIFY + ORCPT, one transaction
per recipient, connections reused) from several processes, to check the 10,000-in-10-s goal.
"""

from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import sys
import time
from collections.abc import Sequence

MESSAGE = (
    "From: Owner <owner@example.org>\r\n"
    "To: list@lists.example.org\r\n"
    "Subject: Load test\r\n"
    "Message-ID: <load-{n}@lists.example.org>\r\n"
    "\r\n"
    "A list post of a few lines.\r\n"
)


def send_share(host: str, port: int, numbers: Sequence[int], domain: str, notify: str) -> int:
    """Send one transaction per number over a single connection; return how many got 250."""
    accepted = 0
    with smtplib.SMTP(host, port) as client:
        client.ehlo("lists.example.org")
        for n in numbers:
            token = f"T{n:06d}x"
            rcpt = f"user{n}@{domain}"
            try:
                client.sendmail(
                    f"bounce+{token}@lists.example.org",
                    [rcpt],
                    MESSAGE.format(n=n).encode("ascii"),
                    mail_options=["RET=HDRS", f"ENVID={token}"],
                    rcpt_options=[f"NOTIFY={notify}", f"ORCPT=rfc822;{rcpt}"],
                )
                accepted += 1
            except smtplib.SMTPRecipientsRefused:
                client.rset()
    return accepted


def _worker(args: tuple[str, int, list[int], str, str]) -> int:
    return send_share(*args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.testmta.load_client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--domain", default="example.net")
    parser.add_argument("--notify", default="SUCCESS,FAILURE,DELAY")
    args = parser.parse_args(argv)
    shares = [
        (args.host, args.port, numbers, args.domain, args.notify)
        for numbers in (
            list(range(i, args.count, args.connections)) for i in range(args.connections)
        )
    ]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.connections) as pool:
        ready = time.perf_counter()
        accepted = sum(pool.map(_worker, shares))
    elapsed = time.perf_counter() - ready
    print(
        f"{accepted}/{args.count} accepted in {elapsed:.2f} s over {args.connections} "
        f"connections ({accepted / elapsed:.0f}/s; pool start {ready - started:.2f} s)"
    )
    return 0 if accepted == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
