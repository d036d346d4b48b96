"""The rules of tracked distribution, as plain functions: what to ask for, who gets a copy,
which return path a copy carries.

Sympa's rules, kept: DSN when the list says so; MDN when the list says `on`, or `on_demand`
and the post itself asked for a read receipt; a tracked message uses VERP for every copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from listtrack.settings import TrackingSettings
from listtrack.tracking import NOT_SENT_RECEPTIONS


@dataclass(frozen=True)
class TrackingDecision:
    """What one message's copies ask for."""

    dsn: bool
    mdn: bool

    @property
    def tracked(self) -> bool:
        return self.dsn or self.mdn


def decide_tracking(settings: TrackingSettings, post_asks_receipt: bool) -> TrackingDecision:
    """DSN and MDN for one post, from the list's effective settings and the post itself."""
    mdn_setting = settings.message_disposition_notification
    return TrackingDecision(
        dsn=settings.delivery_status_notification == "on",
        mdn=mdn_setting == "on" or (mdn_setting == "on_demand" and post_asks_receipt),
    )


@dataclass(frozen=True)
class PlannedDelivery:
    """One subscriber's row for one message: sent now (`pending`) or only registered."""

    recipient: str
    reception: str
    status: str
    send_state: str


def plan_deliveries(
    subscribers: Iterable[tuple[str, str]], authors: Iterable[str | None]
) -> list[PlannedDelivery]:
    """One row per subscriber `(address, reception)`.

    Digest, digestplain, summary and nomail subscribers get no copy now: their row shows
    the option as its status. A `not_me` subscriber who wrote the post gets none either.
    """
    writers = {author.lower() for author in authors if author}
    planned = []
    for address, reception in subscribers:
        if reception in NOT_SENT_RECEPTIONS or (reception == "not_me" and address in writers):
            planned.append(PlannedDelivery(address, reception, reception, "skipped"))
        else:
            planned.append(PlannedDelivery(address, reception, "waiting", "pending"))
    return planned


def verp_share(verp_rate: str) -> float:
    """`'33%'` -> 0.33."""
    return int(verp_rate.rstrip("%") or 0) / 100


def uses_verp(decision: TrackingDecision, verp_rate: str, delivery_id: int) -> bool:
    """Tracked: always. Untracked: a stable share `verp_rate` of the deliveries.

    The choice hashes the delivery id, so a retried copy keeps its return path.
    """
    if decision.tracked:
        return True
    share = verp_share(verp_rate)
    if share <= 0:
        return False
    digest = hashlib.sha256(f"verp:{delivery_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share
