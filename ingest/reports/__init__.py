"""Reading delivery reports, read receipts, feedback reports and auto-replies.

One public function, parse_report(raw) -> Report; the detectors behind it are tried in
order, most authoritative first (see scan.DETECTORS).
"""

from .results import RecipientResult, Report, report_as_json
from .scan import parse_report

__all__ = ["RecipientResult", "Report", "parse_report", "report_as_json"]
