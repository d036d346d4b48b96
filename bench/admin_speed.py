"""Subscriber administration at 100,000 subscribers next to the same pages at 100.

Run: python bench/admin_speed.py [--subscribers N] [--small N] [--runs N]
Builds a scratch SQLite instance through the migrations, imports N subscribers from a CSV
through `import_subscribers_csv` (the function the upload form and `listtrack subscriber
import` call; its rate is printed), signs in as the owner through the real form, then times,
through the Flask test client, the subscribers page (first page, last page, a search, a
search that matches nothing) and the settings page for both lists, runs interleaved, and
prints the medians and the ratio.
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
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from listtrack.accounts import create_user  # noqa: E402
from listtrack.config import load_site_config  # noqa: E402
from listtrack.database import make_engine, make_session_factory  # noqa: E402
from listtrack.lists import create_list  # noqa: E402
from listtrack.schema import upgrade_database  # noqa: E402
from listtrack.subscribers import import_subscribers_csv  # noqa: E402

OWNER = "owner@example.org"
PASSWORD = "benchmark password"
LARGE = "large@lists.example.org"
SMALL = "small@lists.example.org"


def csv_lines(count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    domains = [f"example{n}.{tld}" for n in range(40) for tld in ("org", "net", "com")]
    receptions = ["mail"] * 18 + ["digest", "nomail"]
    rows = ["email,reception"]
    for number in range(count):
        rows.append(f"{rng.choice('abcdefghijklmnopqrstuvwxyz')}{number:06d}."
                    f"{rng.randint(0, 99_999)}@{rng.choice(domains)},{rng.choice(receptions)}")
    return ("\n".join(rows) + "\n").encode()


def build_instance(folder: Path, large: int, small: int) -> float:
    """The scratch site with both lists; returns the import rate in lines per second."""
    (folder / "listtrack.conf").write_text("domain lists.example.org\n", encoding="utf-8")
    site = load_site_config()
    upgrade_database(site.db_url)
    engine = make_engine(site.db_url)
    with make_session_factory(engine)() as session:
        create_user(session, OWNER, PASSWORD)
        big = create_list(session, LARGE, [OWNER])
        little = create_list(session, SMALL, [OWNER])
        session.commit()
        data = csv_lines(large, seed=1)
        started = time.perf_counter()
        result = import_subscribers_csv(session, big, data)
        session.commit()
        elapsed = time.perf_counter() - started
        assert len(result.added) == large and not result.problems
        import_subscribers_csv(session, little, csv_lines(small, seed=2))
        session.commit()
    engine.dispose()
    return large / elapsed


def signed_in_client(app):  # noqa: ANN001, ANN201
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": OWNER, "password": PASSWORD,
                                           "csrf_token": token})
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
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="listtrack-bench-") as scratch:
        folder = Path(scratch)
        os.environ["LISTTRACK_INSTANCE"] = str(folder)
        os.environ.pop("LISTTRACK_CONFIG", None)
        os.environ.pop("LISTTRACK_DB_URL", None)
        rate = build_instance(folder, options.subscribers, options.small)
        print(f"CSV import: {options.subscribers:,} lines at {rate:,.0f} lines/s "
              "(validation, duplicate check, insert, commit)")

        from webapp import create_app

        app = create_app({"SITE": load_site_config()})
        client = signed_in_client(app)
        views = {
            "subscribers, first page": "/admin/lists/{}/subscribers",
            "subscribers, last page": "/admin/lists/{}/subscribers?page=999999",
            "search 'example7.net'": "/admin/lists/{}/subscribers?q=example7.net",
            "search, no match": "/admin/lists/{}/subscribers?q=nobody-at-all",
            "settings page": "/admin/lists/{}/settings",
        }
        print(f"median of {options.runs} runs, interleaved, milliseconds")
        print(f"{'view':26} {options.subscribers:>10,} {options.small:>10,}   ratio")
        for label, pattern in views.items():
            urls = [pattern.format(LARGE), pattern.format(SMALL)]
            for url in urls:
                for _ in range(2):
                    time_request(client, url)
            timings: tuple[list[float], list[float]] = ([], [])
            for _ in range(options.runs):
                for index, url in enumerate(urls):
                    timings[index].append(time_request(client, url))
            large, small = (statistics.median(t) * 1000 for t in timings)
            print(f"{label:26} {large:10.2f} {small:10.2f}   {large / small:5.2f}x")


if __name__ == "__main__":
    main()
