"""Status precedence: highest rank wins, then the latest report within a rank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from listtrack.tracking import status_rank, supersedes

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("current", "new", "new_time", "expected"),
    [
        ("waiting", "delayed", LATER, True),
        ("delayed", "delivered", LATER, True),
        ("delivered", "delayed", LATER, False),  # a late delayed never hides a delivered
        ("delivered", "displayed", LATER, True),  # displayed shows above delivered
        ("displayed", "delivered", LATER, False),
        ("expanded", "failed", LATER, True),  # Postfix: expanded, then failed for the alias
        ("delivered", "failed", LATER, True),  # same rank: the latest report
        ("failed", "delivered", T0 - timedelta(minutes=1), False),  # same rank, older
        ("relayed", "expanded", LATER, True),
        ("digest", "delivered", LATER, False),  # not sent: reports do not invent tracking
    ],
)
def test_supersedes(current, new, new_time, expected):
    assert supersedes(new, new_time, current, T0) is expected


def test_ranks_follow_the_design_ladder():
    ladder = ["waiting", "delayed", "relayed", "delivered", "displayed"]
    assert [status_rank(word) for word in ladder] == sorted(status_rank(w) for w in ladder)
    assert status_rank("relayed") == status_rank("expanded")
    assert status_rank("delivered") == status_rank("failed")
    assert len({status_rank(w) for w in ("displayed", "deleted", "dispatched", "processed")}) == 1
    assert status_rank("nomail") < status_rank("waiting")
