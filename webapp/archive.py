"""The archive: the lists a visitor may open (months, threads and messages come next)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from listtrack.access import visible_lists
from listtrack.models import Message
from webapp.extensions import db

bp = Blueprint("archive", __name__)


@bp.route("/")
def index():
    lists = visible_lists(db.session, current_user)
    counts = dict(
        db.session.execute(
            select(Message.list_id, func.count())
            .where(Message.list_id.in_([mailing_list.id for mailing_list in lists]))
            .group_by(Message.list_id)
        ).all()
    ) if lists else {}
    return render_template("archive/index.html", lists=lists, counts=counts)
