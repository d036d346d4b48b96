"""Reading a list's archive: months with counts, a month by thread or by date, neighbours
of a message, its thread, and search. Queries select summary columns only (never `raw`)
and follow the indexes of migration 0004, so a month of 50,000 messages stays fast.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from listtrack.models import Message

SUMMARY_COLUMNS = (
    Message.id, Message.message_id, Message.subject, Message.sender, Message.sender_name,
    Message.date, Message.year_month, Message.parent_id, Message.thread_id, Message.size,
)
MESSAGES_PER_PAGE = 50
THREADS_PER_PAGE = 25
MESSAGES_SHOWN_PER_THREAD = 100
OUTLINE_LIMIT = 300
MAX_DEPTH = 12
SEARCH_FIELDS = ("all", "subject", "sender", "body")
MAX_SEARCH_WORDS = 8


@dataclass(frozen=True)
class MonthCount:
    year_month: str
    count: int


@dataclass
class Page:
    """One page of results; `total` is None where counting would cost a second full scan."""

    items: list[Any]
    number: int
    per_page: int
    total: int | None
    more: bool = False  # a next page exists (known without a total)

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.more if self.total is None else self.number < (self.pages or 1)


@dataclass(frozen=True)
class ThreadEntry:
    message: Any  # a summary row (SUMMARY_COLUMNS)
    depth: int


@dataclass
class ThreadGroup:
    thread_id: int | None
    entries: list[ThreadEntry] = field(default_factory=list)
    hidden: int = 0  # messages of this thread in the month beyond what is shown


@dataclass(frozen=True)
class Neighbours:
    previous_by_date: Any = None
    next_by_date: Any = None
    previous_in_thread: Any = None
    next_in_thread: Any = None


def bare_message_id(message_id: str) -> str:
    """The Message-ID as it appears in our URLs: without its angle brackets."""
    return message_id[1:-1] if message_id.startswith("<") and message_id.endswith(">") \
        else message_id


def find_message(session: Session, list_id: int, bare_id: str) -> Message | None:
    """The archived message of a list by its Message-ID, given with or without brackets."""
    wanted = bare_id if bare_id.startswith("<") else f"<{bare_id}>"
    return session.scalar(
        select(Message).where(Message.list_id == list_id, Message.message_id == wanted))


def month_counts(session: Session, list_id: int) -> list[MonthCount]:
    """Every month of a list's archive with its number of messages, newest first."""
    rows = session.execute(
        select(Message.year_month, func.count())
        .where(Message.list_id == list_id)
        .group_by(Message.year_month)
        .order_by(Message.year_month.desc())
    )
    return [MonthCount(year_month, count) for year_month, count in rows]


def month_total(session: Session, list_id: int, year_month: str) -> int:
    return session.scalar(
        select(func.count()).select_from(Message)
        .where(Message.list_id == list_id, Message.year_month == year_month)) or 0


