"""The queries behind the tracking panel, as plain functions the web app and the CLI share.

Counts come from `delivery_status_counts`, which database triggers keep (migration 0005),
so the summary reads a few rows instead of counting 100,000; rows come in keyset pages
ordered by recipient within (message_id[, status]), so page 2,000 costs what page 1 costs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Select, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from listtrack.models import (
    RECEPTION_OPTIONS,
    Delivery,
    DeliveryStatusCount,
    Message,
    Notification,
    Report,
)
from listtrack.tracking import STATUS_RANK

PAGE_SIZE = 50
EXPORT_BATCH = 1000
MAX_SEARCH_LENGTH = 320
LIKE_ESCAPE = "/"


@dataclass(frozen=True)
class StatusGroup:
    """A chip and a bar segment: one or more status words shown together."""

    key: str
    label: str
    statuses: tuple[str, ...]


# In the order the bar draws them: reached the reader, on its way, pending, refused, not sent.
STATUS_GROUPS: tuple[StatusGroup, ...] = (
    StatusGroup("displayed", "Displayed", ("displayed",)),
    StatusGroup("delivered", "Delivered", ("delivered",)),
    StatusGroup("processed", "Dispatched or processed", ("dispatched", "processed")),
    StatusGroup("deleted", "Deleted", ("deleted",)),
    StatusGroup("relayed", "Relayed or expanded", ("relayed", "expanded")),
    StatusGroup("delayed", "Delayed", ("delayed",)),
    StatusGroup("waiting", "Waiting", ("waiting",)),
    StatusGroup("failed", "Failed", ("failed",)),
    StatusGroup("not_sent", "Not sent (reception option)", RECEPTION_OPTIONS),
)
GROUPS_BY_KEY = {group.key: group for group in STATUS_GROUPS}
NOT_SENT_STATUSES = frozenset(RECEPTION_OPTIONS)
DSN_UNAVAILABLE_LABEL = "DSN not available"


class BadTrackingQuery(ValueError):
    """A filter, search or page cursor that cannot be used; the message is one line."""


@dataclass(frozen=True)
class GroupCount:
    group: StatusGroup
    label: str
    count: int
    share: float  # 0..1 of all deliveries of the message
    by_status: tuple[tuple[str, int], ...]  # the words inside the group that occur


@dataclass(frozen=True)
class TrackingSummary:
    total: int
    groups: tuple[GroupCount, ...]
    counts: Mapping[str, int]
    pending: bool  # some copies may still change: the page keeps refreshing the summary

    def count_of(self, key: str) -> int:
        return sum(g.count for g in self.groups if g.group.key == key)


def status_counts(session: Session, message_id: int) -> dict[str, int]:
    """Deliveries of one message per status word, from the trigger-kept counts (a few rows)."""
    rows = session.execute(
        select(DeliveryStatusCount.status, DeliveryStatusCount.delivery_count)
        .where(DeliveryStatusCount.message_id == message_id,
               DeliveryStatusCount.delivery_count > 0)
    )
    return {status: count for status, count in rows}


def count_statuses(session: Session, message_id: int) -> dict[str, int]:
    """The same counts taken from the deliveries themselves (one GROUP BY on the covering
    index): what the kept counts are checked against."""
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.message_id == message_id)
        .group_by(Delivery.status)
    )
    return {status: count for status, count in rows}


def summarize(counts: Mapping[str, int], *, dsn_unavailable: bool = False) -> TrackingSummary:
    """Group status counts for the bar and the chips, with shares and the pending flag."""
    total = sum(counts.values())
    groups = []
    for group in (*STATUS_GROUPS, *_extra_groups(counts)):
        present = tuple((s, counts[s]) for s in group.statuses if counts.get(s))
        count = sum(n for _, n in present)
        label = DSN_UNAVAILABLE_LABEL if group.key == "waiting" and dsn_unavailable \
            else group.label
        groups.append(GroupCount(group, label, count, count / total if total else 0.0, present))
    delayed, waiting = counts.get("delayed", 0), counts.get("waiting", 0)
    # Without DSN support no report will move a waiting copy (only a read receipt might).
    pending = bool(delayed or (waiting and not dsn_unavailable))
    return TrackingSummary(total, tuple(groups), dict(counts), pending)


def _extra_groups(counts: Mapping[str, int]) -> list[StatusGroup]:
    """Words outside the known groups (should not occur) still get counted and shown."""
    known = {s for group in STATUS_GROUPS for s in group.statuses}
    return [StatusGroup(s, s, (s,)) for s in sorted(counts) if s not in known]


def tracking_summary(session: Session, message: Message) -> TrackingSummary:
    return summarize(status_counts(session, message.id), dsn_unavailable=message.dsn_unavailable)


def status_filter(key: str | None) -> StatusGroup | None:
    """The group a `status=` parameter names (a group key or one status word); None = all."""
    if not key:
        return None
    if key in GROUPS_BY_KEY:
        return GROUPS_BY_KEY[key]
    if key in STATUS_RANK or key in RECEPTION_OPTIONS:
        return StatusGroup(key, key, (key,))
    raise BadTrackingQuery(f"unknown status filter '{key[:40]}'")


def clean_search(text: str | None) -> str:
    """The search text as used: trimmed and lower-cased (addresses are stored lower-case)."""
    text = (text or "").strip().lower()
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadTrackingQuery(f"the search text is longer than {MAX_SEARCH_LENGTH} characters")
    return text


def like_escape(text: str) -> str:
    """Make % and _ in user text match themselves in a LIKE pattern (escape char '/')."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
                .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))


