"""`listtrack purge`: what goes, what stays, twice in a row, and beside a running ingest."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from listtrack.archive import archive_message
from listtrack.evidence import record_notification, store_report
from listtrack.lists import create_list
from listtrack.models import Delivery, Message, Notification, QuarantinedReport, Report

pytestmark = pytest.mark.all_databases
NOW = datetime.now(UTC)


def tracked_message(session, mailing_list, number, age_days, recipients=3):  # noqa: ANN001, ANN201
    raw = f"Message-ID: <m{number}@example.org>\r\nSubject: m{number}\r\n\r\nbody\r\n".encode()
    message = archive_message(session, mailing_list, raw,
                              received_at=NOW - timedelta(days=age_days)).message
    message.dsn_requested = True
    for index in range(recipients):
        delivery = Delivery(message_id=message.id, recipient=f"r{index}@example.net")
        session.add(delivery)
        session.flush()
        report, _ = store_report(session, f"dsn {number} {index}".encode(), "dsn",
                                 message_id=message.id)
        record_notification(session, delivery, report, kind="dsn", action="delivered",
                            status_code="2.0.0")
    return message


def count(session, model):  # noqa: ANN001, ANN201
    return session.scalar(select(func.count()).select_from(model))


def test_purge_removes_only_expired_tracking(session, cli_env, write_config):
    write_config("tracking_retention_period 30")
    short = create_list(session, "short@lists.example.org", ["o@example.org"])
    short.retention_period = 7
    default = create_list(session, "default@lists.example.org", ["o@example.org"])
    old_short = tracked_message(session, short, 1, age_days=10)
    tracked_message(session, short, 2, age_days=3)
    tracked_message(session, default, 3, age_days=10)
    old_default = tracked_message(session, default, 4, age_days=40)
    session.add(QuarantinedReport(reason="no-token", raw=b"x", sha256="0" * 64,
                                  received_at=NOW - timedelta(days=31)))
    session.add(QuarantinedReport(reason="no-token", raw=b"y", sha256="1" * 64))
    session.commit()
    assert (count(session, Delivery), count(session, Report)) == (12, 12)

    result = subprocess.run(["listtrack", "purge"], capture_output=True, text=True, env=cli_env)
    assert result.returncode == 0, result.stderr
    assert ("short@lists.example.org: 1 message(s), 3 deliveries, 3 notifications, "
            "3 reports removed (older than 7 days)") in result.stdout
    assert "default@lists.example.org: 1 message(s)" in result.stdout
    assert "(older than 30 days)" in result.stdout
    assert "quarantine: 1 report(s) removed" in result.stdout

    session.expire_all()
    assert count(session, Delivery) == 6 and count(session, Notification) == 6
    assert count(session, Report) == 6 and count(session, QuarantinedReport) == 1
    # The messages themselves stay in the archive, marked as purged.
    assert count(session, Message) == 4
    assert session.get(Message, old_short.id).tracking_purged_at is not None
    assert session.get(Message, old_default.id).raw.startswith(b"Message-ID: <m4@")

    again = subprocess.run(["listtrack", "purge"], capture_output=True, text=True, env=cli_env)
    assert again.returncode == 0
    assert "short@lists.example.org: nothing older than 7 days" in again.stdout
    assert "quarantine: 0 report(s) removed" in again.stdout
    session.expire_all()
    assert count(session, Delivery) == 6
