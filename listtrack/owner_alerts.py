"""Owner alerts: one summary mail per tracked message once its failures have gone quiet.

List owners asked Sympa for immediate notice of failures and were told to check the
tracking page by hand; here a list can opt in, and its owners get one mail per message,
sent after `alert_quiet_period` minutes without a new failure, never one per failure.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from listtrack.address_masking import mask_address, mask_addresses_in_text
from listtrack.config import SiteConfig
from listtrack.models import Delivery, ListOwner, MailingList, Message

log = logging.getLogger("listtrack.alerts")
LISTED_FAILURES = 50


def messages_due_for_alert(session: Session, site: SiteConfig,
                           now: datetime) -> list[Message]:
    """Tracked messages of opted-in lists whose last failure is older than the quiet period."""
    quiet_since = now - timedelta(minutes=site.alert_quiet_period)
    last_failure = (
        select(Delivery.message_id, func.max(Delivery.status_at).label("last"))
        .where(Delivery.status == "failed")
        .group_by(Delivery.message_id)
        .subquery()
    )
    return list(session.scalars(
        select(Message)
        .join(MailingList, MailingList.id == Message.list_id)
        .join(last_failure, last_failure.c.message_id == Message.id)
        .where(MailingList.alert_owners_on_failure.is_(True),
               Message.owner_alert_sent_at.is_(None),
               Message.tracking_purged_at.is_(None),
               last_failure.c.last < quiet_since)
        .order_by(Message.id)
    ))


def tracking_url(site: SiteConfig, mailing_list: MailingList, message: Message) -> str:
    message_id = quote(message.message_id.strip("<>"), safe="@")
    return (f"{site.web_url.rstrip('/')}/lists/{quote(mailing_list.address, safe='@')}"
            f"/msg/{message_id}/tracking")


def build_alert(site: SiteConfig, mailing_list: MailingList, message: Message,
                owners: list[str], failures: list[Delivery], total: int) -> EmailMessage:
    """The summary mail: how many copies failed, which ones and why, and where to look."""
    mail = EmailMessage()
    mail["From"] = f"listtrack <{site.listmaster}>"
    mail["To"] = ", ".join(owners)
    mail["Subject"] = (f"[{mailing_list.address}] {len(failures)} of {total} copies failed: "
                       f"{message.subject or '(no subject)'}")
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=site.domain)
    mail["Auto-Submitted"] = "auto-generated"
    shown = mask_address if mailing_list.mask_addresses else (lambda address: address)
    lines = [
        f"The message \"{message.subject}\" sent to {mailing_list.address} on "
        f"{message.date:%Y-%m-%d %H:%M} UTC could not be delivered to "
        f"{len(failures)} of its {total} recipients.",
        "",
    ]
    for delivery in failures[:LISTED_FAILURES]:
        reason = " ".join((delivery.diagnostic or "").split())[:200]
        if mailing_list.mask_addresses:
            reason = mask_addresses_in_text(reason)
        lines.append(f"  {shown(delivery.recipient)}  {delivery.status_code or ''}  {reason}")
    if len(failures) > LISTED_FAILURES:
        lines.append(f"  ... and {len(failures) - LISTED_FAILURES} more")
    lines += ["", "Every notification, with the report that proves it, is on the tracking page:",
              tracking_url(site, mailing_list, message), "",
              "You get one such summary per message; later failures are on that page."]
    mail.set_content("\n".join(lines) + "\n")
    return mail


def send_due_alerts(site: SiteConfig, session_factory: sessionmaker[Session]) -> int:
    """Worker queue: mail each due summary once (claimed before sending, released on error)."""
    sent = 0
    now = datetime.now(UTC)
    with session_factory() as session:
        for message in messages_due_for_alert(session, site, now):
            claimed = session.execute(
                update(Message).where(Message.id == message.id,
                                      Message.owner_alert_sent_at.is_(None))
                .values(owner_alert_sent_at=now)
            ).rowcount
            session.commit()
            if not claimed:
                continue  # another worker has it
            mailing_list = session.get(MailingList, message.list_id)
            owners = list(session.scalars(
                select(ListOwner.email).where(ListOwner.list_id == mailing_list.id)))
            failures = list(session.scalars(
                select(Delivery).where(Delivery.message_id == message.id,
                                       Delivery.status == "failed")
                .order_by(Delivery.recipient)))
            total = session.scalar(
                select(func.count()).select_from(Delivery)
                .where(Delivery.message_id == message.id))
            mail = build_alert(site, mailing_list, message, owners, failures, total)
            try:
                with smtplib.SMTP(site.smtp_host, site.smtp_port, timeout=30) as smtp:
                    smtp.send_message(mail, from_addr=site.listmaster, to_addrs=owners)
            except (OSError, smtplib.SMTPException) as error:
                log.warning("owner alert for %s not sent, will retry: %s",
                            message.message_id, error)
                session.execute(update(Message).where(Message.id == message.id)
                                .values(owner_alert_sent_at=None))
                session.commit()
                continue
            sent += 1
    return sent