def month_by_date(session: Session, list_id: int, year_month: str, page: int = 1,
                  per_page: int = MESSAGES_PER_PAGE) -> Page:
    """A month's messages in the order they were written, one page of them."""
    total = month_total(session, list_id, year_month)
    page = _clamp_page(page, total, per_page)
    rows = session.execute(
        select(*SUMMARY_COLUMNS)
        .where(Message.list_id == list_id, Message.year_month == year_month)
        .order_by(Message.date, Message.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(rows, page, per_page, total)


def month_threads(session: Session, list_id: int, year_month: str, page: int = 1,
                  per_page: int = THREADS_PER_PAGE) -> Page:
    """A month's threads, ordered by their first message in the month, each as a tree.

    The first message of each thread in each month carries `thread_start` (kept by
    `listtrack.archive`), so counting and paging threads is a range of one index."""
    in_month = and_(Message.list_id == list_id, Message.year_month == year_month)
    starts = and_(in_month, Message.thread_start == true())
    total = session.scalar(select(func.count()).select_from(Message).where(starts)) or 0
    page = _clamp_page(page, total, per_page)
    thread_ids = list(session.scalars(
        select(Message.thread_id).where(starts).order_by(Message.date, Message.id)
        .limit(per_page).offset((page - 1) * per_page)))
    rows = session.execute(  # thread ids are message ids, unique across lists: no list_id,
        select(*SUMMARY_COLUMNS)  # so the (thread_id, date) index is the one used
        .where(Message.thread_id.in_(thread_ids), Message.year_month == year_month)
        .order_by(Message.date, Message.id)
    ).all() if thread_ids else []
    by_thread: dict[int | None, list[Any]] = defaultdict(list)
    for row in rows:
        by_thread[row.thread_id].append(row)
    groups = []
    for thread_id in thread_ids:
        entries = thread_tree(by_thread[thread_id])
        groups.append(ThreadGroup(thread_id, entries[:MESSAGES_SHOWN_PER_THREAD],
                                  max(0, len(entries) - MESSAGES_SHOWN_PER_THREAD)))
    return Page(groups, page, per_page, total)


def adjacent_months(session: Session, list_id: int, year_month: str) -> tuple[str | None,
                                                                               str | None]:
    """The closest older and newer months of the list that have messages."""
    older = session.scalar(
        select(Message.year_month).where(Message.list_id == list_id,
                                         Message.year_month < year_month)
        .order_by(Message.year_month.desc()).limit(1))
    newer = session.scalar(
        select(Message.year_month).where(Message.list_id == list_id,
                                         Message.year_month > year_month)
        .order_by(Message.year_month).limit(1))
    return older, newer


def thread_tree(rows: list[Any]) -> list[ThreadEntry]:
    """Rows of one thread (in date order) as a depth-first tree; a reply whose parent is
    not among them starts a branch of its own."""
    present = {row.id for row in rows}
    children: dict[int | None, list[Any]] = defaultdict(list)
    for row in rows:
        parent = row.parent_id if row.parent_id in present else None
        children[parent].append(row)
    entries: list[ThreadEntry] = []
    stack = [(row, 0) for row in reversed(children[None])]
    seen: set[int] = set()
    while stack:
        row, depth = stack.pop()
        if row.id in seen:
            continue
        seen.add(row.id)
        entries.append(ThreadEntry(row, min(depth, MAX_DEPTH)))
        stack.extend((child, depth + 1) for child in reversed(children[row.id]))
    entries.extend(ThreadEntry(row, 0) for row in rows if row.id not in seen)  # cycles
    return entries


def thread_outline(session: Session, message: Message,
                   limit: int = OUTLINE_LIMIT) -> tuple[list[ThreadEntry], bool]:
    """The whole thread of a message as a tree (at most `limit` messages; True if cut)."""
    if message.thread_id is None:
        return [], False
    rows = session.execute(
        select(*SUMMARY_COLUMNS).where(Message.thread_id == message.thread_id)
        .order_by(Message.date, Message.id).limit(limit + 1)
    ).all()
    return thread_tree(rows[:limit]), len(rows) > limit


def neighbours(session: Session, message: Message) -> Neighbours:
    """Previous and next message of the list by date, and within the message's thread."""
    return Neighbours(
        previous_by_date=_by_date(session, message, later=False),
        next_by_date=_by_date(session, message, later=True),
        previous_in_thread=_in_thread(session, message, later=False),
        next_in_thread=_in_thread(session, message, later=True),
    )


def _by_date(session: Session, message: Message, later: bool) -> Any:
    """year_month follows date, so (year_month, date, id) order is date order on the index."""
    columns = (Message.year_month, Message.date, Message.id)
    order = [column if later else column.desc() for column in columns]
    same_list = Message.list_id == message.list_id
    steps = (
        and_(Message.year_month == message.year_month, Message.date == message.date,
             Message.id > message.id if later else Message.id < message.id),
        and_(Message.year_month == message.year_month,
             Message.date > message.date if later else Message.date < message.date),
        Message.year_month > message.year_month if later
        else Message.year_month < message.year_month,
    )
    for condition in steps:
        found = session.execute(
            select(*SUMMARY_COLUMNS).where(same_list, condition).order_by(*order).limit(1)
        ).first()
        if found is not None:
            return found
    return None


def _in_thread(session: Session, message: Message, later: bool) -> Any:
    if message.thread_id is None:
        return None
    if later:
        after = or_(Message.date > message.date,
                    and_(Message.date == message.date, Message.id > message.id))
        order = (Message.date, Message.id)
    else:
        after = or_(Message.date < message.date,
                    and_(Message.date == message.date, Message.id < message.id))
        order = (Message.date.desc(), Message.id.desc())
    return session.execute(
        select(*SUMMARY_COLUMNS)
        .where(Message.thread_id == message.thread_id, after)
        .order_by(*order).limit(1)
    ).first()


def search_messages(session: Session, list_id: int, query: str, where: str = "all",
                    page: int = 1, per_page: int = MESSAGES_PER_PAGE) -> Page:
    """Messages of a list where every word of `query` appears (any case) in the chosen
    field; LIKE wildcards in the query are matched literally. Newest first, without a total:
    a LIKE search reads every message once, counting them would read them all twice."""
    words = query.split()[:MAX_SEARCH_WORDS]
    if not words:
        return Page([], 1, per_page, 0)
    fields = {
        "subject": (Message.subject,),
        "sender": (Message.sender, Message.sender_name),
        "body": (Message.body_text,),
    }
    columns = fields.get(where) or tuple(c for group in fields.values() for c in group)
    # SQLite's LIKE already ignores ASCII case (its lower() knows no more): skip lower() there,
    # it halves the time of a search that reads every message.
    plain_like = session.get_bind().dialect.name == "sqlite"
    conditions = [
        or_(*(column.contains(word, autoescape=True) if plain_like
              else column.icontains(word, autoescape=True) for column in columns))
        for word in words
    ]
    matching = and_(Message.list_id == list_id, *conditions)
    page = max(1, page)
    rows = session.execute(  # year_month first: the index walks backwards, stops when full
        select(*SUMMARY_COLUMNS).where(matching)
        .order_by(Message.year_month.desc(), Message.date.desc(), Message.id.desc())
        .limit(per_page + 1).offset((page - 1) * per_page)
    ).all()
    return Page(rows[:per_page], page, per_page, None, more=len(rows) > per_page)


def _clamp_page(page: int, total: int, per_page: int) -> int:
    return min(max(1, page), max(1, math.ceil(total / per_page)))
