"""Tracking status words and their precedence (DESIGN.md, "Status words").

A delivery's current status is the highest rank seen and, within a rank, the latest
report: so a late `delayed` never hides a `delivered`, and `displayed` shows above it.
"""

from __future__ import annotations

from datetime import datetime

STATUS_RANK: dict[str, int] = {
    "waiting": 0,
    "delayed": 1,
    "relayed": 2,
    "expanded": 2,
    "delivered": 3,
    "failed": 3,
    "displayed": 4,
    "deleted": 4,
    "dispatched": 4,
    "processed": 4,
}

# Reception options for which no copy is sent now; such deliveries show the option.
NOT_SENT_RECEPTIONS = ("digest", "digestplain", "summary", "nomail")
PENDING_STATUSES = ("waiting", "delayed")
REPORT_STATUSES = tuple(STATUS_RANK)


def status_rank(status: str) -> int:
    """Rank of a status word; words outside the ladder (reception options) rank below all."""
    return STATUS_RANK.get(status, -1)


def supersedes(
    new_status: str,
    new_time: datetime | None,
    current_status: str,
    current_time: datetime | None,
) -> bool:
    """Whether a report with `new_status` at `new_time` becomes the delivery's current status."""
    if current_status not in STATUS_RANK:
        return False  # not sent because of the reception option: reports do not invent tracking
    new_rank, current_rank = status_rank(new_status), status_rank(current_status)
    if new_rank != current_rank:
        return new_rank > current_rank
    if current_time is None or new_time is None:
        return True
    return new_time >= current_time
