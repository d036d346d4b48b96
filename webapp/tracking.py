"""The owner-only tracking panel of one message: summary, rows, notifications, CSV, evidence.

Every URL here answers 404 to anyone `can_view_tracking` refuses, and for messages that
were not tracked, so the panel never confirms that a message or a list exists. The views
only check access, read parameters and render; the queries live in `tracking_queries`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.routing import BuildError

from listtrack.access import can_manage, can_view_tracking, list_roles
from listtrack.address_masking import mask_address, mask_addresses_in_text
from listtrack.archive_browsing import find_message
from listtrack.lists import find_list
from listtrack.models import MailingList, Message
from listtrack.status_phrases import describe_status, status_phrase
from listtrack.tracking_queries import (
    NOT_SENT_STATUSES,
    BadTrackingQuery,
    StatusGroup,
    TrackingSummary,
    all_delivery_rows,
    clean_search,
    cursor_recipient,
    delivery_rows,
    notification_evidence,
    report_for_download,
    status_filter,
    tracking_summary,
)
from webapp.extensions import db
from webapp.fragments import render_block

bp = Blueprint("tracking", __name__, url_prefix="/lists/<list_address>/msg/<path:message_id>")

PANEL_TEMPLATE = "tracking/panel.html"
NOTIFICATION_TEMPLATE = "tracking/notification.html"
RAW_DISPLAY_LIMIT = 256 * 1024  # longer sources are cut on the page; the download is whole
CSV_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
BAR_WIDTH = 1000  # SVG user units; the bar stretches to the page width
BAR_MIN_SEGMENT = 4  # a single failure among 100,000 must still be visible
KIND_LABELS = {
    "dsn": "Delivery status notification (DSN)",
    "mdn": "Read receipt (MDN)",
    "arf": "Feedback report (ARF)",
    "auto-reply": "Automatic reply",
    "smtp": "SMTP refusal",
}


@dataclass(frozen=True)
class TrackedMessage:
    mailing_list: MailingList
    message: Message
    masked: bool
    # On a masked list only owners and listmasters get the exact evidence (it names the
    # recipient in full); subscribers and the sender see the masked page only.
    exact_evidence: bool = True

    def address(self, text: str | None) -> str:
        """An address as this list lets it be shown."""
        return mask_address(text) if self.masked else (text or "")

    def text(self, text: str | None) -> str:
        """Free text (diagnostics, sources) with addresses masked where the list wants it."""
        return mask_addresses_in_text(text) if self.masked else (text or "")


def _tracked_message(list_address: str, message_id: str) -> TrackedMessage:
    """The list and message named in the URL, if this visitor may see their tracking; else 404."""
    mailing_list = find_list(db.session, list_address)
    if mailing_list is None:
        abort(404)
    message = find_message(db.session, mailing_list.id, f"<{message_id}>")
    if message is None or not message.tracked:
        abort(404)
    roles = list_roles(db.session, current_user, mailing_list)
    if not can_view_tracking(roles, current_user, mailing_list, message,
                             current_app.config["SITE"]):
        abort(404)
    masked = bool(mailing_list.mask_addresses)
    return TrackedMessage(mailing_list, message, masked,
                          exact_evidence=not masked or can_manage(roles))


@dataclass(frozen=True)
class RowQuery:
    """The filter, search and page cursor of a request, checked."""

    group: StatusGroup | None
    search: str
    after: str | None
    after_recipient: str | None

    def args(self, **changes: str | None) -> dict[str, str]:
        """URL parameters that keep this filter and search (and drop empty ones)."""
        values = {"status": self.group.key if self.group else None, "q": self.search or None}
        values.update(changes)
        return {key: value for key, value in values.items() if value}


def _row_query(tracked: TrackedMessage) -> RowQuery:
    try:
        group = status_filter(request.args.get("status"))
        search = clean_search(request.args.get("q"))
        after = request.args.get("after") or None
        after_recipient = cursor_recipient(db.session, tracked.message.id, after)
    except BadTrackingQuery as error:
        abort(400, description=str(error))
    return RowQuery(group, search, after, after_recipient)


def _rows(tracked: TrackedMessage, query: RowQuery):  # noqa: ANN202
    return delivery_rows(db.session, tracked.message.id, group=query.group, search=query.search,
                         domain_only_search=tracked.masked, after_recipient=query.after_recipient)


def _urls(list_address: str, message_id: str) -> dict:
    """URL builders for the templates, bound to this message.

    Rows link to their notification by plain concatenation on the panel's own URL: a page
    of 50 rows would otherwise spend more time in `url_for` than in the database.
    """
    ids = {"list_address": list_address, "message_id": message_id}

    def build(endpoint: str, **args: object) -> str:
        return url_for(f"tracking.{endpoint}", **ids, **args)

    notifications = build("panel") + "/notifications/"

    def notification_url(notification_id: int, dialog: bool = False) -> str:
        return f"{notifications}{int(notification_id)}{'/dialog' if dialog else ''}"

    return {"tracking_url": build, "notification_url": notification_url}


def elapsed_phrase(since: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago' style wording for how long ago something happened."""
    if since is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - since).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = seconds // size
            return f"{amount} {unit}{'' if amount == 1 else 's'} ago"
    return "just now"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


