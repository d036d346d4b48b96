"""Who may see what: list roles and the archive and tracking visibility rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from listtrack.config import SiteConfig
from listtrack.models import ListOwner, MailingList, Message, Subscriber
from listtrack.settings import effective_setting


def list_roles(session: Session, user: Any, mailing_list: MailingList) -> frozenset[str]:
    """The roles a (possibly anonymous) user has on a list: listmaster, owner, subscriber."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    roles = set()
    if user.is_listmaster:
        roles.add("listmaster")
    if session.get(ListOwner, (mailing_list.id, user.email)) is not None:
        roles.add("owner")
    subscribed = session.scalar(
        select(Subscriber.id).where(
            Subscriber.list_id == mailing_list.id, Subscriber.email == user.email
        )
    )
    if subscribed is not None:
        roles.add("subscriber")
    return frozenset(roles)


def can_manage(roles: frozenset[str]) -> bool:
    return bool(roles & {"owner", "listmaster"})


def can_view_archive(roles: frozenset[str], mailing_list: MailingList) -> bool:
    """Archive visibility: public (anyone), private (subscribers and up), owner."""
    if can_manage(roles):
        return True
    if mailing_list.archive_visibility == "public":
        return True
    return mailing_list.archive_visibility == "private" and "subscriber" in roles


def can_view_tracking(
    roles: frozenset[str], user: Any, mailing_list: MailingList, message: Message,
    site: SiteConfig,
) -> bool:
    """Tracking visibility, as Sympa's scenario: owners, or also subscribers; and the sender."""
    if can_manage(roles):
        return True
    if user is not None and getattr(user, "is_authenticated", False) \
            and message.sender and user.email == message.sender:
        return True
    visibility = effective_setting(mailing_list, "tracking_visibility", site).value
    return visibility == "private" and "subscriber" in roles


def visible_lists(session: Session, user: Any) -> list[MailingList]:
    """Lists whose archive this user may open, by address."""
    query = select(MailingList).where(MailingList.closed.is_(False))
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if not (signed_in and user.is_listmaster):
        conditions = [MailingList.archive_visibility == "public"]
        if signed_in:
            owned = select(ListOwner.list_id).where(ListOwner.email == user.email)
            subscribed = select(Subscriber.list_id).where(Subscriber.email == user.email)
            conditions.append(MailingList.id.in_(owned))
            conditions.append(
                MailingList.archive_visibility.in_(("public", "private"))
                & MailingList.id.in_(subscribed)
            )
        query = query.where(or_(*conditions))
    return list(session.scalars(query.order_by(MailingList.domain, MailingList.name)))
