"""The archive as a reader clicks through it: months, threads, dates, a message, its parts,
neighbours, search; htmx fragments are blocks of the same pages."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from listtrack.archive import archive_message
from listtrack.archive_browsing import find_message, neighbours, search_messages
from listtrack.lists import get_list
from tests.archive_fixtures import (
    LIST,
    OWNER,
    PDF_BYTES,
    PNG_BYTES,
    SECRET_BODY,
    SECRET_SUBJECT,
    STRANGER,
    SUBSCRIBER,
    build_archive,
    post,
    sign_in,
)

pytestmark = pytest.mark.all_databases
BASE = f"/lists/{LIST}"


def text_of(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def test_list_page_shows_months_with_counts(session, client):
    build_archive(session, "public")
    page = text_of(client.get(f"{BASE}/"))
    rows = re.findall(r'href="/lists/[^"]+/(\d{4}-\d\d)/">([^<]+)</a></td>\s*'
                      r'<td class="num">(\d+)</td>', page)
    assert rows == [("2026-12", "December 2026", "2"), ("2026-11", "November 2026", "1")]
    assert "3 messages in the archive" in page


def test_month_threads_and_date_views(session, client):
    ids = build_archive(session, "public")
    threads = text_of(client.get(f"{BASE}/2026-12/"))
    assert "2 messages in 1 thread" in threads
    root_at = threads.index(f'/msg/{ids.root}"')
    reply_at = threads.index(f'/msg/{ids.reply}"')
    assert root_at < reply_at
    assert re.search(r'class="depth-1"[^>]*>\s*<a href="[^"]*/msg/reply@example.org"', threads)
    assert 'rel="prev"' in threads and "November 2026" in threads  # older month link

    by_date = text_of(client.get(f"{BASE}/2026-12/?view=date"))
    assert by_date.index(ids.root) < by_date.index(ids.reply)
    assert '<strong aria-current="true">By date</strong>' in by_date


def test_month_pages_and_fragments(session, client):
    build_archive(session, "public")
    mailing_list = get_list(session, LIST)
    start = datetime(2026, 12, 10, tzinfo=UTC)
    for number in range(60):  # 30 threads of two messages
        date = (start + timedelta(minutes=number)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        parent = f"<t{number - 1}@example.org>" if number % 2 else None
        archive_message(session, mailing_list, post(f"<t{number}@example.org>",
                                                    f"Topic {number // 2}", date=date,
                                                    in_reply_to=parent))
    session.commit()

    first = text_of(client.get(f"{BASE}/2026-12/?view=date"))
    assert "page 1 of 2" in first and "62 messages" in first
    second = client.get(f"{BASE}/2026-12/?view=date&page=2",
                        headers={"HX-Request": "true"})
    fragment = text_of(second)
    assert "<html" not in fragment and "<h1>" not in fragment  # only the block
    assert "page 2 of 2" in fragment and "t59@example.org" in fragment
    assert "HX-Request" in second.headers["Vary"]
    # The fragment is the same markup as that part of the full page.
    whole = text_of(client.get(f"{BASE}/2026-12/?view=date&page=2"))
    assert fragment.strip() in whole

    threads = text_of(client.get(f"{BASE}/2026-12/?page=2"))
    assert "62 messages in 31 threads" in threads and "page 2 of 2" in threads
    assert threads.count('class="thread"') == 6
    assert text_of(client.get(f"{BASE}/2026-12/?page=99")).count("page 2 of 2") == 2
    assert client.get(f"{BASE}/2026-12/?page=abc").status_code == 200
    odd = client.get(f"{BASE}/2026-12/?view=date&list_address=x&_external=1&_anchor=a")
    assert odd.status_code == 200
    assert 'href="/lists/news@lists.example.org/2026-12/?view=date&amp;page=2"' in text_of(odd)
    # Links in the fragment work without JavaScript too: the href is the same URL.
    for href, hx_get in re.findall(r'href="([^"]+)" rel="prev" hx-get="([^"]+)"', fragment):
        assert href == hx_get


def test_message_page_shows_headers_sanitized_html_and_attachments(session, client):
    ids = build_archive(session, "public")
    response = client.get(f"{BASE}/msg/{ids.root}")
    page = text_of(response)
    assert f"<h1>{SECRET_SUBJECT}</h1>" in page
    assert "<dt>From</dt><dd class=\"address\">Owner &lt;owner@example.org&gt;</dd>" in page
    assert "<dt>Message-ID</dt>" in page and "&lt;root@example.org&gt;" in page
    html = page[page.index('<div class="message-html"'):]
    html = html[:html.index("</div>")]
    assert SECRET_BODY in html
    for bad in ("<script", "onclick", "javascript:", "tracker.example"):
        assert bad not in html
    assert f'<img src="/lists/{LIST}/msg/{ids.root}/image/{ids.png_part}">' in html
    assert 'href="https://example.org/" target="_blank" rel="noopener noreferrer"' in html
    assert "1 remote image not loaded" in page and "?images=remote" in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "https:" not in policy
    assert "plans 2027.pdf" in page and "x.svg" in page
    assert "Show the plain-text version" in page

    remote = client.get(f"{BASE}/msg/{ids.root}?images=remote")
    assert 'src="https://tracker.example/pixel.gif"' in text_of(remote)
    assert "img-src 'self' data: https:" in remote.headers["Content-Security-Policy"]

    plain = client.get(f"{BASE}/msg/{ids.root}?version=text", headers={"HX-Request": "true"})
    assert f"{SECRET_BODY} (text)" in text_of(plain) and "<h1>" not in text_of(plain)
    assert "Show the HTML version" in text_of(plain)


def test_attachment_inline_image_and_raw_downloads(session, client):
    ids = build_archive(session, "public")
    message = f"{BASE}/msg/{ids.root}"
    pdf = client.get(f"{message}/part/{ids.pdf_part}")
    assert pdf.status_code == 200 and pdf.data == PDF_BYTES
    assert pdf.headers["Content-Type"] == "application/pdf"
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "plans" in disposition
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in pdf.headers["Content-Security-Policy"]

    svg = client.get(f"{message}/part/{ids.svg_part}")
    assert svg.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"{message}/image/{ids.svg_part}").status_code == 404  # never inline

    png = client.get(f"{message}/image/{ids.png_part}")
    assert png.data == PNG_BYTES and png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline")

    raw = client.get(f"{message}/raw")
    stored = find_message(session, ids.list_id, ids.root)
    assert raw.data == stored.raw
    assert raw.headers["Content-Type"] == "message/rfc822"
    assert raw.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"{message}/part/0").status_code == 404
    assert client.get(f"{message}/part/999").status_code == 404


def test_broken_messages_render_without_error(session, client):
    build_archive(session, "public")
    mailing_list = get_list(session, LIST)
    broken = [
        b"From: x@example.org\r\nSubject: =?x-klingon?q?Qapla=E9?=\r\nMessage-ID: <b1@x>\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xe9 \xff\xfe\r\n",
        b"From: x@example.org\r\nMessage-ID: <b2@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="never"\r\n\r\nno parts at all\r\n',
        b"From: x@example.org\r\nMessage-ID: <b3@x>\r\nContent-Type: text/html\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        b"Message-ID: <b4@x>\r\nSubject: \xe9t\xe9 raw 8-bit\r\n\r\n",
        b"Message-ID: <b5@x>\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n"
        b"--A\r\nContent-Type: text/plain; charset=\"\r\n\r\ncut",
    ]
    for raw in broken:
        archive_message(session, mailing_list, raw)
    session.commit()
    for number in range(1, 6):
        response = client.get(f"{BASE}/msg/b{number}@x")
        assert response.status_code == 200, number
    assert "été raw 8-bit" in text_of(client.get(f"{BASE}/msg/b4@x"))
    assert "x-klingon" in text_of(client.get(f"{BASE}/msg/b1@x"))


def test_permalinks_with_unusual_message_ids(session, client):
    build_archive(session, "public")
    mailing_list = get_list(session, LIST)
    odd = "<a/b%c?d#e+f&g@example.org>"
    archive_message(session, mailing_list, post(odd, "Odd identifier"))
    session.commit()
    month = text_of(client.get(f"{BASE}/2026-12/?view=date"))
    link = html.unescape(re.search(r'href="([^"]*)">Odd identifier<', month).group(1))
    assert link == f"{BASE}/msg/" + quote(odd[1:-1], safe="/@+&")
    page = client.get(link)
    assert page.status_code == 200 and "Odd identifier" in text_of(page)
    assert client.get(link + "/raw").status_code == 200


def test_previous_and_next_by_date_and_in_thread(session, client):
    ids = build_archive(session, "public")
    mailing_list = get_list(session, LIST)
    archive_message(session, mailing_list, post(
        "<between@example.org>", "Unrelated", date="Tue, 01 Dec 2026 12:00:00 +0000"))
    archive_message(session, mailing_list, post(
        "<same-time@example.org>", "Same minute as the root",
        date="Tue, 01 Dec 2026 10:00:00 +0000"))
    archive_message(session, mailing_list, post(
        "<jan@example.org>", "Re: again", date="Fri, 01 Jan 2027 09:00:00 +0000",
        in_reply_to=f"<{ids.reply}>"))
    session.commit()

    def around(bare_id):  # noqa: ANN001, ANN202
        found = neighbours(session, find_message(session, ids.list_id, bare_id))
        return tuple(row.message_id if row else None for row in (
            found.previous_by_date, found.next_by_date,
            found.previous_in_thread, found.next_in_thread))

    assert around(ids.november) == (None, "<root@example.org>", None, None)
    assert around(ids.root) == ("<nov@example.org>", "<same-time@example.org>",
                                None, "<reply@example.org>")
    assert around("same-time@example.org") == ("<root@example.org>", "<between@example.org>",
                                               None, None)
    assert around(ids.reply) == ("<between@example.org>", "<jan@example.org>",
                                 "<root@example.org>", "<jan@example.org>")
    assert around("jan@example.org") == ("<reply@example.org>", None,
                                         "<reply@example.org>", None)

    page = text_of(client.get(f"{BASE}/msg/{ids.reply}"))
    assert re.search(r'rel="prev" href="[^"]*/msg/between@example.org"', page)
    assert re.search(r'rel="next" href="[^"]*/msg/jan@example.org"', page)
    outline = page[page.index("In this thread"):]
    assert outline.index("root@example.org") < outline.index('aria-current="page"') \
        < outline.index("jan@example.org")


def test_search_subject_sender_body_with_wildcards_taken_literally(session, client):
    build_archive(session, "public")
    mailing_list = get_list(session, LIST)
    for number, (subject, body) in enumerate([
        ("100% done", "all finished"), ("100 percent", "nearly"), ("a_b naming", "snake"),
        ("axb naming", "other"), ("Budget", "Budget line: 5% more_than before"),
    ]):
        archive_message(session, mailing_list, post(f"<s{number}@example.org>", subject,
                                                    body=body, sender=f"Bob <bob{number}@ex.org>"))
    session.commit()

    def subjects(query, where="all"):  # noqa: ANN001, ANN202
        page = search_messages(session, ids_list(session), query, where)
        return sorted(row.subject for row in page.items)

    assert subjects("100%") == ["100% done"]
    assert subjects("a_b") == ["a_b naming"]
    assert subjects("5% more_than", "body") == ["Budget"]
    assert subjects("%") == ["100% done", "Budget"]
    assert subjects("_") == ["Budget", "a_b naming"]
    assert subjects("NAMING") == ["a_b naming", "axb naming"]  # any case
    assert subjects("bob3", "sender") == ["axb naming"]
    assert subjects("finished", "subject") == []
    assert subjects("finished", "body") == ["100% done"]
    assert subjects("launch tuesday") == [SECRET_SUBJECT]  # body of the HTML message
    assert subjects("launch nothing") == []

    page = text_of(client.get(f"{BASE}/search?q=100%25"))
    assert "Messages matching <q>100%</q>" in page
    assert "100% done" in page and "100 percent" not in page and 'rel="next"' not in page
    fragment = text_of(client.get(f"{BASE}/search?q=naming&in=subject",
                                  headers={"HX-Request": "true"}))
    assert "<html" not in fragment and fragment.count("naming</a>") == 2
    assert client.get(f"{BASE}/search?q=x&in=bogus&page=-1").status_code == 200


def ids_list(session) -> int:  # noqa: ANN001
    return get_list(session, LIST).id


def test_search_is_paged(session, client):
    build_archive(session, "public")
    mailing_list = get_list(session, LIST)
    for number in range(55):
        archive_message(session, mailing_list, post(f"<p{number}@example.org>",
                                                    f"Weekly report {number}"))
    session.commit()
    first = text_of(client.get(f"{BASE}/search?q=weekly"))
    assert ": 1 to 50." in first and "page 1<" in first and 'rel="next"' in first
    assert first.index("Weekly report 54") < first.index("Weekly report 10<")  # newest first
    second = text_of(client.get(f"{BASE}/search?q=weekly&page=2"))
    assert ": 51 to 55." in second and second.count("Weekly report") == 5
    assert 'rel="next"' not in second and 'rel="prev"' in second
    beyond = text_of(client.get(f"{BASE}/search?q=weekly&page=3"))
    assert "No more message matches" in beyond


@pytest.mark.parametrize("who, sees_link", [
    (OWNER, True), (SUBSCRIBER, True), (STRANGER, False), (None, False),
])
def test_tracking_link_only_for_those_allowed_and_tracked_messages(session, client, who,
                                                                   sees_link):
    """Subscribers see it here because the reply's sender is the subscriber themself."""
    ids = build_archive(session, "public", tracked=True)
    reply = find_message(session, ids.list_id, ids.reply)
    reply.dsn_requested = True
    session.commit()
    if who:
        sign_in(client, who)
    page = text_of(client.get(f"{BASE}/msg/{ids.reply}"))
    link = f'href="/lists/{LIST}/msg/{ids.reply}/tracking"'
    assert (link in page) == sees_link
    if sees_link:
        assert client.get(f"/lists/{LIST}/msg/{ids.reply}/tracking").status_code == 200
    untracked = text_of(client.get(f"{BASE}/msg/{ids.november}"))
    assert 'class="tracking-link"' not in untracked
    root_page = text_of(client.get(f"{BASE}/msg/{ids.root}"))
    assert ('class="tracking-link"' in root_page) == (who == OWNER)
