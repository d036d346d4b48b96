"""How fast the MTA's hand-off of one report is: cold `listtrack-ingest report` processes
against bare `python -c pass`, run alternately on the same machine, medians compared.

Run: .venv/bin/python bench/handoff_speed.py [RUNS]   (default 40; budget: ratio <= 3)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ingest.testmta.dsn_writer import DeliveryReport, RecipientReport, write_dsn  # noqa: E402
from ingest.testmta.handoff import local_delivery_headers  # noqa: E402

BUDGET = 3.0
PYTHON = Path(sys.executable)
INGEST = PYTHON.parent / "listtrack-ingest"
RETURN_PATH = "bounce+1f-abcdefghijklmnopqrst@lists.example.org"


def sample_report() -> bytes:
    """A Postfix bounce as local(8) pipes it to the alias (about 2 KB)."""
    now = datetime.now(UTC)
    report = DeliveryReport(
        reporting_mta="mx.example.net", envelope_sender=RETURN_PATH, arrival=now, created=now,
        queue_id="4QX1Y2Z3A4", envid="1f-abcdefghijklmnopqrst", ret="HDRS",
        recipients=(RecipientReport(
            final_recipient="reader@example.net", original_recipient="rfc822;reader@example.net",
            action="failed", status="5.1.1", reason="User unknown",
            diagnostic="smtp; 550 5.1.1 <reader@example.net>: User unknown",
            remote_mta="dns; mx.example.net"),),
    )
    post = b"From: owner@example.org\nSubject: Notes\nMessage-ID: <n@example.org>\n\nHello\n"
    return local_delivery_headers(write_dsn(report, post), RETURN_PATH)


def timed(argv: list[str], data: bytes, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, input=data, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {done.returncode}: {done.stderr.decode().strip()}")
    return elapsed


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        (instance / "listtrack.conf").write_text(
            "secret_key benchmark-secret-0123456789\n", encoding="utf-8")
        env = {key: value for key, value in os.environ.items()
               if key not in ("LISTTRACK_CONFIG", "LISTTRACK_DB_URL")}
        env.update(LISTTRACK_INSTANCE=str(instance), ORIGINAL_RECIPIENT=RETURN_PATH,
                   RECIPIENT=RETURN_PATH, SENDER="")
        report = sample_report()
        bare, handoff = [], []
        for _ in range(3):  # warm the file cache for both
            timed([str(PYTHON), "-c", "pass"], b"", env)
            timed([str(INGEST), "report"], report, env)
        for _ in range(runs):
            bare.append(timed([str(PYTHON), "-c", "pass"], b"", env))
            handoff.append(timed([str(INGEST), "report"], report, env))
        stored = len(os.listdir(instance / "spool" / "reports" / "new"))
    bare_ms, handoff_ms = statistics.median(bare) * 1000, statistics.median(handoff) * 1000
    ratio = handoff_ms / bare_ms
    print(f"runs: {runs} each, alternating; report size {len(report)} bytes; "
          f"{stored} reports stored")
    print(f"python -c pass:            median {bare_ms:7.2f} ms")
    print(f"listtrack-ingest report:   median {handoff_ms:7.2f} ms")
    verdict = "met" if ratio <= BUDGET else "NOT met"
    print(f"ratio: {ratio:.2f} x  (budget <= {BUDGET:.0f} x: {verdict})")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
