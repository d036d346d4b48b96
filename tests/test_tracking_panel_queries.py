"""The panel's queries on SQLite, PostgreSQL and MariaDB: counts, keyset pages, search."""

from __future__ import annotations

import pytest

from listtrack import tracking_queries
from listtrack.tracking_queries import (
    BadTrackingQuery,
    all_delivery_rows,
    clean_search,
    cursor_recipient,
    delivery_history,
    delivery_rows,
    notification_evidence,
    status_counts,
    status_filter,
    summarize,
    tracking_summary,
)
from tests.tracking_panel_fixtures import add_notification, make_tracked_message

pytestmark = pytest.mark.all_databases

STATUS_CYCLE = ("delivered", "failed", "waiting", "displayed", "delayed", "digest", "expanded",
                "delivered", "relayed", "nomail", "deleted")


def many_recipients(count: int) -> dict[str, str]:
    """Addresses whose order is not their creation order, with every kind of status."""
    return {f"user{(n * 37) % count:03d}.{n}@example{n % 3}.net":
            STATUS_CYCLE[n % len(STATUS_CYCLE)] for n in range(count)}


def walk(session, message_id, page_size, **filters) -> list[str]:  # noqa: ANN001
    """Follow the keyset pages the way the panel does (cursor = the last row's delivery id)."""
    seen, after = [], None
    for _ in range(1000):
        recipient = cursor_recipient(session, message_id, after)
        page = delivery_rows(session, message_id, after_recipient=recipient, limit=page_size,
                             **filters)
        seen.extend(row.recipient for row in page.rows)
        if page.next_after is None:
            return seen
        assert page.next_after == page.rows[-1].id
        after = str(page.next_after)
    raise AssertionError("paging never ended")


def test_summary_counts_every_status_once(session):
    recipients = many_recipients(66)
    tracked = make_tracked_message(session, recipients)
    session.commit()
    counts = status_counts(session, tracked.message.id)
    expected: dict[str, int] = {}
    for status in recipients.values():
        expected[status] = expected.get(status, 0) + 1
    assert counts == expected
    summary = tracking_summary(session, tracked.message)
    assert summary.total == 66 and summary.pending
    by_key = {g.group.key: g for g in summary.groups}
    assert by_key["relayed"].count == expected["expanded"] + expected["relayed"]
    assert by_key["not_sent"].count == expected["digest"] + expected["nomail"]
    assert dict(by_key["not_sent"].by_status) == {"digest": 6, "nomail": 6}
    assert sum(g.count for g in summary.groups) == 66
    assert abs(sum(g.share for g in summary.groups) - 1.0) < 1e-9


def test_pending_and_dsn_not_available():
    assert not summarize({"delivered": 3, "failed": 1}).pending
    assert summarize({"delivered": 3, "delayed": 1}).pending
    assert summarize({"waiting": 2}).pending
    unavailable = summarize({"waiting": 2, "displayed": 1}, dsn_unavailable=True)
    assert not unavailable.pending
    assert [g.label for g in unavailable.groups if g.group.key == "waiting"] == \
        ["DSN not available"]
    odd = summarize({"delivered": 1, "mystery": 2})
    assert [(g.group.key, g.count) for g in odd.groups if g.count] == \
        [("delivered", 1), ("mystery", 2)]


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_keyset_pages_cover_every_row_once_in_address_order(session, page_size):
    recipients = many_recipients(66)
    tracked = make_tracked_message(session, recipients)
    session.commit()
    message_id = tracked.message.id
    assert walk(session, message_id, page_size) == sorted(recipients)
    for key in ("failed", "relayed", "not_sent", "delivered", "expanded"):
        group = status_filter(key)
        expected = sorted(a for a, s in recipients.items() if s in group.statuses)
        assert expected, key
        assert walk(session, message_id, page_size, group=group) == expected, key
    expected = sorted(a for a in recipients if "example1" in a)
    assert walk(session, message_id, page_size, search="example1") == expected
    group = status_filter("not_sent")
    expected = sorted(a for a, s in recipients.items()
                      if "example2" in a and s in group.statuses)
    assert walk(session, message_id, page_size, group=group, search="example2") == expected


