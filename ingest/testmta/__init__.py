"""Loopback test MTA: a DSN-aware SMTP server that answers like remote systems and sends
real DSNs and MDNs back, for tests, benchmarks and the demo."""

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
