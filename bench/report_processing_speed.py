"""How fast spooled reports are filed: 10,000 Postfix DSNs for one message with 10,000
deliveries, into SQLite, on one core, through the worker's own drainer; and, side by side
on the same files, how fast the standard `email` package (compat32) merely parses them.

Run: .venv/bin/python bench/report_processing_speed.py [REPORTS] [ROUNDS]
(default 10000 reports, 3 rounds; budgets: >= 2,000 DSNs/s and >= 1/3 of the parse rate).
The process is pinned to one core; BENCH_PIN_CORE=0 lets the scheduler pick (the worker is
single-threaded either way), which reads truer on a machine busy with other work. Rates per
CPU second are printed too, as they move less with the machine's load.
"""

from __future__ import annotations

import email
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.policy import compat32
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from ingest import spool  # noqa: E402
from ingest.report_processing import process_spooled_reports  # noqa: E402
from ingest.testmta.dsn_writer import DeliveryReport, RecipientReport, write_dsn  # noqa: E402
from ingest.testmta.handoff import local_delivery_headers  # noqa: E402
from ingest.verp import make_token, verp_address  # noqa: E402
from listtrack.config import load_site_config  # noqa: E402
from listtrack.database import make_engine, make_session_factory  # noqa: E402
from listtrack.models import Delivery, MailingList, Message  # noqa: E402
from listtrack.schema import upgrade_database  # noqa: E402

RATE_BUDGET = 2000.0
SHARE_BUDGET = 1 / 3
SECRET = "benchmark-secret-0123456789"
POST = (b"From: Owner <owner@example.org>\nTo: board@lists.example.org\n"
        b"Subject: Board meeting notes\nMessage-ID: <bench@lists.example.org>\n"
        b"Date: Thu, 04 Dec 2025 10:00:00 +0000\n\nThe notes.\n")


def make_site(folder: Path):  # noqa: ANN201
    (folder / "listtrack.conf").write_text(f"secret_key {SECRET}\ndomain lists.example.org\n",
                                           encoding="utf-8")
    os.environ["LISTTRACK_INSTANCE"] = str(folder)
    os.environ.pop("LISTTRACK_CONFIG", None)
    os.environ.pop("LISTTRACK_DB_URL", None)
    return load_site_config()


def make_deliveries(session_factory, count: int) -> list[int]:  # noqa: ANN001
    with session_factory() as session:
        mailing_list = MailingList(name="board", domain="lists.example.org")
        session.add(mailing_list)
        session.flush()
        message = Message(list_id=mailing_list.id, message_id="<bench@lists.example.org>",
                          date=datetime.now(UTC), year_month="2025-12", raw=POST,
                          dsn_requested=True)
        session.add(message)
        session.flush()
        session.execute(insert(Delivery), [
            {"message_id": message.id, "recipient": f"reader{n:05d}@example.net",
             "send_state": "sent"} for n in range(count)])
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        session.commit()
    return ids


def piped_reports(site, ids: list[int]) -> list[tuple[str, bytes]]:  # noqa: ANN001
    """One failure DSN per delivery, as Postfix local(8) pipes it to the bounce alias."""
    now = datetime.now(UTC)
    reports = []
    for number, delivery_id in enumerate(ids):
        return_path = verp_address(site.bounce_email_prefix, site.domain, delivery_id, SECRET)
        recipient = f"reader{number:05d}@example.net"
        report = DeliveryReport(
            reporting_mta="mx.example.net", envelope_sender=return_path, arrival=now,
            created=now, queue_id=f"4Q{number:08X}", envid=make_token(delivery_id, SECRET),
            ret="HDRS", recipients=(RecipientReport(
                final_recipient=recipient, original_recipient=f"rfc822;{recipient}",
                action="failed", status="5.1.1", reason="User unknown",
                diagnostic=f"smtp; 550 5.1.1 <{recipient}>: User unknown",
                remote_mta="dns; mx.example.net"),))
        reports.append((return_path, local_delivery_headers(write_dsn(report, POST),
                                                            return_path)))
    return reports


def one_round(count: int, reports: list[tuple[str, bytes]] | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        site = make_site(Path(folder))
        upgrade_database(site.db_url)
        engine = make_engine(site.db_url)
        factory = make_session_factory(engine)
        ids = make_deliveries(factory, count)
        reports = reports or piped_reports(site, ids)
        for return_path, data in reports:
            spool.store(site.spool_path, spool.REPORTS, {
                "received": time.time(), "recipients": [["env:ORIGINAL_RECIPIENT", return_path]]
            }, data)
        paths = list(spool.pending(site.spool_path, spool.REPORTS))

        start, cpu = time.perf_counter(), time.process_time()
        for path in paths:
            email.message_from_bytes(path.read_bytes(), policy=compat32)
        parse_seconds = time.perf_counter() - start
        parse_cpu = time.process_time() - cpu

        start, cpu = time.perf_counter(), time.process_time()
        filed = 0
        while done := process_spooled_reports(site, factory):
            filed += done
        process_seconds = time.perf_counter() - start
        process_cpu = time.process_time() - cpu

        with factory() as session:
            failed = session.scalar(select(func.count()).select_from(Delivery)
                                    .where(Delivery.status == "failed"))
        engine.dispose()
    if filed != count or failed != count:
        raise SystemExit(f"expected {count} filed and failed, got {filed} and {failed}")
    return {"reports": reports, "parse": count / parse_seconds,
            "process": count / process_seconds, "parse_cpu": count / parse_cpu,
            "process_cpu": count / process_cpu}


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if hasattr(os, "sched_setaffinity") and os.environ.get("BENCH_PIN_CORE", "1") == "1":
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    reports = None
    results = []
    for _ in range(rounds):
        results.append(one_round(count, reports))
        reports = results[-1]["reports"]  # same delivery ids in every fresh database

    def median(key: str) -> float:
        return statistics.median(result[key] for result in results)

    parse, process = median("parse"), median("process")
    share = process / parse
    print(f"{count} DSNs for one message with {count} deliveries, SQLite, one core, "
          f"{rounds} round(s), medians (per wall-clock second / per CPU second)")
    print(f"email.message_from_bytes (compat32), parse only: {parse:8.0f} /s "
          f"{median('parse_cpu'):8.0f} /CPU s")
    print(f"listtrack worker, filed into the database:       {process:8.0f} /s "
          f"{median('process_cpu'):8.0f} /CPU s")
    print(f"filed: {process:.0f}/s (budget >= {RATE_BUDGET:.0f}: "
          f"{'met' if process >= RATE_BUDGET else 'NOT met'}); "
          f"ratio to parse-only: {share:.2f} (budget >= 0.33: "
          f"{'met' if share >= SHARE_BUDGET else 'NOT met'})")
    return 0 if process >= RATE_BUDGET and share >= SHARE_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
