"""The ordered list of detectors, most authoritative first, and the one function callers use.

Standard reports (DSN, MDN, ARF) are read from their machine-readable parts and cost one
parse; the wording-based detectors only run when those found nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from . import (
    amazonses,
    arf,
    autoreply,
    dsn,
    list_rejection,
    mailman_detectors,
    mdn,
    quick_dsn,
    recipient_blocks,
    recipient_phrases,
    returned_message,
    sendmail,
)
from .bounce_text import clean_diagnostic, has_error_words, notice_reason
from .fields import is_mailbox, normalize_address
from .message import ReportMessage
from .results import Report

Detector = Callable[[ReportMessage], "Report | None"]

WORDING_DETECTORS: list[Detector] = [
    sendmail.detect,
    recipient_blocks.detect,
    recipient_phrases.detect,
    list_rejection.detect,
    mailman_detectors.detect,
    returned_message.detect,
]
DETECTORS: list[Detector] = [
    dsn.detect,
    mdn.detect,
    arf.detect,
    dsn.detect_mislabelled,
    amazonses.detect,
    autoreply.detect,
    mdn.detect_text_receipt,
    *WORDING_DETECTORS,
]


def _repair_addresses(report: Report, message: ReportMessage) -> None:
    """Give DSN recipients whose field held no mailbox ("@host", "user") the address the
    text names."""
    broken = [r for r in report.recipients if not is_mailbox(r.address)]
    if not broken:
        return
    known = {r.address.lower() for r in report.recipients}
    for detector in WORDING_DETECTORS:
        found = detector(message)
        if found is not None and found.recipients:
            spare = [r.address for r in found.recipients if r.address.lower() not in known]
            for result, address in zip(broken, spare, strict=False):
                result.address = address
            return


def _fill_diagnostics(report: Report, message: ReportMessage) -> None:
    """Give failed and delayed DSN recipients without a Diagnostic-Code the reason the
    readable part states for them (or for the whole message)."""
    missing = [
        r for r in report.recipients if not r.diagnostic and r.action in ("failed", "delayed")
    ]
    if not missing:
        return
    details: dict[str, str] = {}
    for address, detail, _following in recipient_blocks.candidates(message):
        key = normalize_address(address).lower()
        if detail.strip() and (key not in details or has_error_words(detail)):
            details[key] = detail
    for result in missing:
        names = [result.address, result.original_recipient or ""]
        detail = next((details[n.lower()] for n in names if n.lower() in details), "")
        result.diagnostic = clean_diagnostic(detail) or notice_reason(message)


def parse_report(raw: bytes) -> Report:
    """Read one incoming report; never raises, whatever the input."""
    problems: list[str] = []
    if not isinstance(raw, bytes | bytearray | memoryview):
        return Report(problems=[f"input is {type(raw).__name__}, not bytes"])
    raw = bytes(raw)
    if not raw.strip():
        return Report(problems=["empty input"])
    try:
        quick = quick_dsn.detect(raw)
    except Exception:  # noqa: BLE001 - the full path below decides instead
        quick = None
    if quick is not None:
        return quick
    try:
        message = ReportMessage(raw)
    except Exception as exc:  # noqa: BLE001 - the contract is: never raise
        return Report(problems=[f"unparsable message: {exc!r}"])
    detector, report = _first_report(DETECTORS, message, problems)
    if report is None and message.addressee_addresses:
        # Second reading of a bounce that named no one but the person it is addressed to:
        # normally the original sender, quoted in greetings ("Dear a@x"); when the sender
        # wrote to themselves, the failed recipient is that same address.
        message.addressee_may_be_recipient = True
        try:
            detector, report = _first_report(WORDING_DETECTORS, message, problems)
        finally:
            message.addressee_may_be_recipient = False
    if report is None:
        return Report(problems=problems + message.problems or ["not a report"])
    if report.kind == "dsn" and detector in (dsn.detect, dsn.detect_mislabelled):
        _repair_addresses(report, message)
        _fill_diagnostics(report, message)
    report.problems[:0] = problems + message.problems
    return report


def _first_report(
    detectors: list[Detector], message: ReportMessage, problems: list[str]
) -> tuple[Detector | None, Report | None]:
    """The first detector, in order, that reads a report naming someone (or an ARF)."""
    for detector in detectors:
        try:
            report = detector(message)
        except Exception as exc:  # noqa: BLE001 - one broken detector must not stop the rest
            problem = f"{detector.__module__.rsplit('.', 1)[-1]} failed: {exc!r}"
            if problem not in problems:
                problems.append(problem)
            continue
        if report is not None and (report.recipients or report.kind == "arf"):
            return detector, report
    return None, None
