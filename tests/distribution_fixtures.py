"""Shared pieces of the distribution and sending tests: a list, a spooled post, a site that
sends to a loopback test MTA, and one pass of the worker's posts and sending queues."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import spool
from ingest.distribution import process_spooled_posts
from ingest.sending import send_due_deliveries
from ingest.testmta import LoopbackMTA, Transaction
from listtrack.config import SiteConfig
from listtrack.database import make_engine, make_session_factory
from listtrack.lists import add_subscribers, create_list
from listtrack.models import Delivery, MailingList, Message

LIST = "news@lists.example.org"
AUTHOR = "author@example.org"


def post_bytes(subject: str = "Board meeting", message_id: str | None = "<post-1@example.org>",
               receipt_to: str | None = None, body: bytes = b"Hello,\r\nsee you.\r\n",
               author: str = AUTHOR) -> bytes:
    lines = [f"From: Ann Author <{author}>", f"To: {LIST}", f"Subject: {subject}",
             "Date: Tue, 01 Dec 2026 10:00:00 +0000"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if receipt_to:
        lines.append(f"Disposition-Notification-To: {receipt_to}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def make_list(session: Session, *, dsn: str | None = None, mdn: str | None = None,
              verp_rate: str | None = None, send_policy: str = "subscribers",
              subscribers: Iterable[tuple[str, str]] = (("reader@example.net", "mail"),),
              address: str = LIST) -> MailingList:
    mailing_list = create_list(session, address, ["owner@example.org"], subject="Board news",
                               delivery_status_notification=dsn,
                               message_disposition_notification=mdn, send_policy=send_policy)
    mailing_list.verp_rate = verp_rate
    by_reception: dict[str, list[str]] = {}
    for email, reception in subscribers:
        by_reception.setdefault(reception, []).append(email)
    for reception, emails in by_reception.items():
        add_subscribers(session, mailing_list, emails, reception)
    session.commit()
    return mailing_list


def spool_post(site: SiteConfig, raw: bytes, list_address: str = LIST,
               author: str | None = AUTHOR) -> str:
    path = spool.store(site.spool_path, spool.POSTS,
                       {"received": 1796112000.0, "sender": author, "list": list_address,
                        "author": author}, raw)
    return path.name


def site_for(site: SiteConfig, mta: LoopbackMTA | None = None, **values: object) -> SiteConfig:
    """The test's site configuration, sending to `mta`, with some keys changed."""
    changed = dict(site.values)
    if mta is not None:
        changed.update(smtp_host="127.0.0.1", smtp_port=mta.port)
    changed.update(values)
    return site.with_values(**changed)


def run_queues(site: SiteConfig, now: datetime | None = None) -> tuple[int, int]:
    """One worker pass over posts, then sending until nothing is due (as the loop does)."""
    engine = make_engine(site.db_url)
    try:
        factory = make_session_factory(engine)
        posts = process_spooled_posts(site, factory)
        sent = total = 0
        while (sent := send_due_deliveries(site, factory, now=now)) > 0:
            total += sent
        return posts, total
    finally:
        engine.dispose()


def accepted(mta: LoopbackMTA) -> list[tuple[Transaction, str]]:
    """(transaction, recipient) for every copy the MTA took."""
    return [(tx, rcpt.address) for tx in mta.transactions if tx.outcome == "accepted"
            for rcpt in tx.accepted_recipients]


def header_values(data: bytes, name: str) -> list[str]:
    return [str(value) for value in
            BytesHeaderParser(policy=compat32).parsebytes(data).get_all(name, [])]


def deliveries(session: Session, message_id: str = "<post-1@example.org>") -> list[Delivery]:
    session.expire_all()
    message = session.scalar(select(Message).where(Message.message_id == message_id))
    assert message is not None
    return list(session.scalars(select(Delivery).where(Delivery.message_id == message.id)
                                .order_by(Delivery.recipient)))
