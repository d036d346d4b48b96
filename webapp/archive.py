"""The archive: lists → months → a month by thread or by date → one message, and search.

Views stay thin: who may see a list is `listtrack.access`, the queries are
`listtrack.archive_browsing`, what a message shows is `listtrack.message_view`.
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import NoReturn

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from listtrack.access import can_view_archive, can_view_tracking, list_roles, visible_lists
from listtrack.archive_browsing import (
    SEARCH_FIELDS,
    adjacent_months,
    bare_message_id,
    find_message,
    month_by_date,
    month_counts,
    month_threads,
    month_total,
    neighbours,
    search_messages,
    thread_outline,
)
from listtrack.lists import find_list
from listtrack.message_view import message_part, render_message
from listtrack.models import MailingList, Message
from webapp.extensions import db
from webapp.fragments import is_fragment_request, render_page_or_block

bp = Blueprint("archive", __name__)

YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_QUERY_LENGTH = 200
# The message page shows foreign HTML: even sanitized, it gets no scripts, frames or plugins.
MESSAGE_PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                       "img-src 'self' data:{remote}; object-src 'none'; frame-src 'none'; "
                       "base-uri 'none'; form-action 'self'")
DOWNLOAD_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


@bp.app_template_filter("month_label")
def month_label(year_month: str) -> str:
    """`2026-12` → `December 2026`."""
    year, _, number = year_month.partition("-")
    return f"{MONTH_NAMES[int(number) - 1]} {year}" if number.isdigit() else year_month


@bp.app_template_filter("byte_size")
def byte_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


bp.add_app_template_filter(bare_message_id, "bare_message_id")


KEPT_QUERY_ARGUMENTS = ("view", "q", "in")


def _page_url(number: int) -> str:
    """This page's URL (its view and search kept, nothing else) at another page number."""
    arguments = {key: request.args[key] for key in KEPT_QUERY_ARGUMENTS if key in request.args}
    if number > 1:
        arguments["page"] = str(number)
    return url_for(request.endpoint, **arguments, **request.view_args)


@bp.route("/")
def index():  # noqa: ANN201
    lists = visible_lists(db.session, current_user)
    counts = dict(
        db.session.execute(
            select(Message.list_id, func.count())
            .where(Message.list_id.in_([mailing_list.id for mailing_list in lists]))
            .group_by(Message.list_id)
        ).all()
    ) if lists else {}
    return render_template("archive/index.html", lists=lists, counts=counts)


def _deny() -> NoReturn:
    """Signed out: the sign-in page; signed in without access: 403. Never any content."""
    if not current_user.is_authenticated:
        response = current_app.login_manager.unauthorized()
        if is_fragment_request():  # htmx would swap the sign-in page into a fragment
            response = make_response("", 200)
            response.headers["HX-Redirect"] = url_for("auth.login", next=request.full_path)
        abort(response)
    abort(make_response(render_template("archive/forbidden.html"), 403))


def _open_archive(list_address: str) -> tuple[MailingList, frozenset[str]]:
    """The list named in the URL and the visitor's roles, if they may read its archive."""
    mailing_list = find_list(db.session, list_address)
    if mailing_list is None:
        if not current_user.is_authenticated:
            _deny()  # the sign-in page, whether or not such a private list exists
        abort(404)
    roles = list_roles(db.session, current_user, mailing_list)
    if not can_view_archive(roles, mailing_list):
        _deny()
    return mailing_list, roles


def _open_message(list_address: str, message_id: str) -> tuple[MailingList, frozenset[str],
                                                                Message]:
    mailing_list, roles = _open_archive(list_address)
    message = find_message(db.session, mailing_list.id, message_id)
    if message is None:
        abort(404)
    return mailing_list, roles, message


def _page_number() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < len(value) < 7 else 1


@bp.route("/lists/<list_address>/")
def list_page(list_address: str):  # noqa: ANN201
    mailing_list, roles = _open_archive(list_address)
    months = month_counts(db.session, mailing_list.id)
    years: dict[str, list] = {}
    for month in months:
        years.setdefault(month.year_month[:4], []).append(month)
    return render_template("archive/list.html", mailing_list=mailing_list, years=years,
                           total=sum(month.count for month in months),
                           search_fields=SEARCH_FIELDS, query="", where="all")


