"""Subscribers of a list: add (one, many, pasted or CSV), remove, reception options, pages.

Bad addresses and bad lines are reported, never fatal, and duplicates are never doubled:
the admin forms and the CLI show these reports as they are.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from listtrack.accounts import InvalidAddress, normalize_address
from listtrack.models import RECEPTION_OPTIONS, MailingList, Subscriber, utcnow

CHUNK = 500


class NotSubscribed(LookupError):
    """The address is not a subscriber of that list."""


@dataclass
class SubscriptionResult:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str


@dataclass
class ImportResult(SubscriptionResult):
    problems: list[LineProblem] = field(default_factory=list)


def _check_reception(reception: str) -> str:
    if reception not in RECEPTION_OPTIONS:
        raise ValueError(f"'{reception}' is not a reception option "
                         f"(allowed: {', '.join(RECEPTION_OPTIONS)})")
    return reception


def _existing(session: Session, mailing_list: MailingList, addresses: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(addresses), CHUNK):
        found.update(session.scalars(
            select(Subscriber.email).where(Subscriber.list_id == mailing_list.id,
                                           Subscriber.email.in_(addresses[start:start + CHUNK]))
        ))
    return found


def _subscribe(session: Session, mailing_list: MailingList, wanted: dict[str, str],
               result: SubscriptionResult) -> None:
    """Insert the wanted address → reception pairs that are not subscribed yet."""
    now = utcnow()
    session.flush()
    existing = _existing(session, mailing_list, list(wanted))
    rows = []
    for address, reception in wanted.items():
        if address in existing:
            result.already.append(address)
        else:
            rows.append({"list_id": mailing_list.id, "email": address, "reception": reception,
                         "created_at": now})
            result.added.append(address)
    for start in range(0, len(rows), CHUNK):  # Core inserts: a 100,000-line import stays quick
        session.execute(insert(Subscriber), rows[start:start + CHUNK])


def add_subscribers(
    session: Session, mailing_list: MailingList, addresses: list[str], reception: str = "mail"
) -> SubscriptionResult:
    """Subscribe addresses; report duplicates and invalid ones instead of failing on them."""
    _check_reception(reception)
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
            wanted[address] = reception
    _subscribe(session, mailing_list, wanted, result)
    return result


def split_addresses(text: str) -> list[str]:
    """Addresses pasted one per line or separated by commas or semicolons."""
    return [part.strip() for part in re.split(r"[\r\n,;]+", text) if part.strip()]


def import_subscribers_csv(session: Session, mailing_list: MailingList, data: bytes | str,
                           reception: str = "mail") -> ImportResult:
    """Subscribe `email[,reception]` lines (header optional); bad lines are reported by number."""
    _check_reception(reception)
    result = ImportResult()
    wanted: dict[str, str] = {}
    seen_data = False
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            delimiter = next((mark for mark in ",;\t" if mark in text), ",")
            row = next(csv.reader([text.lstrip("\ufeff")], delimiter=delimiter), None)
            fields = [cell.strip() for cell in row] if row else [""]
        except (UnicodeDecodeError, csv.Error):
            result.problems.append(LineProblem(number, "not a line of UTF-8 text"))
            continue
        while len(fields) > 1 and not fields[-1]:
            fields.pop()
        if not fields[0] and len(fields) == 1:
            continue
        if not seen_data and fields[0].lower() in ("email", "e-mail", "address"):
            seen_data = True
            continue  # the optional header
        seen_data = True
        if len(fields) > 2:
            result.problems.append(LineProblem(
                number, f"expected email[,reception], found {len(fields)} fields"))
            continue
        try:
            address = normalize_address(fields[0])
            line_reception = _check_reception(fields[1].lower()) if len(fields) == 2 \
                else reception
        except ValueError as error:
            result.problems.append(LineProblem(number, str(error)))
            continue
        if address in wanted:
            result.already.append(address)
        else:
            wanted[address] = line_reception
    _subscribe(session, mailing_list, wanted, result)
    return result


@dataclass
class RemovalResult:
    removed: list[str] = field(default_factory=list)
    not_subscribed: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def remove_subscribers(session: Session, mailing_list: MailingList,
                       addresses: list[str]) -> RemovalResult:
    """Unsubscribe addresses; unknown and invalid ones are reported, not fatal."""
    result = RemovalResult()
    wanted: list[str] = []
    for text in addresses:
        try:
            address = normalize_address(text)
        except InvalidAddress as error:
            result.invalid.append(str(error))
            continue
        if address not in wanted:
            wanted.append(address)
    existing = _existing(session, mailing_list, wanted)
    for address in wanted:
        if address in existing:
            result.removed.append(address)
        else:
            result.not_subscribed.append(address)
    for start in range(0, len(result.removed), CHUNK):
        for row in session.scalars(select(Subscriber).where(
                Subscriber.list_id == mailing_list.id,
                Subscriber.email.in_(result.removed[start:start + CHUNK]))):
            session.delete(row)
    session.flush()
    return result


def set_reception(session: Session, mailing_list: MailingList, email: str,
                  reception: str) -> Subscriber:
    """Change how one subscriber receives the list (mail, digest, nomail, ...)."""
    _check_reception(reception)
    address = normalize_address(email)
    subscriber = session.scalar(select(Subscriber).where(
        Subscriber.list_id == mailing_list.id, Subscriber.email == address))
    if subscriber is None:
        raise NotSubscribed(f"{address} is not subscribed to {mailing_list.address}")
    subscriber.reception = reception
    session.flush()
    return subscriber


@dataclass(frozen=True)
class SubscriberPage:
    rows: list[Subscriber]
    total: int
    page: int
    pages: int
    search: str


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def subscriber_page(session: Session, mailing_list: MailingList, search: str = "",
                    page: int = 1, per_page: int = 50) -> SubscriberPage:
    """One page of a list's subscribers in address order, optionally matching a search."""
    search = search.strip().lower()
    condition = Subscriber.list_id == mailing_list.id
    if search:
        condition = condition & Subscriber.email.like(_like_pattern(search), escape="\\")
    total = session.scalar(select(func.count()).select_from(Subscriber).where(condition)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(session.scalars(select(Subscriber).where(condition).order_by(Subscriber.email)
                                .offset((page - 1) * per_page).limit(per_page)))
    return SubscriberPage(rows=rows, total=total, page=page, pages=pages, search=search)


def subscriber_counts(session: Session, list_ids: list[int]) -> dict[int, int]:
    """Subscribers per list id, for overviews."""
    if not list_ids:
        return {}
    return dict(session.execute(  # type: ignore[arg-type]
        select(Subscriber.list_id, func.count()).where(Subscriber.list_id.in_(list_ids))
        .group_by(Subscriber.list_id)).all())


def all_subscribers(session: Session, mailing_list: MailingList) -> list[Subscriber]:
    return list(session.scalars(select(Subscriber).where(Subscriber.list_id == mailing_list.id)
                                .order_by(Subscriber.email)))
