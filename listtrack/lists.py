"""Lists and their owners: the operations the admin forms and the CLI share.

Subscribers live in `listtrack.subscribers`. Every function here validates its input and
raises ValueError (or a subclass) with a one-line message a person can act on.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from listtrack.accounts import InvalidAddress, normalize_address
from listtrack.config import MDN_VALUES, ON_OFF
from listtrack.models import ListOwner, ListSettingChange, MailingList

# Kept importable from here: the CLI and older callers subscribe through `listtrack.lists`.
from listtrack.subscribers import SubscriptionResult, add_subscribers  # noqa: F401

SEND_POLICIES = ("public", "subscribers", "owners")
ARCHIVE_VISIBILITIES = ("public", "private", "owner")
LIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
DOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
                    r"(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
SUBJECT_MAX = 255


class UnknownList(LookupError):
    """No list has that address."""


class ListInputError(ValueError):
    """A bad value for one field of a list (`field` says which, for forms)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def split_list_address(address: str) -> tuple[str, str]:
    """`name@domain` → (name, domain), validated and lower-cased."""
    name, at, domain = address.strip().lower().rpartition("@")
    if not at or not LIST_NAME.fullmatch(name) or not DOMAIN.fullmatch(domain):
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


def log_change(session: Session, mailing_list: MailingList, setting: str,
               old: str | None, new: str | None, changed_by: str) -> ListSettingChange:
    """Append one line to the list's change log (who, when, what, old → new)."""
    change = ListSettingChange(list_id=mailing_list.id, changed_by=changed_by[:320],
                               setting=setting, old_value=old, new_value=new)
    session.add(change)
    return change


def _check_subject(subject: str) -> str:
    subject = subject.strip()
    if "\n" in subject or "\r" in subject:
        raise ValueError("the subject must be one line")
    if len(subject) > SUBJECT_MAX:
        raise ValueError(f"the subject must have at most {SUBJECT_MAX} characters")
    return subject


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
    created_by: str | None = None,
) -> MailingList:
    """Create a list with its owners; tracking settings left None follow the site defaults."""
    try:
        name, domain = split_list_address(address)
    except ValueError as error:
        raise ListInputError("address", str(error)) from None
    if find_list(session, address) is not None:
        raise ListInputError("address", f"a list {name}@{domain} already exists")
    checks = (("dsn", delivery_status_notification, (None, *ON_OFF)),
              ("mdn", message_disposition_notification, (None, *MDN_VALUES)),
              ("send_policy", send_policy, SEND_POLICIES),
              ("archive_visibility", archive_visibility, ARCHIVE_VISIBILITIES))
    for field_name, value, allowed in checks:
        if value not in allowed:
            shown = ", ".join(word for word in allowed if word)
            label = f"--{field_name}" if field_name in ("dsn", "mdn") \
                else field_name.replace("_", " ")
            raise ListInputError(field_name, f"{label} must be one of: {shown}")
    try:
        owner_list = list(dict.fromkeys(normalize_address(owner) for owner in owners))
    except InvalidAddress as error:
        raise ListInputError("owners", str(error)) from None
    if not owner_list:
        raise ListInputError("owners", "a list needs at least one owner")
    try:
        subject = _check_subject(subject)
    except ValueError as error:
        raise ListInputError("subject", str(error)) from None
    mailing_list = MailingList(
        name=name, domain=domain, subject=subject, send_policy=send_policy,
        archive_visibility=archive_visibility,
        delivery_status_notification=delivery_status_notification,
        message_disposition_notification=message_disposition_notification,
    )
    mailing_list.owners = [ListOwner(email=owner) for owner in owner_list]
    session.add(mailing_list)
    session.flush()
    if created_by:
        log_change(session, mailing_list, "created", None, mailing_list.address, created_by)
        session.flush()
    return mailing_list


def rename_list(session: Session, mailing_list: MailingList, new_address: str,
                changed_by: str) -> bool:
    """Give a list a new address; archives, tracking and owners follow it (they hold its id)."""
    name, domain = split_list_address(new_address)
    if (name, domain) == (mailing_list.name, mailing_list.domain):
        return False
    if find_list(session, new_address) is not None:
        raise ValueError(f"a list {name}@{domain} already exists")
    old = mailing_list.address
    mailing_list.name, mailing_list.domain = name, domain
    log_change(session, mailing_list, "address", old, mailing_list.address, changed_by)
    session.flush()
    return True


def set_subject(session: Session, mailing_list: MailingList, subject: str,
                changed_by: str) -> bool:
    """Change the one-line subject; False when it was already that."""
    subject = _check_subject(subject)
    if subject == mailing_list.subject:
        return False
    log_change(session, mailing_list, "subject", mailing_list.subject, subject, changed_by)
    mailing_list.subject = subject
    session.flush()
    return True


def owner_addresses(session: Session, mailing_list: MailingList) -> list[str]:
    return list(session.scalars(
        select(ListOwner.email).where(ListOwner.list_id == mailing_list.id)
        .order_by(ListOwner.email)
    ))


def add_owner(session: Session, mailing_list: MailingList, email: str, changed_by: str) -> str:
    """Make an address an owner of the list; returns it normalised."""
    address = normalize_address(email)
    if session.get(ListOwner, (mailing_list.id, address)) is not None:
        raise ValueError(f"{address} is already an owner of {mailing_list.address}")
    session.add(ListOwner(list_id=mailing_list.id, email=address))
    log_change(session, mailing_list, "owner", None, address, changed_by)
    session.flush()
    return address


def remove_owner(session: Session, mailing_list: MailingList, email: str,
                 changed_by: str) -> str:
    """Remove an owner, but never the last one: a list always has someone to answer for it."""
    address = normalize_address(email)
    owner = session.get(ListOwner, (mailing_list.id, address))
    if owner is None:
        raise ValueError(f"{address} is not an owner of {mailing_list.address}")
    if len(owner_addresses(session, mailing_list)) <= 1:
        raise ValueError(f"{address} is the last owner of {mailing_list.address}: "
                         "add another owner first")
    session.delete(owner)
    log_change(session, mailing_list, "owner", address, None, changed_by)
    session.flush()
    return address


def set_closed(session: Session, mailing_list: MailingList, closed: bool,
               changed_by: str) -> bool:
    """Close (posts refused, hidden from the home page) or reopen; False when already so."""
    if mailing_list.closed == closed:
        return False
    log_change(session, mailing_list, "closed", "on" if mailing_list.closed else "off",
               "on" if closed else "off", changed_by)
    mailing_list.closed = closed
    session.flush()
    return True


def managed_lists(session: Session, user: Any) -> list[MailingList]:
    """Lists a signed-in user may administer: all for a listmaster, else the ones they own."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    query = select(MailingList)
    if not user.is_listmaster:
        owned = select(ListOwner.list_id).where(ListOwner.email == user.email)
        query = query.where(MailingList.id.in_(owned))
    return list(session.scalars(query.order_by(MailingList.domain, MailingList.name)))


def manages_any_list(session: Session, user: Any) -> bool:
    """Whether to show the administration link to this user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_listmaster:
        return True
    return session.scalar(
        select(ListOwner.list_id).where(ListOwner.email == user.email).limit(1)
    ) is not None