@bp.route("/lists/<list_address>/<year_month>/")
def month(list_address: str, year_month: str):  # noqa: ANN201
    mailing_list, _ = _open_archive(list_address)
    if not YEAR_MONTH.fullmatch(year_month):
        abort(404)
    view = "date" if request.args.get("view") == "date" else "threads"
    page_number = _page_number()
    if view == "date":
        page = month_by_date(db.session, mailing_list.id, year_month, page_number)
        messages_total = page.total
    else:
        page = month_threads(db.session, mailing_list.id, year_month, page_number)
        messages_total = month_total(db.session, mailing_list.id, year_month)
    if messages_total == 0:
        abort(404)
    if is_fragment_request():
        older_month = newer_month = None  # outside the fragment
    else:
        older_month, newer_month = adjacent_months(db.session, mailing_list.id, year_month)
    return render_page_or_block(
        "archive/month.html", "messages", mailing_list=mailing_list, year_month=year_month,
        view=view, page=page, messages_total=messages_total, page_url=_page_url,
        newer_month=newer_month, older_month=older_month,
    )


@bp.route("/lists/<list_address>/search")
def search(list_address: str):  # noqa: ANN201
    mailing_list, _ = _open_archive(list_address)
    query = " ".join(request.args.get("q", "").split())[:MAX_QUERY_LENGTH]
    where = request.args.get("in", "all")
    if where not in SEARCH_FIELDS:
        where = "all"
    page = search_messages(db.session, mailing_list.id, query, where, _page_number()) \
        if query else None
    return render_page_or_block("archive/search.html", "results", mailing_list=mailing_list,
                                query=query, where=where, page=page, page_url=_page_url,
                                search_fields=SEARCH_FIELDS)


@bp.route("/lists/<list_address>/msg/<path:message_id>")
def message(list_address: str, message_id: str):  # noqa: ANN201
    mailing_list, roles, found = _open_message(list_address, message_id)
    bare_id = bare_message_id(found.message_id)
    prefer_html = request.args.get("version") != "text"
    remote_images = request.args.get("images") == "remote"

    def part_url(number: int) -> str:
        return url_for("archive.inline_image", list_address=mailing_list.address,
                       message_id=bare_id, number=number)

    rendered = render_message(found.raw, part_url=part_url, prefer_html=prefer_html,
                              remote_images=remote_images)
    outline, outline_cut = thread_outline(db.session, found)
    tracking_url = None
    if found.tracked and "tracking.panel" in current_app.view_functions and can_view_tracking(
            roles, current_user, mailing_list, found, current_app.config["SITE"]):
        tracking_url = url_for("tracking.panel", list_address=mailing_list.address,
                               message_id=bare_id)
    response = render_page_or_block(
        "archive/message.html", "message_body", mailing_list=mailing_list, message=found,
        bare_id=bare_id, rendered=rendered, around=neighbours(db.session, found),
        outline=outline, outline_cut=outline_cut, tracking_url=tracking_url,
        prefer_html=prefer_html, remote_images=remote_images,
    )
    remote = " https: http:" if remote_images else ""
    response.headers["Content-Security-Policy"] = MESSAGE_PAGE_POLICY.format(remote=remote)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _download(data: bytes, mimetype: str, filename: str, as_attachment: bool = True) -> Response:
    response = send_file(BytesIO(data), mimetype=mimetype, as_attachment=as_attachment,
                         download_name=filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response


@bp.route("/lists/<list_address>/msg/<path:message_id>/raw")
def raw_source(list_address: str, message_id: str):  # noqa: ANN201
    _, _, found = _open_message(list_address, message_id)
    return _download(found.raw, "message/rfc822", "message.eml")


@bp.route("/lists/<list_address>/msg/<path:message_id>/part/<int:number>")
def attachment(list_address: str, message_id: str, number: int):  # noqa: ANN201
    _, _, found = _open_message(list_address, message_id)
    part = message_part(found.raw, number)
    if part is None:
        abort(404)
    mimetype = part.content_type
    if part.charset and mimetype.startswith("text/"):
        mimetype += f"; charset={part.charset}"
    return _download(part.data, mimetype, part.filename)


@bp.route("/lists/<list_address>/msg/<path:message_id>/image/<int:number>")
def inline_image(list_address: str, message_id: str, number: int):  # noqa: ANN201
    """A picture the HTML body shows by cid:; only raster types, never SVG or HTML."""
    _, _, found = _open_message(list_address, message_id)
    part = message_part(found.raw, number)
    if part is None or not part.inline_image:
        abort(404)
    return _download(part.data, part.content_type, part.filename, as_attachment=False)
