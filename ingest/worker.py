"""The worker: a thin loop over the queues (spooled posts, copies to send, spooled reports).

Each queue is drained by one function `(site, session_factory) -> int` (work done) that
lives with its concern; the loop only calls them in order until there is nothing left.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from listtrack.config import SiteConfig
from listtrack.database import make_engine, make_session_factory

log = logging.getLogger("listtrack.worker")

QUEUES = (
    ("posts", "ingest.distribution:process_spooled_posts"),
    ("sending", "ingest.sending:send_due_deliveries"),
    ("reports", "ingest.report_processing:process_spooled_reports"),
    ("alerts", "listtrack.owner_alerts:send_due_alerts"),
)

QueueDrainer = Callable[[SiteConfig, sessionmaker[Session]], int]


def load_drainers() -> list[tuple[str, QueueDrainer]]:
    drainers = []
    for name, target in QUEUES:
        module_name, _, function_name = target.partition(":")
        drainers.append((name, getattr(importlib.import_module(module_name), function_name)))
    return drainers


def run_worker(site: SiteConfig, once: bool = False, poll_seconds: float = 1.0,
               stop: threading.Event | None = None) -> dict[str, int]:
    """Drain every queue; with `once`, stop when a whole pass found nothing to do."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    engine = make_engine(site.db_url)
    session_factory = make_session_factory(engine)
    drainers = load_drainers()
    totals = {name: 0 for name, _ in drainers}
    try:
        while not stop.is_set():
            worked = 0
            for name, drain in drainers:
                done = drain(site, session_factory)
                totals[name] += done
                worked += done
            if worked == 0:
                if once:
                    break
                stop.wait(poll_seconds)
    finally:
        engine.dispose()
    return totals
