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
