"""The loopback MTA: a DSN-speaking SMTP server that plays "the rest of the Internet".

Tests, benchmarks and ``listtrack demo`` send list copies to it; it answers each recipient
as scripted and writes real DSNs and MDNs back to the envelope sender, in the background.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import DATA_SIZE_DEFAULT

from ingest.testmta.behaviours import Behaviour, BehaviourRule, local_part_rule
from ingest.testmta.mail_text import now_utc
from ingest.testmta.protocol import DsnHandler, DsnSMTP
from ingest.testmta.records import Transaction
from ingest.testmta.report_plan import PlannedReport, plan_reports
from ingest.testmta.report_queue import DeliverReport, ReportFailure, ReportQueue

log = logging.getLogger(__name__)

GREETING_HOST = "loopback-mta.test"
SMTP_QUIET_AFTER = 0.05  # seconds without a MAIL/RCPT/DATA before reports are built


@dataclass(frozen=True)
class SentReport:
    """A report handed over: about which recipient, to whom, what kind, the bytes."""

    about: str  # the recipient of the original copy, lower-cased
    envelope_recipient: str
    label: str  # dsn-delivered, dsn-failed, dsn-delayed, mdn-displayed, mdn-deleted
    raw: bytes
    at: datetime


def _keep_in_memory(raw: bytes, envelope_recipient: str) -> None:
    """The default hand-over: nothing beyond ``reports_sent``."""


class _LoopbackController(Controller):
    """aiosmtpd's threaded controller, building our DSN-aware protocol, port 0 allowed."""

    def __init__(self, mta: LoopbackMTA, host: str, port: int, **smtp_kwargs) -> None:
        super().__init__(DsnHandler(), hostname=host, port=port, **smtp_kwargs)
        self._mta = mta

    def factory(self) -> DsnSMTP:
        return DsnSMTP(self.handler, sink=self._mta, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # With port 0 the OS picked the port: learn it before the readiness probe.
        if self.server is not None and self.server.sockets:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class LoopbackMTA:
    """Start with ``with LoopbackMTA() as mta:``; then send to ``127.0.0.1:mta.port``.

    ``behaviour`` maps a recipient address to its script (default: by local-part prefix);
    ``deliver_report(raw, envelope_recipient)`` receives each report (default: memory only).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        behaviour: BehaviourRule | None = None,
        deliver_report: DeliverReport | None = None,
        advertise_dsn: bool = True,
        *,
        reporting_mta: str | None = None,
        greeting_host: str = GREETING_HOST,
        handoff_concurrency: int = 8,
        report_linesep: str = "\n",
        data_size_limit: int = DATA_SIZE_DEFAULT,
        report_max_deferral: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.advertise_dsn = advertise_dsn
        self.behaviour = behaviour or local_part_rule()
        self.deliver_report = deliver_report or _keep_in_memory
        self.reporting_mta = reporting_mta  # None: "mx.<recipient's domain>"
        self.report_linesep = report_linesep
        # Reports wait while SMTP commands keep coming (at most this long), like a busy MTA.
        self.report_max_deferral = report_max_deferral
        self._last_command = 0.0
        self.transactions: list[Transaction] = []
        self.reports_sent: list[tuple[str, bytes]] = []
        self.report_log: list[SentReport] = []
        self._handoff_concurrency = handoff_concurrency
        self._smtp_kwargs = {
            "server_hostname": greeting_host,
            "ident": "ESMTP loopback test MTA",
            "enable_SMTPUTF8": True,
            "data_size_limit": data_size_limit,
        }
        self._connection_ids = itertools.count(1)
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._queue: ReportQueue | None = None
        self._controller: _LoopbackController | None = None

    # -- life --------------------------------------------------------------------------
    def start(self) -> LoopbackMTA:
        """Listen (in a background thread) and start the report queue."""
        if self._controller is not None:
            raise RuntimeError("loopback MTA already started")
        self._queue = ReportQueue(
            self.deliver_report,
            concurrency=self._handoff_concurrency,
            on_sent=self._sent,
            busy=self._smtp_busy,
            max_deferral=self.report_max_deferral,
        )
        controller = _LoopbackController(self, self.host, self.port, **self._smtp_kwargs)
        try:
            controller.start()
        except BaseException:
            self._queue.close()
            raise
        self._controller = controller
        self.port = controller.port
        log.info("loopback MTA listening on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop listening and stop the report queue (unsent reports are logged)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._queue is not None:
            self._queue.close()

    def __enter__(self) -> LoopbackMTA:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout: float | None = 10.0) -> bool:
        """Wait until every report scheduled so far was handed over; False on timeout.

        Reports are scheduled before the server answers DATA, so once the client has its
        250, waiting here is enough to see all of that message's reports.
        """
        if self._queue is None:
            return True
        return self._queue.wait_idle(timeout)

    @property
    def pending_reports(self) -> int:
        return 0 if self._queue is None else self._queue.pending

    @property
    def report_failures(self) -> list[ReportFailure]:
        """Reports whose building or hand-over raised (also logged)."""
        return [] if self._queue is None else list(self._queue.failures)

    def reports_about(self, address: str) -> list[SentReport]:
        """Reports handed over about one recipient of a copy, in the order sent."""
        with self._lock:
            return [sent for sent in self.report_log if sent.about == address.lower()]

    def _smtp_busy(self) -> bool:
        return time.monotonic() - self._last_command < SMTP_QUIET_AFTER

    # -- called by the SMTP side (event-loop thread) -----------------------------------
    def note_command(self) -> None:
        self._last_command = time.monotonic()

    def next_connection_id(self) -> int:
        return next(self._connection_ids)

    def behaviour_for(self, address: str) -> Behaviour:
        return self.behaviour(address)

    def count_attempt(self, address: str) -> int:
        key = address.lower()
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return self._attempts[key]

    def accepted(self, tx: Transaction) -> None:
        assert self._queue is not None
        for rcpt in tx.accepted_recipients:
            plans = plan_reports(
                tx, rcpt, reporting_mta=self.reporting_mta, linesep=self.report_linesep
            )
            self._queue.schedule(rcpt.address.lower(), plans)

    def finished(self, tx: Transaction) -> None:
        self.transactions.append(tx)

    # -- called by the report queue (report threads) -----------------------------------
    def _sent(self, about: str, report: PlannedReport, raw: bytes) -> None:
        sent = SentReport(about, report.envelope_recipient, report.label, raw, now_utc())
        with self._lock:
            self.reports_sent.append((report.envelope_recipient, raw))
            self.report_log.append(sent)
