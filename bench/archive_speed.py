"""Server time of the archive's month page with 50,000 archived messages, next to a small list.

Run: python bench/archive_speed.py [--messages N] [--runs N]
Builds a scratch SQLite instance through the migrations and bulk-inserts, through the
`Message` model, realistic posts (threads of 1 to 8 messages, replies a few hours apart,
raw bytes and the search extract as `archive_message` stores them) for three lists:
  spread  - N messages over 24 months (a busy list's archive),
  onemonth - N messages all in one month (the worst case for a month page),
  small   - 60 messages in one month (the reference).
Then it signs in as the owner through the real form and times, through the Flask test
client, the month page (threads and by date, first and last page), the list page, a
message page and a search, runs interleaved, and prints the medians and the ratios.
Target (issue 5): the month page under 100 ms with 50,000 messages.
"""

from __future__ import annotations

import argparse
import os
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

from sqlalchemy import insert, select  # noqa: E402

from listtrack.accounts import create_user  # noqa: E402
from listtrack.config import load_site_config  # noqa: E402
from listtrack.database import make_engine, make_session_factory  # noqa: E402
from listtrack.lists import create_list  # noqa: E402
from listtrack.message_view import extract_body_text  # noqa: E402
from listtrack.models import Message  # noqa: E402
from listtrack.schema import upgrade_database  # noqa: E402

OWNER = "owner@example.org"
PASSWORD = "benchmark password"
WORDS = (
    "meeting",
    "agenda",
    "budget",
    "release",
    "notes",
    "board",
    "minutes",
    "vote",
    "proposal",
    "draft",
    "review",
    "schedule",
    "venue",
    "travel",
    "report",
    "members",
    "treasurer",
    "election",
    "update",
    "question",
    "answer",
    "thanks",
    "deadline",
    "workshop",
    "newsletter",
)
START = datetime(2025, 1, 1, tzinfo=UTC)


def post_bytes(
    message_id: str, subject: str, sender: str, date: datetime, parent: str | None, body: str
) -> bytes:
    headers = [
        f"From: {sender.split('@')[0].title()} <{sender}>",
        "To: list@example.org",
        f"Subject: {subject}",
        f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if parent:
        headers += [f"In-Reply-To: {parent}", f"References: {parent}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def message_rows(
    list_id: int, count: int, first_id: int, start: datetime, span: timedelta, rng: random.Random
) -> list[dict]:
    """Threads of 1-8 messages; each reply a few hours after what it answers."""
    rows: list[dict] = []
    next_id = first_id
    while len(rows) < count:
        thread_size = min(rng.choice((1, 1, 2, 2, 3, 4, 5, 8)), count - len(rows))
        topic = " ".join(rng.sample(WORDS, 3)).capitalize()
        root_date = start + timedelta(seconds=rng.randrange(int(span.total_seconds())))
        members: list[dict] = []
        for position in range(thread_size):
            parent = rng.choice(members) if members else None
            date = (
                (parent["date"] + timedelta(minutes=rng.randrange(20, 600)))
                if parent
                else root_date
            )
            sender = f"member{rng.randrange(400)}@example.org"
            message_id = f"<bench.{list_id}.{next_id}@example.org>"
            subject = ("Re: " if parent else "") + topic
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 250)))
            raw = post_bytes(
                message_id, subject, sender, date, parent["message_id"] if parent else None, body
            )
            row = {
                "id": next_id,
                "list_id": list_id,
                "message_id": message_id,
                "subject": subject,
                "sender": sender,
                "sender_name": sender.split("@")[0],
                "date": date,
                "year_month": f"{date.year:04d}-{date.month:02d}",
                "in_reply_to": parent["message_id"] if parent else None,
                "references": parent["message_id"] if parent else None,
                "parent_id": parent["id"] if parent else None,
                "thread_id": members[0]["id"] if members else next_id,
                "size": len(raw),
                "raw": raw,
                "body_text": extract_body_text(raw),
                "received_at": date,
                "dsn_requested": position == 0,
            }
            members.append(row)
            rows.append(row)
            next_id += 1
    return rows


