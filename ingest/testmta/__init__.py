"""Loopback test MTA: a DSN-aware SMTP server that answers like remote systems and sends
real DSNs and MDNs back, for tests, benchmarks and the demo.

    with LoopbackMTA(deliver_report=ReportCollector()) as mta:   # or handoff_command()
        ...send to 127.0.0.1:mta.port, e.g. RCPT TO:<fail-bob@example.org> ...
        assert mta.wait_idle(10)          # every report scheduled so far is handed over
        mta.transactions, mta.reports_sent, mta.report_log, mta.report_failures

Recipients' local parts script the answer (see ``behaviours``): fail-, refuse-, delay-,
display-, delete-, tempfail[N]-, drop[N]-, dropdata[N]-; anything else is delivered.
"""

from ingest.testmta.behaviours import (
    Behaviour,
    BehaviourRule,
    Kind,
    behaviour_from_local_part,
    demo_rule,
    local_part_rule,
)
from ingest.testmta.esmtp_parameters import xtext_decode, xtext_encode
from ingest.testmta.handoff import (
    DEFAULT_HANDOFF,
    HandoffError,
    ReportCollector,
    handoff_command,
)
from ingest.testmta.records import Outcome, RecipientRecord, Transaction
from ingest.testmta.report_queue import ReportFailure
from ingest.testmta.server import LoopbackMTA, SentReport

__all__ = [
    "DEFAULT_HANDOFF",
    "Behaviour",
    "BehaviourRule",
    "HandoffError",
    "Kind",
    "LoopbackMTA",
    "Outcome",
    "RecipientRecord",
    "ReportCollector",
    "ReportFailure",
    "SentReport",
    "Transaction",
    "behaviour_from_local_part",
    "demo_rule",
    "handoff_command",
    "local_part_rule",
    "xtext_decode",
    "xtext_encode",
]
