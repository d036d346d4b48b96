"""Archiving a message: raw bytes kept exactly, headers read once, thread links made.

Used by the post distribution and by `listtrack import-mbox`; idempotent on Message-ID
(a message without one gets an identifier derived from its bytes, so re-imports match).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from listtrack.message_view import decode_text, extract_body_text, header_text
from listtrack.models import MailingList, Message

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_ID = 255


@dataclass(frozen=True)
class ArchiveResult:
    message: Message
    created: bool


def message_ids(value: str | None) -> list[str]:
    """The `<...>` identifiers in an In-Reply-To or References header, in order."""
    return [found[:MAX_ID] for found in MESSAGE_ID.findall(value or "")]


def parse_date(value: str | None, fallback: datetime) -> datetime:
    if not value:
        return fallback
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return fallback
    if parsed is None:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def stable_message_id(raw: bytes, domain: str) -> str:
    """An identifier for a message that has none, derived from its bytes: re-imports match."""
    return f"<listtrack.{hashlib.sha256(raw).hexdigest()[:40]}@{domain}>"


def header_message_id(headers: EmailMessage) -> str | None:
    """The Message-ID header's `<id>`; a bare `id@host` without brackets is accepted too."""
    value = header_text(headers.get("Message-ID", ""))
    found = message_ids(value)
    if found:
        return found[0]
    bare = value.strip()
    if bare and " " not in bare and "<" not in bare and ">" not in bare:
        return f"<{bare}>"[:MAX_ID]
    return None


def read_headers(raw: bytes) -> EmailMessage:
    return BytesHeaderParser(policy=compat32).parsebytes(raw)


def archive_message(
    session: Session,
    mailing_list: MailingList,
    raw: bytes,
    received_at: datetime | None = None,
    headers: EmailMessage | None = None,
) -> ArchiveResult:
    """Store a message in a list's archive (or find it there by Message-ID)."""
    received_at = received_at or datetime.now(UTC)
    headers = headers if headers is not None else read_headers(raw)
    message_id = header_message_id(headers) or stable_message_id(raw, mailing_list.domain)
    existing = session.scalar(
        select(Message).where(Message.list_id == mailing_list.id,
                              Message.message_id == message_id)
    )
    if existing is not None:
        return ArchiveResult(existing, created=False)

    senders = getaddresses([header_text(headers.get("From", ""))])
    sender_name, sender_address = senders[0] if senders else ("", "")
    date = parse_date(header_text(headers.get("Date")), received_at)
    in_reply_to = message_ids(header_text(headers.get("In-Reply-To", "")))
    references = message_ids(header_text(headers.get("References", "")))

    message = Message(
        list_id=mailing_list.id,
        message_id=message_id,
        subject=decode_text(headers.get("Subject")),
        sender=sender_address.strip().lower()[:320],
        sender_name=decode_text(sender_name)[:255],
        date=date,
        year_month=f"{date.year:04d}-{date.month:02d}",
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=" ".join(references) or None,
        size=len(raw),
        raw=raw,
        body_text=extract_body_text(raw),
        received_at=received_at,
    )
    session.add(message)
    session.flush()
    _link_thread(session, mailing_list, message, in_reply_to + list(reversed(references)))
    return ArchiveResult(message, created=True)


def _link_thread(session: Session, mailing_list: MailingList, message: Message,
                 candidates: list[str]) -> None:
    """Attach to the nearest known ancestor; adopt replies that arrived before us."""
    parent = None
    for candidate in dict.fromkeys(candidates):
        parent = session.scalar(
            select(Message).where(Message.list_id == mailing_list.id,
                                  Message.message_id == candidate)
        )
        if parent is not None:
            break
    message.parent_id = parent.id if parent else None
    message.thread_id = (parent.thread_id or parent.id) if parent else message.id
    orphans = session.scalars(
        select(Message).where(Message.list_id == mailing_list.id,
                              Message.in_reply_to == message.message_id,
                              Message.parent_id.is_(None), Message.id != message.id)
    ).all()
    for orphan in orphans:
        old_thread = orphan.thread_id
        orphan.parent_id = message.id
        session.execute(
            update(Message)
            .where(Message.list_id == mailing_list.id, Message.thread_id == old_thread)
            .values(thread_id=message.thread_id)
            .execution_options(synchronize_session="fetch")
        )
    session.flush()
    if parent is None and not orphans:
        message.thread_start = True  # a thread of its own
        session.flush()
        return
    # A merge can change the first message of any month of the thread; else only ours.
    mark_thread_starts(session, mailing_list.id, message.thread_id,
                       None if orphans else message.year_month)


def mark_thread_starts(session: Session, list_id: int, thread_id: int,
                       year_month: str | None = None) -> None:
    """Flag the first message of a thread in each month (or in one month), unflag the rest;
    month pages list a month's threads from these flags alone."""
    query = select(Message.id, Message.year_month, Message.date, Message.thread_start).where(
        Message.list_id == list_id, Message.thread_id == thread_id)
    if year_month is not None:
        query = query.where(Message.year_month == year_month)
    rows = session.execute(query).all()
    first: dict[str, tuple] = {}
    for row in rows:
        if row.year_month not in first or (row.date, row.id) < first[row.year_month]:
            first[row.year_month] = (row.date, row.id)
    starts = {message_id for _, message_id in first.values()}
    for value in (True, False):
        changed = [row.id for row in rows if (row.id in starts) == value
                   and bool(row.thread_start) != value]
        if changed:
            session.execute(update(Message).where(Message.id.in_(changed))
                            .values(thread_start=value))