@dataclass(frozen=True)
class BarSegment:
    key: str
    label: str
    count: int
    share: str
    detail: str
    x: float
    width: float


def share_text(share: float) -> str:
    """A share as people read it: '12.3 %', and '<0.1 %' rather than a misleading '0.0 %'."""
    if 0 < share < 0.001:
        return "<0.1 %"
    return f"{share * 100:.1f} %"


def bar_segments(summary: TrackingSummary) -> list[BarSegment]:
    """Segments of the summary bar, each at least a few units wide so rare statuses show."""
    present = [g for g in summary.groups if g.count]
    widths = [max(g.share * BAR_WIDTH, BAR_MIN_SEGMENT) for g in present]
    if present:  # give back what the minimums borrowed, from the widest segment
        widest = widths.index(max(widths))
        widths[widest] -= sum(widths) - BAR_WIDTH
    segments, x = [], 0.0
    for group_count, width in zip(present, widths, strict=True):
        detail = ", ".join(f"{word} {count:,}" for word, count in group_count.by_status) \
            if len(group_count.group.statuses) > 1 else ""
        segments.append(BarSegment(group_count.group.key, group_count.label, group_count.count,
                                   share_text(group_count.share), detail,
                                   round(x, 2), round(width, 2)))
        x += width
    return segments


def _message_url(list_address: str, message_id: str) -> str | None:
    """The archived message's page, once the archive offers one."""
    try:
        return url_for("archive.message", list_address=list_address, message_id=message_id)
    except BuildError:
        return None


def _context(tracked: TrackedMessage, list_address: str, message_id: str, **extra: object) -> dict:
    message = tracked.message
    sent_at = message.distributed_at or message.received_at
    summary = extra.get("summary")
    return {
        "mailing_list": tracked.mailing_list,
        "message": message,
        "tracked": tracked,
        "sent_at": sent_at,
        "sent_ago": elapsed_phrase(sent_at),
        "when": _when,
        "status_phrase": status_phrase,
        "describe_status": describe_status,
        "kind_labels": KIND_LABELS,
        "not_sent_statuses": NOT_SENT_STATUSES,
        "purged_at": getattr(message, "tracking_purged_at", None),
        "message_url": _message_url(list_address, message_id),
        "bar": bar_segments(summary) if isinstance(summary, TrackingSummary) else [],
        **_urls(list_address, message_id),
        **extra,
    }


def _panel_context(list_address: str, message_id: str) -> tuple[TrackedMessage, dict]:
    tracked = _tracked_message(list_address, message_id)
    query = _row_query(tracked)
    return tracked, _context(
        tracked, list_address, message_id,
        summary=tracking_summary(db.session, tracked.message),
        query=query,
        page=_rows(tracked, query),
    )