def test_search_is_a_literal_case_insensitive_substring(session):
    addresses = ["a_b@x.example", "axb@x.example", "100%@x.example", "1000@x.example",
                 "a/b@x.example", "Alice@Y.example"]
    tracked = make_tracked_message(session, {a: "delivered" for a in addresses})
    session.commit()

    def found(text: str, masked: bool = False) -> list[str]:
        page = delivery_rows(session, tracked.message.id, search=clean_search(text),
                             domain_only_search=masked)
        return [row.recipient for row in page.rows]

    assert found("_") == ["a_b@x.example"]
    assert found("%") == ["100%@x.example"]
    assert found("/") == ["a/b@x.example"]
    assert found("  ALICE ") == ["Alice@Y.example"]
    assert found("nobody") == []
    # Masked lists: no spelling out of hidden local parts, but domains and whole addresses.
    assert found("a_b", masked=True) == []
    assert found("alice", masked=True) == []
    assert found("y.exam", masked=True) == ["Alice@Y.example"]
    assert found("@Y.EXAMPLE", masked=True) == ["Alice@Y.example"]
    assert found("a_b@x.example", masked=True) == ["a_b@x.example"]


def test_bad_filters_searches_and_cursors_are_refused_in_one_line(session):
    tracked = make_tracked_message(session, {"a@example.net": "delivered"})
    other = make_tracked_message(session, {"b@example.net": "delivered"},
                                 message_id="m2@example.org")
    session.commit()
    with pytest.raises(BadTrackingQuery, match="unknown status filter"):
        status_filter("<script>")
    assert status_filter("expanded").statuses == ("expanded",)
    assert status_filter("digest").statuses == ("digest",)
    assert status_filter("") is None
    with pytest.raises(BadTrackingQuery, match="longer than"):
        clean_search("x" * 400)
    with pytest.raises(BadTrackingQuery, match="row number"):
        cursor_recipient(session, tracked.message.id, "1 OR 1=1")
    foreign = str(other.deliveries["b@example.net"].id)
    with pytest.raises(BadTrackingQuery, match="no longer exists"):
        cursor_recipient(session, tracked.message.id, foreign)


def test_view_opens_the_notification_behind_the_current_status(session):
    tracked = make_tracked_message(session, {"a@example.net": "waiting"})
    proof = add_notification(session, tracked, "a@example.net", "delivered", minutes=5)
    late = add_notification(session, tracked, "a@example.net", "delayed", minutes=9)
    session.commit()
    row = delivery_rows(session, tracked.message.id).rows[0]
    assert row.status == "delivered" and row.notification_id == proof
    history = delivery_history(session, row.id)
    assert [n.id for n in history] == [proof, late]
    evidence = notification_evidence(session, tracked.message.id, late)
    assert evidence.delivery.recipient == "a@example.net"
    assert [n.action for n in evidence.history] == ["delivered", "delayed"]


def test_a_notification_is_only_found_through_its_own_message(session):
    tracked = make_tracked_message(session, {"a@example.net": "failed"})
    other = make_tracked_message(session, {"b@example.net": "failed"},
                                 message_id="m2@example.org")
    session.commit()
    own = tracked.notifications["a@example.net"][0]
    foreign = other.notifications["b@example.net"][0]
    assert notification_evidence(session, tracked.message.id, own) is not None
    assert notification_evidence(session, tracked.message.id, foreign) is None


def test_export_reads_in_batches_and_misses_nothing(session, monkeypatch):
    monkeypatch.setattr(tracking_queries, "EXPORT_BATCH", 4)
    recipients = many_recipients(33)
    tracked = make_tracked_message(session, recipients)
    session.commit()
    rows = list(all_delivery_rows(session, tracked.message.id))
    assert [row.recipient for row in rows] == sorted(recipients)
    failed = list(all_delivery_rows(session, tracked.message.id, group=status_filter("failed")))
    assert [row.recipient for row in failed] == \
        sorted(a for a, s in recipients.items() if s == "failed")
