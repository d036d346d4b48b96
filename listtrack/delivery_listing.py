"""Every delivery of one message, as `listtrack tracking show` prints it (and any export)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from listtrack.archive_browsing import find_message as find_archived_message
from listtrack.lists import UnknownList, get_list
from listtrack.models import Delivery, Message


class UnknownMessage(LookupError):
    """The list has no message with that Message-ID."""


@dataclass(frozen=True)
class DeliveryLine:
    """One recipient's row: what the list owner asks about a copy."""

    recipient: str
    reception: str
    status: str
    status_code: str | None
    diagnostic: str | None
    last_notification_at: datetime | None
    send_state: str

    def as_json(self) -> dict:
        return {
            "recipient": self.recipient,
            "reception": self.reception,
            "status": self.status,
            "status_code": self.status_code,
            "diagnostic": self.diagnostic,
            "last_notification_at": (self.last_notification_at.isoformat()
                                     if self.last_notification_at else None),
            "send_state": self.send_state,
        }


def normalize_message_id(text: str) -> str:
    """`abc@host` or `<abc@host>` -> `<abc@host>`, as the archive stores it."""
    bare = text.strip().strip("<>").strip()
    return f"<{bare}>"


def find_message(session: Session, list_address: str, message_id: str) -> Message:
    """The archived message of a list; UnknownList or UnknownMessage when there is none."""
    mailing_list = get_list(session, list_address)
    wanted = normalize_message_id(message_id)
    message = find_archived_message(session, mailing_list.id, wanted)
    if message is None:
        raise UnknownMessage(f"{mailing_list.address} has no message {wanted}")
    return message


def delivery_lines(session: Session, message: Message) -> Iterator[DeliveryLine]:
    """Every delivery of a message in recipient order, streamed (lists can be large)."""
    rows = session.execute(
        select(Delivery.recipient, Delivery.reception, Delivery.status, Delivery.status_code,
               Delivery.diagnostic, Delivery.last_notification_at, Delivery.send_state)
        .where(Delivery.message_id == message.id)
        .order_by(Delivery.recipient)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        yield DeliveryLine(*row)


__all__ = ["DeliveryLine", "UnknownList", "UnknownMessage", "delivery_lines", "find_message",
           "normalize_message_id"]
