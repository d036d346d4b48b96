"""Archiving keeps the bytes exactly, reads headers once, links threads in any arrival order."""

from __future__ import annotations

import pytest

from listtrack.archive import archive_message
from listtrack.lists import create_list

pytestmark = pytest.mark.all_databases


def mail(message_id, subject="Hello", in_reply_to=None,  # noqa: ANN001, ANN201
         date="Tue, 01 Dec 2026 10:00:00 +0100"):
    lines = ["From: Alice Example <Alice@Example.org>", f"Subject: {subject}", f"Date: {date}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(lines) + "\r\n\r\nBody \xe9\r\n").encode("latin-1")


def test_archive_keeps_bytes_and_links_threads(session):
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    raw = mail("<root@example.org>", "=?utf-8?q?Caf=C3=A9?=")
    root = archive_message(session, mailing_list, raw).message
    assert root.raw == raw and root.subject == "Café"
    assert root.sender == "alice@example.org" and root.sender_name == "Alice Example"
    assert root.year_month == "2026-12" and root.date.hour == 9
    assert root.thread_id == root.id and root.parent_id is None

    # A grandchild arrives before its parent (import order), then the parent.
    grandchild = archive_message(session, mailing_list,
                                 mail("<c@example.org>", in_reply_to="<b@example.org>")).message
    child = archive_message(session, mailing_list,
                            mail("<b@example.org>", in_reply_to="<root@example.org>")).message
    session.commit()
    session.expire_all()
    assert child.parent_id == root.id and child.thread_id == root.id
    assert grandchild.parent_id == child.id and grandchild.thread_id == root.id

    again = archive_message(session, mailing_list, raw)
    assert not again.created and again.message.id == root.id


def test_missing_message_id_and_date_get_defaults(session):
    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    message = archive_message(session, mailing_list, mail(None, date="not a date")).message
    assert message.message_id.startswith("<listtrack.")
    assert message.message_id.endswith("@lists.example.org>")
    assert message.date is not None


def test_thread_starts_follow_months_and_late_parents(session):
    """Month pages list threads from `thread_start`: one per thread per month, kept right
    when a reply arrives before its parent (imports) and when a thread spans months."""
    from sqlalchemy import select

    from listtrack.archive_browsing import month_threads
    from listtrack.models import Message

    mailing_list = create_list(session, "news@lists.example.org", ["owner@example.org"])
    december = "Tue, 01 Dec 2026 10:00:00 +0100"
    archive_message(session, mailing_list, mail("<late-reply@x>", "Re: A",
                                                in_reply_to="<a@x>",
                                                date="Fri, 04 Dec 2026 10:00:00 +0000"))
    archive_message(session, mailing_list, mail("<jan@x>", "Re: A", in_reply_to="<late-reply@x>",
                                                date="Sat, 02 Jan 2027 10:00:00 +0000"))
    archive_message(session, mailing_list, mail("<b@x>", "B", date=december))
    assert len(month_threads(session, mailing_list.id, "2026-12").items) == 2  # orphan + B
    archive_message(session, mailing_list, mail("<a@x>", "A",
                                                date="Mon, 30 Nov 2026 10:00:00 +0000"))
    session.commit()
    starts = dict(session.execute(
        select(Message.message_id, Message.thread_start).order_by(Message.date)).all())
    assert starts == {"<a@x>": True, "<b@x>": True, "<late-reply@x>": True, "<jan@x>": True}
    december_page = month_threads(session, mailing_list.id, "2026-12")
    assert december_page.total == 2
    assert [[e.message.message_id for e in group.entries] for group in december_page.items] \
        == [["<b@x>"], ["<late-reply@x>"]]
    assert [e.message.message_id for e in month_threads(
        session, mailing_list.id, "2026-11").items[0].entries] == ["<a@x>"]

    archive_message(session, mailing_list, mail("<early@x>", "Re: A", in_reply_to="<a@x>",
                                                date="Tue, 01 Dec 2026 08:00:00 +0000"))
    session.commit()
    starts = dict(session.execute(select(Message.message_id, Message.thread_start)).all())
    assert starts["<early@x>"] and not starts["<late-reply@x>"]
    groups = month_threads(session, mailing_list.id, "2026-12").items
    assert [[(e.message.message_id, e.depth) for e in group.entries] for group in groups] == \
        [[("<early@x>", 0), ("<late-reply@x>", 0)], [("<b@x>", 0)]]
