"""``python -m ingest.testmta``: run the loopback MTA until Ctrl-C (for the demo, benchmarks)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from ingest.testmta.behaviours import RULES
from ingest.testmta.handoff import RECIPIENT_PLACEHOLDER, handoff_command
from ingest.testmta.server import LoopbackMTA

log = logging.getLogger("ingest.testmta")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.testmta",
        description="Loopback SMTP server that answers like remote systems and sends "
        "DSNs/MDNs back to the envelope sender.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument(
        "--no-dsn",
        action="store_true",
        help="do not advertise DSN; refuse NOTIFY/ORCPT/RET/ENVID with 555",
    )
    parser.add_argument(
        "--handoff",
        metavar="COMMAND",
        help="pipe each report into COMMAND, like an MTA alias (e.g. 'listtrack-ingest "
        f"report'); {RECIPIENT_PLACEHOLDER} in it becomes the report's envelope recipient. "
        "Default: keep reports in memory and log one line each",
    )
    parser.add_argument("--rule", choices=sorted(RULES), default="local-part")
    parser.add_argument(
        "--later",
        type=float,
        default=None,
        help="seconds from a delay DSN to its success DSN, and from delivery to the MDN "
        "(default: 0.2 for local-part, 5 for demo)",
    )
    parser.add_argument("--reporting-mta", help="Reporting-MTA name (default mx.<domain>)")
    parser.add_argument("--crlf", action="store_true", help="write reports with CRLF lines")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel hand-offs")
    parser.add_argument(
        "--drain",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on Ctrl-C/SIGTERM, wait this long for queued reports (again: stop now)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the server until SIGINT/SIGTERM, report what was handed over."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: one line per command
    rule_factory = RULES[args.rule]
    rule = rule_factory() if args.later is None else rule_factory(later=args.later)
    deliver = handoff_command(shlex.split(args.handoff)) if args.handoff else None
    mta = LoopbackMTA(
        args.host,
        args.port,
        behaviour=rule,
        deliver_report=deliver,
        advertise_dsn=not args.no_dsn,
        reporting_mta=args.reporting_mta,
        handoff_concurrency=args.concurrency,
        report_linesep="\r\n" if args.crlf else "\n",
    )
    if deliver is None:
        mta.deliver_report = _log_report
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    mta.start()
    print(f"loopback MTA on {args.host}:{mta.port} (Ctrl-C to stop)", file=sys.stderr)
    try:
        while not stop.wait(0.5):
            pass
        _drain(mta, args.drain)
    except KeyboardInterrupt:
        _drain(mta, args.drain)
    finally:
        mta.stop()
    failures = len(mta.report_failures)
    print(
        f"{len(mta.transactions)} transactions, {len(mta.reports_sent)} reports handed "
        f"over, {failures} failed",
        file=sys.stderr,
    )
    return 1 if failures else 0


def _drain(mta: LoopbackMTA, seconds: float) -> None:
    """Hand over what is queued before stopping; a second Ctrl-C cuts it short."""
    if mta.pending_reports:
        print(f"handing over {mta.pending_reports} queued report(s)...", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        mta.wait_idle(seconds)


def _log_report(raw: bytes, envelope_recipient: str) -> None:
    subject = next(
        (line for line in raw.splitlines() if line.startswith(b"Subject:")), b"Subject: ?"
    )
    log.info("report to %s: %s", envelope_recipient, subject.decode("ascii", "replace"))


if __name__ == "__main__":
    sys.exit(main())
