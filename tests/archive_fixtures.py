"""A small archive for the archive-viewer tests: one list, its people, a few real messages."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from listtrack.accounts import create_user
from listtrack.archive import archive_message
from listtrack.lists import add_subscribers, create_list

LIST = "news@lists.example.org"
OWNER = "owner@example.org"
LISTMASTER = "admin@example.org"
SUBSCRIBER = "reader@example.org"
STRANGER = "stranger@example.org"
PASSWORD = "correct horse"
SECRET_SUBJECT = "Quarterly secret plans"
SECRET_BODY = "The launch is on Tuesday"
PDF_BYTES = b"%PDF-1.4\n\x00\x01\x02\xff binary bytes"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake png"


def post(message_id: str | None, subject: str, *, sender: str = "Alice <alice@example.org>",
         date: str = "Tue, 01 Dec 2026 10:00:00 +0000", in_reply_to: str | None = None,
         body: str = "Hello list", extra_headers: str = "") -> bytes:
    """A plain-text post as a mail client writes it."""
    lines = [f"From: {sender}", f"To: {LIST}", f"Subject: {subject}", f"Date: {date}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    head = "\r\n".join(lines) + "\r\n" + extra_headers
    return (head + "\r\n" + body + "\r\n").encode("utf-8")


def rich_post(message_id: str, subject: str, date: str) -> bytes:
    """HTML with a cid: logo, a remote tracker image, a script, a PDF and an SVG attached."""
    html = ('<p onclick="steal()">' + SECRET_BODY + ' <img src="cid:logo@example.org">'
            '<img src="https://tracker.example/pixel.gif"><script>alert(1)</script>'
            '<a href="javascript:alert(2)">click</a> <a href="https://example.org/">site</a></p>')
    parts = [
        'Content-Type: multipart/alternative; boundary="ALT"\r\n\r\n'
        f"--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{SECRET_BODY} (text)\r\n"
        '--ALT\r\nContent-Type: multipart/related; boundary="REL"\r\n\r\n'
        f"--REL\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
        "--REL\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-ID: <logo@example.org>\r\n\r\n" + base64.b64encode(PNG_BYTES).decode()
        + "\r\n--REL--\r\n--ALT--",
        "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="plans 2027.pdf"\r\n\r\n'
        + base64.b64encode(PDF_BYTES).decode(),
        "Content-Type: image/svg+xml\r\nContent-Disposition: attachment; filename=x.svg\r\n\r\n"
        "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    ]
    head = (f"From: Owner <{OWNER}>\r\nTo: {LIST}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="MIX"\r\n\r\n')
    return (head + "".join(f"--MIX\r\n{part}\r\n" for part in parts) + "--MIX--\r\n").encode()


@dataclass(frozen=True)
class ArchiveIds:
    list_id: int
    root: str
    reply: str
    november: str
    pdf_part: int
    png_part: int
    svg_part: int


def build_archive(session, visibility: str = "private", tracked: bool = False) -> ArchiveIds:  # noqa: ANN001
    """The list with an owner, a listmaster, a subscriber and a stranger, and three posts."""
    from listtrack.message_view import render_message

    for address in (OWNER, SUBSCRIBER, STRANGER):
        create_user(session, address, PASSWORD)
    create_user(session, LISTMASTER, PASSWORD, listmaster=True)
    mailing_list = create_list(session, LIST, [OWNER], subject="News",
                               archive_visibility=visibility)
    add_subscribers(session, mailing_list, [SUBSCRIBER])
    root = archive_message(session, mailing_list, rich_post(
        "<root@example.org>", SECRET_SUBJECT, "Tue, 01 Dec 2026 10:00:00 +0000")).message
    root.dsn_requested = tracked
    archive_message(session, mailing_list, post(
        "<reply@example.org>", "Re: " + SECRET_SUBJECT, sender=f"Reader <{SUBSCRIBER}>",
        date="Wed, 02 Dec 2026 08:00:00 +0000", in_reply_to="<root@example.org>"))
    archive_message(session, mailing_list, post(
        "<nov@example.org>", "Earlier news", date="Sun, 15 Nov 2026 12:00:00 +0000"))
    session.commit()
    attachments = {a.content_type: a.number
                   for a in render_message(root.raw, part_url=str).attachments}
    return ArchiveIds(mailing_list.id, "root@example.org", "reply@example.org",
                      "nov@example.org", attachments["application/pdf"],
                      attachments["image/png"], attachments["image/svg+xml"])


def sign_in(client, email: str) -> None:  # noqa: ANN001
    """Sign in through the real form (CSRF token included)."""
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, f"could not sign in as {email}"
