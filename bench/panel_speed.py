"""Server time of the tracking panel at 100,000 recipients next to the same page at 100.

Run: python bench/panel_speed.py [--recipients N] [--small N] [--runs N]
Builds a scratch SQLite instance through the migrations, bulk-inserts one message with
100,000 deliveries (realistic statuses, a notification behind every reported one) and one
with 100, signs in as the list owner through the real form, then times, through the Flask
test client, the full panel page (summary + first page of rows) and its fragments for both
messages, runs interleaved, and prints the medians and the ratio.
Budget (DESIGN.md): under 50 ms at 100,000 and no more than 2x the 100-recipient page.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert  # noqa: E402

from listtrack.accounts import create_user  # noqa: E402
from listtrack.archive import archive_message  # noqa: E402
from listtrack.config import load_site_config  # noqa: E402
from listtrack.database import make_engine, make_session_factory  # noqa: E402
from listtrack.evidence import store_report  # noqa: E402
from listtrack.lists import create_list  # noqa: E402
from listtrack.models import Delivery, Notification  # noqa: E402
from listtrack.schema import upgrade_database  # noqa: E402

# Shares seen on a real announcement list a day after sending.
STATUS_MIX = (
    ("delivered", 0.55),
    ("displayed", 0.18),
    ("deleted", 0.02),
    ("failed", 0.04),
    ("delayed", 0.02),
    ("waiting", 0.12),
    ("expanded", 0.01),
    ("relayed", 0.01),
    ("digest", 0.04),
    ("nomail", 0.01),
)
CODES = {
    "delivered": "2.0.0",
    "failed": "5.1.1",
    "delayed": "4.4.1",
    "expanded": "2.0.0",
    "relayed": "2.0.0",
}
PASSWORD = "benchmark password"
OWNER = "owner@example.org"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def build_instance(folder: Path, large: int, small: int) -> tuple[str, str]:
    """The scratch site and database; returns the two messages' Message-IDs (no brackets)."""
    (folder / "listtrack.conf").write_text("domain lists.example.org\n", encoding="utf-8")
    site = load_site_config()
    upgrade_database(site.db_url)
    engine = make_engine(site.db_url)
    with make_session_factory(engine)() as session:
        create_user(session, OWNER, PASSWORD)
        mailing_list = create_list(session, "announce@lists.example.org", [OWNER])
        ids = []
        for number, count in enumerate((large, small), start=1):
            raw = (
                f"Message-ID: <bench{number}@example.org>\r\nFrom: {OWNER}\r\n"
                f"Subject: Announcement {number}\r\n\r\nText.\r\n"
            ).encode()
            message = archive_message(session, mailing_list, raw, received_at=T0).message
            message.dsn_requested = message.mdn_requested = True
            message.distributed_at = T0
            session.flush()
            insert_deliveries(session, message.id, count, seed=number)
            ids.append(f"bench{number}@example.org")
        session.commit()
    engine.dispose()
    return ids[0], ids[1]


def insert_deliveries(session, message_id: int, count: int, seed: int) -> None:  # noqa: ANN001
    """Bulk-insert deliveries and, for every reported one, the notification behind it."""
    rng = random.Random(seed)
    words, weights = zip(*STATUS_MIX, strict=True)
    report, _ = store_report(
        session, f"bench report {seed}\r\n".encode(), "dsn", message_id=message_id, received_at=T0
    )
    domains = [f"example{n}.{tld}" for n in range(40) for tld in ("org", "net", "com")]
    rows = []
    for number in range(count):
        status = rng.choices(words, weights)[0]
        reported = status not in ("waiting", "digest", "nomail")
        when = T0 + timedelta(seconds=rng.randint(5, 86_400)) if reported else None
        rows.append(
            {
                "message_id": message_id,
                "recipient": f"{rng.choice('abcdefghijklmnopqrstuvwxyz')}{number:06d}."
                f"{rng.randint(0, 99_999)}@{rng.choice(domains)}",
                "reception": status if status in ("digest", "nomail") else "mail",
                "status": status,
                "status_code": CODES.get(status),
                "diagnostic": "smtp; 550 5.1.1 user unknown" if status == "failed" else None,
                "last_notification_at": when,
                "status_at": when,
                "send_state": "skipped" if status in ("digest", "nomail") else "sent",
            }
        )
    for start in range(0, count, 5000):
        session.execute(insert(Delivery), rows[start : start + 5000])
    session.flush()
    reported = session.execute(
        Delivery.__table__.select()
        .with_only_columns(Delivery.id, Delivery.status, Delivery.last_notification_at)
        .where(Delivery.message_id == message_id, Delivery.last_notification_at.is_not(None))
    ).all()
    notifications = [
        {
            "delivery_id": delivery_id,
            "report_id": report.id,
            "kind": "mdn" if status in ("displayed", "deleted") else "dsn",
            "action": status,
            "status_code": CODES.get(status),
            "received_at": when,
        }
        for delivery_id, status, when in reported
    ]
    for start in range(0, len(notifications), 5000):
        session.execute(insert(Notification), notifications[start : start + 5000])


def signed_in_client(app):  # noqa: ANN001, ANN201
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, "sign-in failed"
    return client


def time_request(client, url: str) -> float:  # noqa: ANN001
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--runs", type=int, default=21)
    options = parser.parse_args()

    import os

    with tempfile.TemporaryDirectory(prefix="listtrack-bench-") as scratch:
        folder = Path(scratch)
        os.environ["LISTTRACK_INSTANCE"] = str(folder)
        os.environ.pop("LISTTRACK_CONFIG", None)
        os.environ.pop("LISTTRACK_DB_URL", None)
        started = time.perf_counter()
        large_id, small_id = build_instance(folder, options.recipients, options.small)
        print(
            f"built {options.recipients:,} + {options.small:,} deliveries in "
            f"{time.perf_counter() - started:.1f} s"
        )

        from webapp import create_app

        app = create_app({"SITE": load_site_config()})
        client = signed_in_client(app)
        base = "/lists/announce@lists.example.org/msg/{}/tracking"
        views = {
            "panel (summary + first page)": "",
            "summary fragment": "/summary",
            "rows fragment, filter failed": "/results?status=failed",
            "rows fragment, search": "/results?q=example7.net",
            "search, no match (reads all)": "/results?q=nobody-at-all",
            "next page (keyset)": None,
        }
        print(f"median of {options.runs} runs, interleaved, milliseconds")
        print(f"{'view':32} {options.recipients:>10,} {options.small:>10,}   ratio")
        for label, tail in views.items():
            urls = []
            for message_id in (large_id, small_id):
                if tail is None:  # continue after the 50th row, as "load more" does
                    page = client.get(base.format(message_id)).get_data(as_text=True)
                    tail_url = re.search(r'hx-get="([^"]*/rows\?after=\d+)"', page).group(1)
                    urls.append(tail_url)
                else:
                    urls.append(base.format(message_id) + tail)
            for url in urls:  # warm the caches of both before measuring
                for _ in range(3):
                    time_request(client, url)
            timings: tuple[list[float], list[float]] = ([], [])
            for _ in range(options.runs):
                for index, url in enumerate(urls):
                    timings[index].append(time_request(client, url))
            large, small = (statistics.median(t) * 1000 for t in timings)
            print(f"{label:32} {large:10.2f} {small:10.2f}   {large / small:5.2f}x")
        print("budget: panel at 100,000 under 50 ms and at most 2.00x the small panel")


if __name__ == "__main__":
    main()