@bp.after_request
def _private(response: Response) -> Response:
    """Tracking data is personal: no shared cache may keep it."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/tracking")
def panel(list_address: str, message_id: str):  # noqa: ANN201
    _, context = _panel_context(list_address, message_id)
    return render_template(PANEL_TEMPLATE, **context)


@bp.route("/tracking/summary")
def summary(list_address: str, message_id: str):  # noqa: ANN201
    """The summary alone, for polling; it drops its own trigger once nothing is pending."""
    tracked = _tracked_message(list_address, message_id)
    context = _context(tracked, list_address, message_id, query=_row_query(tracked),
                       summary=tracking_summary(db.session, tracked.message), polled=True)
    return render_block(PANEL_TEMPLATE, "summary", **context)


@bp.route("/tracking/results")
def results(list_address: str, message_id: str):  # noqa: ANN201
    """Chips, table and first page for a new filter or search; the browser URL follows."""
    _, context = _panel_context(list_address, message_id)
    response = Response(render_block(PANEL_TEMPLATE, "results", **context))
    response.headers["HX-Push-Url"] = url_for(
        "tracking.panel", list_address=list_address, message_id=message_id,
        **context["query"].args())
    return response


@bp.route("/tracking/rows")
def rows(list_address: str, message_id: str):  # noqa: ANN201
    """The next page of rows ("load more"), appended in place of the loader row."""
    tracked = _tracked_message(list_address, message_id)
    query = _row_query(tracked)
    context = _context(tracked, list_address, message_id, query=query, page=_rows(tracked, query))
    return render_block(PANEL_TEMPLATE, "rows", **context)


@bp.route("/tracking/export.csv")
def export(list_address: str, message_id: str):  # noqa: ANN201
    """All matching rows as CSV, streamed in keyset batches, safe to open in a spreadsheet."""
    tracked = _tracked_message(list_address, message_id)
    query = _row_query(tracked)
    session = db.session
    filename = f"tracking-{tracked.mailing_list.name}-{tracked.message.id}.csv"

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["recipient", "reception", "status", "status_code", "status_meaning",
                         "diagnostic", "last_notification_utc"])
        for row in all_delivery_rows(session, tracked.message.id, group=query.group,
                                     search=query.search, domain_only_search=tracked.masked):
            writer.writerow([csv_cell(value) for value in (
                tracked.address(row.recipient), row.reception, row.status, row.status_code,
                status_phrase(row.status_code), tracked.text(row.diagnostic),
                row.last_notification_at.isoformat() if row.last_notification_at else "",
            )])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_DANGEROUS_START) else text


def _notification_context(list_address: str, message_id: str, notification_id: int) -> dict:
    tracked = _tracked_message(list_address, message_id)
    evidence = notification_evidence(db.session, tracked.message.id, notification_id)
    if evidence is None:
        abort(404)
    raw = evidence.report.raw
    source = raw[:RAW_DISPLAY_LIMIT].decode("utf-8", "replace").replace("\r\n", "\n")
    return _context(
        tracked, list_address, message_id,
        evidence=evidence,
        source=tracked.text(source),
        source_cut=len(raw) > RAW_DISPLAY_LIMIT,
        raw_size=len(raw),
        intact=hashlib.sha256(raw).hexdigest() == evidence.report.sha256,
    )


@bp.route("/tracking/notifications/<int:notification_id>")
def notification(list_address: str, message_id: str, notification_id: int):  # noqa: ANN201
    """One notification as a full page (what the 'view' link gives without JavaScript)."""
    context = _notification_context(list_address, message_id, notification_id)
    return render_template(NOTIFICATION_TEMPLATE, **context)


@bp.route("/tracking/notifications/<int:notification_id>/dialog")
def notification_dialog(list_address: str, message_id: str, notification_id: int):  # noqa: ANN201
    """The same notification as the content of the panel's <dialog>."""
    context = _notification_context(list_address, message_id, notification_id)
    return render_block(NOTIFICATION_TEMPLATE, "notification", in_dialog=True, **context)


@bp.route("/tracking/notifications/<int:notification_id>/download")
def download(list_address: str, message_id: str, notification_id: int):  # noqa: ANN201
    """The report's exact bytes as received, with their SHA-256, to prove delivery later."""
    tracked = _tracked_message(list_address, message_id)
    report = report_for_download(db.session, tracked.message.id, notification_id)
    if report is None or not tracked.exact_evidence:
        abort(404)
    raw = report.raw
    digest = hashlib.sha256(raw)
    return Response(raw, mimetype="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="notification-{notification_id}.eml"',
        "X-Content-Type-Options": "nosniff",
        "X-Content-SHA256": digest.hexdigest(),
        "Digest": "sha-256=" + base64.b64encode(digest.digest()).decode(),
    })
