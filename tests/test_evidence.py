"""Recording evidence: exact bytes once, history kept, status moved by precedence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from listtrack.archive import archive_message
from listtrack.evidence import record_notification, sha256_hex, store_report
from listtrack.lists import create_list
from listtrack.models import Delivery, Notification

pytestmark = pytest.mark.all_databases
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def make_delivery(session, reception="mail", status="waiting"):  # noqa: ANN001, ANN201
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    message = archive_message(session, mailing_list,
                              b"Message-ID: <m1@example.org>\r\nSubject: x\r\n\r\nbody\r\n").message
    message.dsn_requested = True
    delivery = Delivery(message_id=message.id, recipient="reader@example.net",
                        reception=reception, status=status)
    session.add(delivery)
    session.flush()
    return delivery


def test_history_and_precedence(session):
    delivery = make_delivery(session)
    steps = [("delayed", "4.4.1", 0), ("delivered", "2.0.0", 1), ("delayed", "4.4.1", 2),
             ("displayed", None, 3), ("delivered", "2.0.0", 4)]
    for number, (action, code, minutes) in enumerate(steps):
        raw = f"report {number}\r\n".encode()
        report, created = store_report(session, raw, "dsn", received_at=T0)
        assert created and report.sha256 == sha256_hex(raw)
        record_notification(session, delivery, report, kind="dsn", action=action,
                            status_code=code, received_at=T0 + timedelta(minutes=minutes))
    session.commit()
    session.expire_all()
    stored = session.get(Delivery, delivery.id)
    assert stored.status == "displayed"
    assert stored.last_notification_at == T0 + timedelta(minutes=4)
    history = session.scalars(select(Notification.action).where(
        Notification.delivery_id == delivery.id).order_by(Notification.received_at)).all()
    assert history == [action for action, _, _ in steps]


def test_duplicate_report_is_stored_once(session):
    make_delivery(session)
    first, created = store_report(session, b"same bytes", "dsn")
    again, created_again = store_report(session, b"same bytes", "dsn")
    assert created and not created_again and again.id == first.id


def test_untracked_message_keeps_evidence_without_moving_status(session):
    delivery = make_delivery(session)
    report, _ = store_report(session, b"r", "dsn")
    record_notification(session, delivery, report, kind="dsn", action="delivered",
                        move_status=False)
    assert delivery.status == "waiting"
    assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_not_sent_reception_is_never_overwritten(session):
    delivery = make_delivery(session, reception="digest", status="digest")
    report, _ = store_report(session, b"r", "dsn")
    record_notification(session, delivery, report, kind="dsn", action="failed",
                        status_code="5.1.1")
    assert delivery.status == "digest"


def test_feedback_report_marks_the_complaint(session):
    delivery = make_delivery(session)
    report, _ = store_report(session, b"arf", "arf")
    record_notification(session, delivery, report, kind="arf", action="", feedback_type="abuse")
    assert delivery.complaint == "abuse" and delivery.status == "waiting"