def build(folder: Path, messages: int) -> dict[str, str]:
    """The scratch site; returns list address by scenario."""
    (folder / "listtrack.conf").write_text("domain lists.example.org\n", encoding="utf-8")
    site = load_site_config()
    upgrade_database(site.db_url)
    engine = make_engine(site.db_url)
    rng = random.Random(5)
    scenarios = {
        "spread": (messages, START, timedelta(days=730)),
        "onemonth": (messages, datetime(2026, 12, 1, tzinfo=UTC), timedelta(days=29)),
        "small": (60, datetime(2026, 12, 1, tzinfo=UTC), timedelta(days=29)),
    }
    addresses = {}
    with make_session_factory(engine)() as session:
        create_user(session, OWNER, PASSWORD)
        next_id = 1
        for name, (count, start, span) in scenarios.items():
            mailing_list = create_list(session, f"{name}@lists.example.org", [OWNER])
            session.flush()
            rows = message_rows(mailing_list.id, count, next_id, start, span, rng)
            next_id += len(rows)
            for batch in range(0, len(rows), 2000):
                session.execute(insert(Message), rows[batch : batch + 2000])
            addresses[name] = mailing_list.address
        session.commit()
    engine.dispose()
    return addresses


def busiest_month(session, address: str) -> str:  # noqa: ANN001
    from sqlalchemy import func

    from listtrack.lists import get_list

    list_id = get_list(session, address).id
    return session.execute(
        select(Message.year_month)
        .where(Message.list_id == list_id)
        .group_by(Message.year_month)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["LISTTRACK_INSTANCE"] = scratch
        os.environ.pop("LISTTRACK_CONFIG", None)
        os.environ.pop("LISTTRACK_DB_URL", None)
        started = time.perf_counter()
        addresses = build(Path(scratch), options.messages)
        print(
            f"built {2 * options.messages + 60:,} messages in {time.perf_counter() - started:.1f} s"
        )
        run(addresses, options.runs)


def run(addresses: dict[str, str], runs: int) -> None:
    from tests.conftest import csrf_token_from
    from webapp import create_app

    app = create_app({"SITE": load_site_config()})
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert (
        client.post(
            "/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    engine = make_engine(app.config["SITE"].db_url)
    with make_session_factory(engine)() as session:
        months = {name: busiest_month(session, address) for name, address in addresses.items()}
    engine.dispose()
    pages: dict[str, str] = {}
    for name, address in addresses.items():
        base = f"/lists/{address}"
        month = months[name]
        pages[f"{name}: month, threads, page 1"] = f"{base}/{month}/"
        pages[f"{name}: month, by date, page 1"] = f"{base}/{month}/?view=date"
        pages[f"{name}: month, by date, last page"] = f"{base}/{month}/?view=date&page=99999"
        pages[f"{name}: list page (months)"] = f"{base}/"
        pages[f"{name}: search 'budget vote'"] = f"{base}/search?q=budget+vote"
        pages[f"{name}: search, no match"] = f"{base}/search?q=zanzibar"
        listing = client.get(f"{base}/{month}/?view=date").get_data(as_text=True)
        pages[f"{name}: one message"] = re.search(
            r'href="(/lists/[^"]+/msg/[^"]+)"', listing
        ).group(1)
    timings: dict[str, list[float]] = {label: [] for label in pages}
    for _ in range(2):  # warm caches
        for url in pages.values():
            assert client.get(url).status_code == 200, url
    for _ in range(runs):
        for label, url in pages.items():
            started = time.perf_counter()
            response = client.get(url)
            timings[label].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
    medians = {label: statistics.median(values) for label, values in timings.items()}
    width = max(len(label) for label in medians)
    print(f"median server time over {runs} runs (Flask test client, SQLite):")
    for label, value in medians.items():
        print(f"  {label:<{width}}  {value:7.1f} ms")
    print("ratios to the same page of a 60-message list:")
    for kind in ("month, threads, page 1", "month, by date, page 1", "one message"):
        small = medians[f"small: {kind}"]
        for name in ("spread", "onemonth"):
            print(f"  {name}: {kind:<24} {medians[f'{name}: {kind}'] / small:5.2f} x")
    worst = max(
        medians[f"{name}: month, {view}"]
        for name in ("spread", "onemonth")
        for view in ("threads, page 1", "by date, page 1", "by date, last page")
    )
    verdict = "within" if worst < 100 else "OVER"
    print(f"slowest month page: {worst:.1f} ms ({verdict} the 100 ms target)")


if __name__ == "__main__":
    main()
