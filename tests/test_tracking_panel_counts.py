"""The trigger-kept status counts (migration 0005) equal a real count after every kind of write.

Deliveries are written by the ORM, by bulk INSERTs and UPDATEs, by `record_notification`,
and deleted by the retention purge: the counts must follow all of them, on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select, update

from listtrack.models import Delivery, DeliveryStatusCount, Message, Notification, Report
from listtrack.tracking_queries import count_statuses, status_counts
from tests.tracking_panel_fixtures import add_notification, make_tracked_message

pytestmark = pytest.mark.all_databases


def assert_counts_true(session, *message_ids: int) -> None:  # noqa: ANN001
    for message_id in message_ids:
        assert status_counts(session, message_id) == count_statuses(session, message_id)


def test_counts_follow_inserts_updates_and_deletes(session):
    first = make_tracked_message(session, {"a@example.net": "failed", "b@example.net": "waiting",
                                           "c@example.net": "digest"})
    second = make_tracked_message(session, {"d@example.net": "delivered"},
                                  message_id="m2@example.org")
    session.commit()
    ids = (first.message_key, second.message_key)
    assert status_counts(session, first.message_key) == {"failed": 1, "waiting": 1, "digest": 1}
    assert_counts_true(session, *ids)

    # Bulk insert, as the distribution registers a post's recipients.
    session.execute(insert(Delivery), [
        {"message_id": first.message_key, "recipient": f"bulk{n}@example.org",
         "status": "waiting" if n % 4 else "nomail"} for n in range(40)])
    session.commit()
    assert status_counts(session, first.message_key)["waiting"] == 31
    assert_counts_true(session, *ids)

    # Status moves through the evidence path (ORM unit of work), also within one rank.
    add_notification(session, first, "b@example.net", "delayed")
    add_notification(session, first, "b@example.net", "delivered", minutes=5)
    add_notification(session, first, "b@example.net", "displayed", minutes=9)
    add_notification(session, first, "a@example.net", "delivered", minutes=20)  # same rank
    session.commit()
    assert_counts_true(session, *ids)
    assert status_counts(session, first.message_key).get("failed") is None

    # Bulk UPDATE by primary key and by condition; an update that changes nothing.
    bulk_ids = session.scalars(select(Delivery.id).where(
        Delivery.message_id == first.message_key, Delivery.recipient.like("bulk%"))).all()
    session.execute(update(Delivery), [{"id": i, "status": "failed"} for i in bulk_ids[:5]])
    session.execute(update(Delivery).where(Delivery.recipient == "bulk7@example.org")
                    .values(status="delivered"))
    session.execute(update(Delivery).where(Delivery.message_id == first.message_key)
                    .values(attempts=Delivery.attempts + 1))
    session.commit()
    assert_counts_true(session, *ids)

    # Deletes, as the retention purge does: notifications, then deliveries.
    session.execute(delete(Notification).where(Notification.delivery_id.in_(bulk_ids)))
    session.execute(delete(Delivery).where(Delivery.id.in_(bulk_ids[:10])))
    session.commit()
    assert_counts_true(session, *ids)
    assert status_counts(session, second.message_key) == {"delivered": 1}


def test_a_deleted_message_leaves_no_counts(session):
    tracked = make_tracked_message(session, {"a@example.net": "failed"})
    session.commit()
    delivery_ids = list(tracked.delivery_ids.values())
    session.execute(delete(Notification).where(Notification.delivery_id.in_(delivery_ids)))
    session.execute(delete(Report).where(Report.message_id == tracked.message_key))
    session.execute(delete(Delivery).where(Delivery.id.in_(delivery_ids)))
    assert status_counts(session, tracked.message_key) == {}
    session.execute(delete(Message).where(Message.id == tracked.message_key))
    session.commit()
    left = session.scalar(select(func.count()).select_from(DeliveryStatusCount)
                          .where(DeliveryStatusCount.message_id == tracked.message_key))
    assert left == 0
