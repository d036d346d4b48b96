"""Mailman's bounce detectors (flufl.bounce) as a safety net for legacy formats none of our
own readers know (GroupWise, Netscape, SMTP32, old ISPs...).

Imported only when every other reader has given up, so the common path never pays for it.
"""

from __future__ import annotations

import logging

from .bounce_text import (
    error_lines,
    is_delay_warning,
    is_own_address,
    looks_like_bounce,
    recipient_result,
    wording_report,
)
from .message import ReportMessage
from .results import Report

NAME = "flufl.bounce"


def detect(message: ReportMessage) -> Report | None:
    """Addresses flufl.bounce finds, permanent ones failed and temporary ones delayed."""
    if not looks_like_bounce(message):
        return None
    try:
        from flufl.bounce import all_failures
    except ImportError:
        return None
    # Its detectors trip over odd input and log each traceback; our caller records problems.
    quiet = logging.getLogger("flufl.bounce")
    quiet.propagate = False
    quiet.disabled = True
    temporary, permanent = all_failures(message.msg)
    detail = error_lines(message.notification_text)
    results = []
    # Our reading of the notice as a whole wins over flufl's guess per address.
    permanent_action = "delayed" if is_delay_warning(message) else "failed"
    for found, action in ((permanent, permanent_action), (temporary - permanent, "delayed")):
        for raw in sorted(found):
            address = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            if "@" in address and not is_own_address(message, address):
                results.append(recipient_result(address, detail, action))
    return wording_report(message, NAME, results) if results else None
