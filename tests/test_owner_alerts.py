"""Owner alerts: one summary mail per message after the quiet period, to the owners only."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from listtrack.archive import archive_message
from listtrack.config import load_site_config
from listtrack.database import make_engine, make_session_factory
from listtrack.evidence import record_notification, store_report
from listtrack.lists import add_subscribers, create_list
from listtrack.models import Delivery, Message
from listtrack.owner_alerts import send_due_alerts

pytestmark = pytest.mark.all_databases


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        with self.lock:
            self.mails.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp_inbox():  # noqa: ANN201
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


def fail(session, delivery, minutes_ago, code="5.1.1"):  # noqa: ANN001, ANN201
    report, _ = store_report(session, f"{delivery.id} {minutes_ago}".encode(), "dsn")
    record_notification(session, delivery, report, kind="dsn", action="failed",
                        status_code=code,
                        diagnostic=f"smtp; 550 5.1.1 <{delivery.recipient}>: user unknown",
                        received_at=datetime.now(UTC) - timedelta(minutes=minutes_ago))


def test_one_summary_per_message_to_owners(session, write_config, smtp_inbox, database_url,
                                           monkeypatch):
    write_config("domain lists.example.org", "smtp_host 127.0.0.1",
                 f"smtp_port {smtp_inbox.port}", "alert_quiet_period 10")
    monkeypatch.setenv("LISTTRACK_DB_URL", database_url)
    site = load_site_config()
    mailing_list = create_list(session, "news@lists.example.org",
                               ["owner1@example.org", "owner2@example.org"])
    mailing_list.alert_owners_on_failure = True
    mailing_list.mask_addresses = True
    quiet_list = create_list(session, "quiet@lists.example.org", ["owner3@example.org"])
    add_subscribers(session, mailing_list, ["sub@example.org"])
    messages = []
    for target in (mailing_list, mailing_list, quiet_list):
        number = len(messages)
        message = archive_message(
            session, target,
            f"Message-ID: <a{number}@example.org>\r\nSubject: Hello {number}\r\n\r\nx\r\n"
            .encode()).message
        message.dsn_requested = True
        deliveries = [Delivery(message_id=message.id, recipient=f"r{i}@example.net")
                      for i in range(4)]
        session.add_all(deliveries)
        session.flush()
        messages.append((message, deliveries))
    # Message 0: two failures, quiet for long enough. Message 1: a failure 2 minutes ago.
    fail(session, messages[0][1][0], 30)
    fail(session, messages[0][1][1], 20)
    fail(session, messages[1][1][0], 2)
    fail(session, messages[2][1][0], 30)  # list without alerts
    session.commit()

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    assert send_due_alerts(site, factory) == 1
    assert send_due_alerts(site, factory) == 0  # one per message, never twice
    # A later failure on the same message sends nothing more.
    fail(session, messages[0][1][2], 15)
    session.commit()
    assert send_due_alerts(site, factory) == 0
    engine.dispose()

    assert len(smtp_inbox.mails) == 1
    recipients, raw = smtp_inbox.mails[0]
    assert sorted(recipients) == ["owner1@example.org", "owner2@example.org"]
    mail = message_from_bytes(raw)
    assert mail["Subject"] == "[news@lists.example.org] 2 of 4 copies failed: Hello 0"
    body = mail.get_payload(decode=True).decode()
    assert "r***@example.net  5.1.1" in body and "r0@example.net" not in body
    assert "<r***@example.net>: user unknown" in body
    assert "http://127.0.0.1:5000/lists/news@lists.example.org/msg/a0@example.org/tracking" \
        in body
    session.expire_all()
    sent = session.scalars(select(Message).where(Message.owner_alert_sent_at.is_not(None)))
    assert [m.message_id for m in sent] == ["<a0@example.org>"]
