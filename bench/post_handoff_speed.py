"""Post hand-off speed: median of cold `listtrack-ingest post` runs, for a list of 10 and one
of 10,000 subscribers, side by side with a bare `python -c pass` (target: under 100 ms).

Run: `.venv/bin/python bench/post_handoff_speed.py [--runs N] [--db-url URL]`. The runs of the
three commands are interleaved, so machine load hits them alike. `--db-url` names an empty
database (PostgreSQL, MariaDB) to build the schema in; the default is a throw-away SQLite one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from listtrack.database import make_engine, make_session_factory
from listtrack.lists import add_subscribers, create_list, find_list
from listtrack.schema import upgrade_database

BIN = Path(sys.executable).parent
POST = (
    b"From: Reader <reader000005@example.net>\r\nTo: list@lists.example.org\r\n"
    b"Subject: Hand-off benchmark\r\nMessage-ID: <handoff@example.net>\r\n\r\n"
    + b"A line of the body.\r\n"
    * 200
)


def timed(command: list[str], env: dict[str, str], data: bytes) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, input=data, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited {result.returncode}: {result.stderr.decode().strip()}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db-url", help="an empty database to use instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listtrack-bench-") as folder:
        url = args.db_url or f"sqlite:///{folder}/listtrack.db"
        upgrade_database(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            for name, size in (("small", 10), ("large", 10_000)):
                address = f"{name}@lists.example.org"
                if find_list(session, address) is not None:
                    continue  # a database kept from an earlier run
                mailing_list = create_list(session, address, ["owner@example.org"])
                add_subscribers(
                    session,
                    mailing_list,
                    [f"reader{number:06d}@example.net" for number in range(size)],
                )
            session.commit()
        engine.dispose()
        env = {**os.environ, "LISTTRACK_INSTANCE": folder, "LISTTRACK_DB_URL": url}
        env.pop("LISTTRACK_CONFIG", None)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "post, 10 subscribers": [
                str(BIN / "listtrack-ingest"),
                "post",
                "small@lists.example.org",
            ],
            "post, 10,000 subscribers": [
                str(BIN / "listtrack-ingest"),
                "post",
                "large@lists.example.org",
            ],
        }
        times: dict[str, list[float]] = {label: [] for label in commands}
        for command in commands.values():  # warm the page cache once
            timed(command, env, POST)
        for _ in range(args.runs):
            for label, command in commands.items():
                times[label].append(timed(command, env, POST))
        spooled = len(os.listdir(Path(folder, "spool", "posts", "new")))
    baseline = statistics.median(times["python -c pass"])
    backend = (args.db_url or "sqlite").split(":", 1)[0]
    print(f"database: {backend}, runs: {args.runs} each (interleaved), {spooled} posts spooled")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:28s} median {median * 1000:6.1f} ms  ({median / baseline:.2f} x python)")
    worst = max(statistics.median(times[label]) for label in list(commands)[1:])
    print(f"target: under 100 ms -> {'met' if worst < 0.1 else 'NOT met'}")


if __name__ == "__main__":
    main()
