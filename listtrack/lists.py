"""Lists, owners and subscribers: the operations the admin forms and the CLI share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from listtrack.accounts import InvalidAddress, normalize_address
from listtrack.config import MDN_VALUES, ON_OFF
from listtrack.models import RECEPTION_OPTIONS, ListOwner, MailingList, Subscriber

SEND_POLICIES = ("public", "subscribers", "owners")
ARCHIVE_VISIBILITIES = ("public", "private", "owner")
LIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class UnknownList(LookupError):
    """No list has that address."""


def split_list_address(address: str) -> tuple[str, str]:
    """`name@domain` → (name, domain), validated and lower-cased."""
    name, at, domain = address.strip().lower().rpartition("@")
    if not at or not LIST_NAME.fullmatch(name) or not domain:
        raise ValueError(
            f"'{address}' is not a list address NAME@DOMAIN "
            "(NAME: letters, digits, '.', '_' or '-')"
        )
    return name, domain


def find_list(session: Session, address: str) -> MailingList | None:
    try:
        name, domain = split_list_address(address)
    except ValueError:
        return None
    return session.scalar(
        select(MailingList).where(MailingList.name == name, MailingList.domain == domain)
    )


def get_list(session: Session, address: str) -> MailingList:
    found = find_list(session, address)
    if found is None:
        raise UnknownList(f"no list {address}")
    return found


def create_list(
    session: Session,
    address: str,
    owners: list[str],
    *,
    subject: str = "",
    delivery_status_notification: str | None = None,
    message_disposition_notification: str | None = None,
    send_policy: str = "subscribers",
    archive_visibility: str = "private",
) -> MailingList:
    """Create a list with its owners; tracking settings left None follow the site defaults."""
    name, domain = split_list_address(address)
    if find_list(session, address) is not None:
        raise ValueError(f"a list {name}@{domain} already exists")
    if delivery_status_notification not in (None, *ON_OFF):
        raise ValueError(f"--dsn must be one of: {', '.join(ON_OFF)}")
    if message_disposition_notification not in (None, *MDN_VALUES):
        raise ValueError(f"--mdn must be one of: {', '.join(MDN_VALUES)}")
    if send_policy not in SEND_POLICIES:
        raise ValueError(f"send policy must be one of: {', '.join(SEND_POLICIES)}")
    if archive_visibility not in ARCHIVE_VISIBILITIES:
        raise ValueError(f"archive visibility must be one of: {', '.join(ARCHIVE_VISIBILITIES)}")
    if not owners:
        raise ValueError("a list needs at least one owner")
    mailing_list = MailingList(
        name=name,
        domain=domain,
        subject=subject,
        send_policy=send_policy,
        archive_visibility=archive_visibility,
        delivery_status_notification=delivery_status_notification,
        message_disposition_notification=message_disposition_notification,
    )
    mailing_list.owners = [ListOwner(email=normalize_address(o)) for o in dict.fromkeys(owners)]
    session.add(mailing_list)
    session.flush()
    return mailing_list


@dataclass
class SubscriptionResult:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def add_subscribers(
    session: Session, mailing_list: MailingList, addresses: list[str], reception: str = "mail"
) -> SubscriptionResult:
    """Subscribe addresses; report duplicates and invalid ones instead of failing on them."""
    if reception not in RECEPTION_OPTIONS:
        raise ValueError(f"reception must be one of: {', '.join(RECEPTION_OPTIONS)}")
    result = SubscriptionResult()
    wanted: dict[str, str] = {}
    for text in addresses:
        try:
            address = normalize_address(text)
        except InvalidAddress as error:
            result.invalid.append(str(error))
            continue
        if address in wanted:
            result.already.append(address)
        else:
            wanted[address] = address
    existing = set()
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        existing.update(session.scalars(
            select(Subscriber.email).where(
                Subscriber.list_id == mailing_list.id, Subscriber.email.in_(chunk)
            )
        ))
    for key, address in wanted.items():
        if key in existing:
            result.already.append(address)
        else:
            session.add(Subscriber(list_id=mailing_list.id, email=address, reception=reception))
            result.added.append(address)
    session.flush()
    return result