def _address_like(dialect: str, parameter: str):  # noqa: ANN202
    """A case-insensitive LIKE on the address, as cheap as each backend allows: SQLite's LIKE
    already ignores ASCII case (a lower() per row would triple a full scan), PostgreSQL has
    ILIKE, MariaDB with a binary collation needs lower()."""
    if dialect == "sqlite":
        return Delivery.recipient.like(bindparam(parameter), escape=LIKE_ESCAPE)
    if dialect == "postgresql":
        return Delivery.recipient.ilike(bindparam(parameter), escape=LIKE_ESCAPE)
    return func.lower(Delivery.recipient).like(bindparam(parameter), escape=LIKE_ESCAPE)


def _search_condition(dialect: str, domain_only: bool):  # noqa: ANN202
    """Substring of the address; for masked lists only the domain part or the whole address.

    Masked lists must not let a substring search spell out hidden local parts letter by
    letter, so there a search matches an exact address or text after the '@'.
    """
    pattern = _address_like(dialect, "pattern")
    return or_(_address_like(dialect, "exact"), pattern) if domain_only else pattern


def _search_parameters(search: str, domain_only: bool) -> dict[str, str]:
    if not domain_only:
        return {"pattern": f"%{like_escape(search)}%"}
    return {"exact": like_escape(search), "pattern": f"%@%{like_escape(search.lstrip('@'))}%"}


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    recipient: str
    reception: str
    status: str
    status_code: str | None
    diagnostic: str | None
    last_notification_at: datetime | None
    notification_id: int | None  # the notification that shows the current status best


@dataclass(frozen=True)
class RowPage:
    rows: list[DeliveryRow]
    next_after: int | None  # delivery id to continue after, None on the last page


def _evidence_notification():  # noqa: ANN202
    """The notification a row's 'view' opens: the latest one that set the current status,
    else the latest (a late 'delayed' after 'delivered' is history, not the proof)."""

    def latest(*conditions):  # noqa: ANN001, ANN202
        other = aliased(Notification)
        return (
            select(other.id)
            .where(other.delivery_id == Delivery.id, *(c(other) for c in conditions))
            .order_by(other.received_at.desc(), other.id.desc())
            .limit(1)
            .correlate(Delivery)
            .scalar_subquery()
        )

    return func.coalesce(latest(lambda other: other.action == Delivery.status), latest())


def cursor_recipient(session: Session, message_id: int, after: str | None) -> str | None:
    """The address a page cursor (a delivery id of this message) stands for."""
    if not after:
        return None
    if not after.isdigit() or len(after) > 18:
        raise BadTrackingQuery("the page cursor 'after' must be a row number")
    recipient = session.scalar(
        select(Delivery.recipient).where(Delivery.id == int(after),
                                         Delivery.message_id == message_id)
    )
    if recipient is None:
        raise BadTrackingQuery("that page no longer exists; start again from the first page")
    return recipient


