"""Distribution: a spooled post becomes an archived message with one delivery per subscriber.

The worker's `posts` queue. Archive, tracking decision and registration are one transaction,
and the spool file goes only after it commits; a post whose Message-ID is already archived is
not registered again, so a crash anywhere leaves nothing doubled and nothing lost.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ingest import spool
from ingest.spool_claims import claim_batch
from ingest.tracking_decision import TrackingDecision, decide_tracking, plan_deliveries
from listtrack.archive import archive_message, message_ids, read_headers
from listtrack.config import SiteConfig
from listtrack.lists import find_list
from listtrack.models import Delivery, MailingList, Message, Subscriber
from listtrack.settings import effective_tracking

log = logging.getLogger("listtrack.distribution")

BATCH = 20
HELD = "held"  # posts that cannot be distributed (list gone, unreadable): kept for a person


def without_mbox_line(raw: bytes) -> bytes:
    """The message without the `From sender date` line an MTA's pipe may put in front."""
    if raw.startswith(b"From "):
        return raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return raw


def generated_message_id(spool_name: str, domain: str) -> str:
    """A Message-ID for a post that has none: named after its spool file, so stable on re-runs
    of the same hand-off and distinct for two hand-offs of the same bytes."""
    return f"<listtrack.{spool_name}@{domain}>"


def register_post(
    session: Session, site: SiteConfig, mailing_list: MailingList, raw: bytes,
    envelope: dict, now: datetime, spool_name: str,
) -> tuple[Message, bool]:
    """Archive a post and register its deliveries; (message, False) if it was already there."""
    headers = read_headers(raw)
    if not message_ids(str(headers.get("Message-ID", ""))):
        del headers["Message-ID"]
        headers["Message-ID"] = generated_message_id(spool_name, mailing_list.domain)
    received = envelope.get("received")
    received_at = datetime.fromtimestamp(received, UTC) if received else now
    result = archive_message(session, mailing_list, raw, received_at, headers=headers)
    message = result.message
    if not result.created:
        return message, False
    decision = decide_tracking(effective_tracking(mailing_list, site),
                               post_asks_receipt="Disposition-Notification-To" in headers)
    record_decision(message, decision)
    subscribers = session.execute(
        select(Subscriber.email, Subscriber.reception)
        .where(Subscriber.list_id == mailing_list.id).order_by(Subscriber.email)
    ).all()
    authors = (message.sender, envelope.get("author"), envelope.get("sender"))
    planned = plan_deliveries([(email, reception) for email, reception in subscribers], authors)
    rows = [
        {"message_id": message.id, "recipient": row.recipient, "reception": row.reception,
         "status": row.status, "send_state": row.send_state, "attempts": 0,
         "next_attempt_at": now if row.send_state == "pending" else None,
         "status_at": now}
        for row in planned
    ]
    if rows:
        session.execute(insert(Delivery), rows)
    if any(row.send_state == "pending" for row in planned):
        message.distribution = "sending"
    else:
        message.distribution, message.distributed_at = "distributed", now
    session.flush()
    return message, True


def record_decision(message: Message, decision: TrackingDecision) -> None:
    message.dsn_requested = decision.dsn
    message.mdn_requested = decision.mdn


def _hold(site: SiteConfig, path: Path, reason: str) -> None:
    """Keep a post that cannot be distributed where a person can look at it."""
    held_dir = site.spool_path / spool.POSTS / HELD
    held_dir.mkdir(parents=True, exist_ok=True)
    os.rename(path, held_dir / path.name)
    (held_dir / f"{path.name}.reason").write_text(reason + "\n", encoding="utf-8")
    log.error("post %s held in %s: %s", path.name, held_dir, reason)


def process_spooled_posts(site: SiteConfig, session_factory: sessionmaker[Session]) -> int:
    """Distribute what waits in the posts spool; how many posts were dealt with."""
    done = 0
    for path in claim_batch(site.spool_path, spool.POSTS, BATCH):
        try:
            spooled = spool.read(path)
        except (OSError, ValueError) as error:
            _hold(site, path, f"unreadable spool file: {error}")
            done += 1
            continue
        address = str(spooled.envelope.get("list", ""))
        with session_factory() as session:
            try:
                mailing_list = find_list(session, address)
                if mailing_list is None or mailing_list.closed:
                    session.rollback()
                    _hold(site, path, f"no open list {address} any more")
                    done += 1
                    continue
                raw = without_mbox_line(spooled.raw)
                message, created = register_post(session, site, mailing_list, raw,
                                                 spooled.envelope, datetime.now(UTC), path.name)
                session.commit()
            except DataError as error:
                session.rollback()
                _hold(site, path, f"the database refused it: {_first_line(error)}")
                done += 1
                continue
            except DBAPIError as error:
                session.rollback()
                log.warning("post %s left for a later pass: %s", path.name, _first_line(error))
                break
            except Exception as error:  # noqa: BLE001 - a post we cannot handle is kept aside
                session.rollback()
                log.exception("post %s could not be distributed", path.name)
                _hold(site, path, f"could not be distributed: {type(error).__name__}: {error}")
                done += 1
                continue
        if created:
            log.info("post %s to %s registered as %s", path.name, address, message.message_id)
        else:
            log.info("post %s to %s: %s already archived, not distributed again",
                     path.name, address, message.message_id)
        spool.done(path)
        done += 1
    return done


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
