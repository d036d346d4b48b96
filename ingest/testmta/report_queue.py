"""The loopback MTA's outgoing queue: reports handed over in the background, like a real MTA.

Each recipient's reports go out strictly in order (delay, then success, then MDN), on a
bounded thread pool because a hand-off may be a subprocess; failures are kept and logged.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ingest.testmta.report_plan import PlannedReport

log = logging.getLogger(__name__)

DeliverReport = Callable[[bytes, str], None]
_GIVE_WAY_PAUSE = 0.02


@dataclass(frozen=True)
class ReportFailure:
    """A report that could not be built or handed over; ``raw`` is empty if never built."""

    envelope_recipient: str
    label: str
    raw: bytes
    error: str


@dataclass(frozen=True)
class _Job:
    due: float  # time.monotonic() at which it may go
    report: PlannedReport


class ReportQueue:
    """Per-key ordered, delayed, concurrent delivery of planned reports."""

    def __init__(
        self,
        deliver: DeliverReport,
        *,
        concurrency: int = 8,
        on_sent: Callable[[str, PlannedReport, bytes], None] | None = None,
        busy: Callable[[], bool] | None = None,
        max_deferral: float = 30.0,
    ) -> None:
        self._deliver = deliver
        self._on_sent = on_sent
        self._busy = busy
        self._max_deferral = max_deferral
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="testmta-report")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._timer_wakeup = threading.Condition(self._lock)
        self._chains: dict[str, deque[_Job]] = {}
        self._running: set[str] = set()  # keys with a job submitted or waiting on the timer
        self._timers: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        self._pending = 0
        self._closed = False
        self.failures: list[ReportFailure] = []
        self._timer_thread = threading.Thread(
            target=self._run_timers, name="testmta-report-timer", daemon=True
        )
        self._timer_thread.start()

    @property
    def pending(self) -> int:
        """Reports scheduled and not yet handed over (or failed)."""
        with self._lock:
            return self._pending

    def schedule(self, key: str, reports: Sequence[PlannedReport]) -> None:
        """Queue ``reports`` behind any earlier ones for ``key`` (delays count from now)."""
        if not reports:
            return
        now = time.monotonic()
        with self._lock:
            if self._closed:
                raise RuntimeError("report queue is closed")
            chain = self._chains.setdefault(key, deque())
            chain.extend(_Job(now + report.delay, report) for report in reports)
            self._pending += len(reports)
            if key not in self._running:
                self._running.add(key)
                self._advance_locked(key)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every scheduled report is handed over; False if ``timeout`` ran out."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop; reports not yet handed over are logged as abandoned, never silently lost."""
        with self._lock:
            self._closed = True
            abandoned = sum(len(chain) for chain in self._chains.values())
            self._timer_wakeup.notify_all()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._timer_thread.join(timeout=5)
        if abandoned:
            log.warning("loopback MTA stopped with %d report(s) not handed over", abandoned)

    def _advance_locked(self, key: str) -> None:
        job = self._chains[key][0]
        if job.due <= time.monotonic():
            self._pool.submit(self._run_head, key)
        else:
            heapq.heappush(self._timers, (job.due, next(self._sequence), key))
            self._timer_wakeup.notify()

    def _run_timers(self) -> None:
        with self._lock:
            while not self._closed:
                if not self._timers:
                    self._timer_wakeup.wait()
                    continue
                due, _, key = self._timers[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._timer_wakeup.wait(wait)
                    continue
                heapq.heappop(self._timers)
                self._pool.submit(self._run_head, key)

    def _give_way(self, job: _Job) -> None:
        """While SMTP traffic flows, wait (up to ``max_deferral``): building reports takes the
        GIL from the event loop, and the sender's throughput is what benchmarks measure."""
        if self._busy is None:
            return
        deadline = job.due + self._max_deferral
        while self._busy() and not self._closed and time.monotonic() < deadline:
            time.sleep(_GIVE_WAY_PAUSE)

    def _run_head(self, key: str) -> None:
        with self._lock:
            job = self._chains[key][0]
        self._give_way(job)
        with self._lock:
            self._chains[key].popleft()
        report = job.report
        raw = b""
        try:
            raw = report.build()
            self._deliver(raw, report.envelope_recipient)
        except Exception as error:  # noqa: BLE001 - every failure is recorded and logged
            log.exception("loopback MTA could not hand over %s for %s", report.label, key)
            failure = ReportFailure(report.envelope_recipient, report.label, raw, repr(error))
            with self._lock:
                self.failures.append(failure)
        else:
            if self._on_sent is not None:
                self._on_sent(key, report, raw)
        with self._lock:
            self._pending -= 1
            if self._chains[key]:
                if not self._closed:
                    self._advance_locked(key)
            else:
                del self._chains[key]
                self._running.discard(key)
            self._idle.notify_all()