@lru_cache(maxsize=256)
def _rows_statement(dialect: str, statuses: tuple[str, ...] | None, after: bool, search: str,
                    limit: int, with_evidence: bool) -> Select:
    """The rows query for one shape of request, built once; values come as bound parameters."""
    columns = [Delivery.id, Delivery.recipient, Delivery.reception, Delivery.status,
               Delivery.status_code, Delivery.diagnostic, Delivery.last_notification_at]
    if with_evidence:
        columns.append(_evidence_notification().label("notification_id"))

    def one_range(status: str | None) -> Select:
        query = select(*columns).where(Delivery.message_id == bindparam("message_id"))
        if status is not None:
            query = query.where(Delivery.status == status)
        if after:
            query = query.where(Delivery.recipient > bindparam("after_recipient"))
        if search:
            query = query.where(_search_condition(dialect, search == "masked"))
        return query.order_by(Delivery.recipient).limit(limit + 1)

    if statuses is None:
        return one_range(None)
    if len(statuses) == 1:
        return one_range(statuses[0])
    merged = union_all(*(select(one_range(s).subquery()) for s in statuses)).subquery()
    return select(merged).order_by(merged.c.recipient).limit(limit + 1)


def delivery_rows(
    session: Session,
    message_id: int,
    *,
    group: StatusGroup | None = None,
    search: str = "",
    domain_only_search: bool = False,
    after_recipient: str | None = None,
    limit: int = PAGE_SIZE,
    with_evidence: bool = True,
) -> RowPage:
    """One keyset page of deliveries in address order, filtered by status group and search.

    A group of several words reads one index range per word and lets the database merge
    them (UNION ALL, then ORDER BY), so each range stops after `limit + 1` rows and the
    order is the database's collation, the same one the `>` of the cursor uses.
    """
    statuses = group.statuses if group is not None else None
    query = _rows_statement(session.get_bind().dialect.name, statuses, after_recipient is not None,
                            (("masked" if domain_only_search else "substring") if search else ""),
                            limit, with_evidence)
    parameters: dict[str, object] = {"message_id": message_id}
    if after_recipient is not None:
        parameters["after_recipient"] = after_recipient
    if search:
        parameters.update(_search_parameters(search, domain_only_search))
    found = [DeliveryRow(*row) if with_evidence else DeliveryRow(*row, None)
             for row in session.execute(query, parameters)]
    more = len(found) > limit
    rows = found[:limit]
    return RowPage(rows, rows[-1].id if more else None)


def all_delivery_rows(
    session: Session,
    message_id: int,
    *,
    group: StatusGroup | None = None,
    search: str = "",
    domain_only_search: bool = False,
) -> Iterator[DeliveryRow]:
    """Every matching row, fetched in keyset batches so an export never holds them all."""
    after: str | None = None
    while True:
        page = delivery_rows(session, message_id, group=group, search=search,
                             domain_only_search=domain_only_search, after_recipient=after,
                             limit=EXPORT_BATCH, with_evidence=False)
        yield from page.rows
        if page.next_after is None:
            return
        after = page.rows[-1].recipient


@dataclass(frozen=True)
class NotificationEvidence:
    notification: Notification
    delivery: Delivery
    report: Report
    history: Sequence[Notification]  # every notification of that delivery, oldest first


def notification_evidence(
    session: Session, message_id: int, notification_id: int
) -> NotificationEvidence | None:
    """A notification with its delivery, report and history, only if it is about `message_id`."""
    found = session.execute(
        select(Notification, Delivery, Report)
        .join(Delivery, Notification.delivery_id == Delivery.id)
        .join(Report, Notification.report_id == Report.id)
        .where(Notification.id == notification_id, Delivery.message_id == message_id)
    ).first()
    if found is None:
        return None
    notification, delivery, report = found
    return NotificationEvidence(notification, delivery, report,
                                delivery_history(session, delivery.id))


def delivery_history(session: Session, delivery_id: int) -> list[Notification]:
    """Every notification of one delivery in the order they were received."""
    return list(session.scalars(
        select(Notification).where(Notification.delivery_id == delivery_id)
        .order_by(Notification.received_at, Notification.id)
    ))


def report_for_download(session: Session, message_id: int, notification_id: int) -> Report | None:
    """The report behind a notification of `message_id` (None for any other message's)."""
    return session.scalar(
        select(Report)
        .join(Notification, Notification.report_id == Report.id)
        .join(Delivery, Notification.delivery_id == Delivery.id)
        .where(Notification.id == notification_id, Delivery.message_id == message_id)
    )
