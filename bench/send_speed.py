"""Sending speed: 10,000 recipients delivered to the loopback test MTA (target: under 10 s).

Run: `.venv/bin/python bench/send_speed.py [--recipients N] [--connections N] [--dsn on|off]`.
Builds a throw-away SQLite instance, a list with N subscribers and one spooled post; times
the distribution (registration of N deliveries) and the sending, each on its own. The test
MTA runs in its own process (`python -m ingest.testmta`), as a real MTA would. Side by side,
the test MTA's own load client (bare smtplib, no database) sends the same number to a fresh
test MTA: the ratio says what listtrack adds over the server's own speed on this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from ingest import spool
from ingest.distribution import process_spooled_posts
from ingest.sending import send_due_deliveries
from listtrack.config import load_site_config
from listtrack.database import make_engine, make_session_factory
from listtrack.lists import add_subscribers, create_list
from listtrack.models import Delivery
from listtrack.schema import upgrade_database

HEADER = (
    b"From: Ann Author <author@example.org>\r\nTo: bench@lists.example.org\r\n"
    b"Subject: Benchmark post\r\nMessage-ID: <bench-1@example.org>\r\n"
    b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_mta(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "ingest.testmta", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the loopback test MTA did not start")


def bare_client_seconds(count: int, connections: int, dsn: str) -> float | None:
    """Seconds the test MTA's load client needs for `count` transactions (None if it fails)."""
    port = free_port()
    mta = start_mta(port)
    try:
        notify = ["--notify", "SUCCESS,FAILURE,DELAY" if dsn == "on" else "NEVER"]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ingest.testmta.load_client",
                "--port",
                str(port),
                "--count",
                str(count),
                "--connections",
                str(connections),
                *notify,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        mta.terminate()
        mta.communicate(timeout=60)
    found = re.search(r"accepted in ([0-9.]+) s", result.stdout)
    return float(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--dsn", choices=("on", "off"), default="on")
    parser.add_argument(
        "--body-lines",
        type=int,
        default=1,
        help="lines in the post's body (1: as small as the load client's)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="listtrack-bench-") as folder:
        os.environ["LISTTRACK_INSTANCE"] = folder
        os.environ.pop("LISTTRACK_CONFIG", None)
        os.environ.pop("LISTTRACK_DB_URL", None)
        port = free_port()
        Path(folder, "listtrack.conf").write_text(
            f"domain lists.example.org\nsmtp_host 127.0.0.1\nsmtp_port {port}\n"
            f"smtp_connections {args.connections}\n"
            f"tracking_delivery_status_notification {args.dsn}\n"
            "tracking_message_disposition_notification on\n",
            encoding="utf-8",
        )
        site = load_site_config()
        upgrade_database(site.db_url)
        engine = make_engine(site.db_url)
        factory = make_session_factory(engine)
        with factory() as session:
            mailing_list = create_list(session, "bench@lists.example.org", ["o@example.org"])
            add_subscribers(
                session,
                mailing_list,
                [f"reader{number:06d}@example.net" for number in range(args.recipients)],
            )
            session.commit()
        spool.store(
            site.spool_path,
            spool.POSTS,
            {
                "received": time.time(),
                "list": "bench@lists.example.org",
                "author": "author@example.org",
                "sender": None,
            },
            HEADER + b"A list post of a few lines.\r\n" * args.body_lines,
        )
        mta = start_mta(port)
        try:
            started = time.perf_counter()
            process_spooled_posts(site, factory)
            registered = time.perf_counter()
            cpu_before = time.process_time()
            while send_due_deliveries(site, factory):
                pass
            finished = time.perf_counter()
            cpu = time.process_time() - cpu_before
        finally:
            mta.terminate()
            _, errors = mta.communicate(timeout=60)
        mta_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        with factory() as session:
            sent = session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.send_state == "sent")
            )
        engine.dispose()
    summary = errors.decode().strip().splitlines()[-1] if errors.strip() else "?"
    bare = bare_client_seconds(args.recipients, args.connections, args.dsn)
    seconds = finished - registered
    print(
        f"recipients: {args.recipients}, connections: {args.connections}, DSN: {args.dsn}, "
        f"body: {args.body_lines} line(s)"
    )
    print(f"registration: {registered - started:.2f} s")
    print(
        f"sending: {seconds:.2f} s, {sent / seconds:,.0f} recipients/s "
        f"({sent} marked sent; test MTA: {summary})"
    )
    print(
        f"CPU during sending: listtrack {cpu:.2f} s, test MTA (whole run) "
        f"{mta_cpu.ru_utime + mta_cpu.ru_stime:.2f} s"
    )
    if bare:
        print(
            f"bare smtplib load client, same MTA, same count: {bare:.2f} s -> "
            f"listtrack / bare = {seconds / bare:.2f}"
        )
    print(f"target: under 10 s for 10,000 -> {'met' if seconds < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
