"""Tracked messages with deliveries and notifications, made through the model and `evidence`.

The real pipeline (distribution, sending, report processing) is built elsewhere; these
helpers write the same rows it writes, through the same `record_notification`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from listtrack.archive import archive_message
from listtrack.evidence import record_notification, store_report
from listtrack.lists import add_subscribers, create_list, find_list
from listtrack.models import Delivery, MailingList, Message

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LIST_ADDRESS = "news@lists.example.org"
OWNER = "owner@example.org"
SENDER = "sender@example.org"


@dataclass
class Tracked:
    mailing_list: MailingList
    message: Message
    list_address: str
    message_key: int
    url_id: str  # the Message-ID as the panel's URLs carry it: no angle brackets, quoted
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    delivery_ids: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, list[int]] = field(default_factory=dict)

    def url(self, tail: str = "") -> str:
        """A panel URL; plain strings, so it works after the session has closed."""
        return f"/lists/{self.list_address}/msg/{self.url_id}/tracking{tail}"


def dsn_bytes(recipient: str, action: str, code: str, number: int) -> bytes:
    """A small RFC 3464 report, distinct per call (the store keeps each text once)."""
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\n"
        f"To: bounce+token{number}@lists.example.org\r\n"
        f"Subject: Delivery Status Notification\r\n"
        f"Message-ID: <dsn{number}@mx.example.net>\r\n"
        f"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        f"--b\r\nContent-Type: text/plain\r\n\r\nReport about <{recipient}>.\r\n"
        f"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {code}\r\n"
        f"Diagnostic-Code: smtp; 550 {code} <{recipient}>: no such user\r\n"
        f"--b--\r\n"
    ).encode()


_numbers = iter(range(1, 10**9))


def make_tracked_message(
    session: Session,
    recipients: dict[str, str] | list[tuple[str, str]],
    *,
    list_address: str = LIST_ADDRESS,
    message_id: str = "m1@example.org",
    sender: str = SENDER,
    tracked: bool = True,
    mask_addresses: bool = False,
    tracking_visibility: str | None = None,
    dsn_unavailable: bool = False,
    subscribers: tuple[str, ...] = (),
) -> Tracked:
    """A list (created once), one archived message and a delivery per recipient.

    `recipients` maps address -> status; each status other than waiting and the reception
    options gets a DSN (or MDN) recorded through `record_notification`.
    """
    mailing_list = find_list(session, list_address) or create_list(
        session, list_address, [OWNER])
    mailing_list.mask_addresses = mask_addresses
    mailing_list.tracking_visibility = tracking_visibility
    if subscribers:
        add_subscribers(session, mailing_list, list(subscribers))
    raw = (f"Message-ID: <{message_id}>\r\nFrom: Sender <{sender}>\r\n"
           f"Subject: Board meeting\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\n\r\n"
           f"Agenda.\r\n").encode()
    message = archive_message(session, mailing_list, raw, received_at=T0).message
    message.dsn_requested = tracked
    message.dsn_unavailable = dsn_unavailable
    message.distributed_at = T0
    result = Tracked(mailing_list, message, mailing_list.address, message.id,
                     quote(message.message_id.strip("<>"), safe="@"))
    items = recipients.items() if isinstance(recipients, dict) else recipients
    for address, status in items:
        reception = status if status in ("digest", "nomail", "summary", "digestplain") else "mail"
        delivery = Delivery(message_id=message.id, recipient=address, reception=reception,
                            status="waiting" if reception == "mail" else status,
                            send_state="sent" if reception == "mail" else "skipped")
        session.add(delivery)
        session.flush()
        result.deliveries[address] = delivery
        result.delivery_ids[address] = delivery.id
        if reception == "mail" and status != "waiting":
            add_notification(session, result, address, status)
    session.flush()
    return result


ACTION_CODES = {"delivered": "2.0.0", "failed": "5.1.1", "delayed": "4.4.1",
                "relayed": "2.0.0", "expanded": "2.0.0"}


def add_notification(session: Session, tracked: Tracked, address: str, action: str,
                     *, minutes: int = 1, raw: bytes | None = None) -> int:
    """Record one report about one delivery, as the report worker does; its id."""
    number = next(_numbers)
    delivery = session.get(Delivery, tracked.delivery_ids[address])
    mdn = action in ("displayed", "deleted", "dispatched", "processed")
    code = None if mdn else ACTION_CODES[action]
    raw = raw or dsn_bytes(address, action, code or "2.0.0", number)
    received = T0 + timedelta(minutes=minutes, seconds=number % 50)
    report, _ = store_report(session, raw, "mdn" if mdn else "dsn",
                             message_id=tracked.message_key, received_at=received)
    notification = record_notification(
        session, delivery, report, kind="mdn" if mdn else "dsn", action=action,
        status_code=code,
        diagnostic=f"smtp; 550 {code} <{address}>: no such user" if action == "failed" else None,
        final_recipient=address, original_recipient=address,
        reporting_mta="mx.example.net", remote_mta=None if mdn else "in.example.net",
        disposition_mode="manual-action/MDN-sent-manually" if mdn else None,
        arrival_date=received - timedelta(seconds=5), received_at=received,
    )
    tracked.notifications.setdefault(address, []).append(notification.id)
    return notification.id
