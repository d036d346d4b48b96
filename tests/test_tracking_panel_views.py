"""What an owner sees: summary bar, polling, chips, search, pages, dialog, download, CSV."""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import re

import pytest

from listtrack.models import Delivery
from tests.tracking_panel_fixtures import OWNER, add_notification, make_tracked_message
from webapp.extensions import db

ROW_ADDRESS = re.compile(r'<td class="address">([^<]*)</td>')


def addresses(response) -> list[str]:  # noqa: ANN001
    return [html.unescape(a) for a in ROW_ADDRESS.findall(response.get_data(as_text=True))]


def attribute(text: str, element_id: str, name: str) -> str | None:
    """An attribute of the element with that id (enough for our own templates)."""
    found = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', text, re.S)
    assert found, element_id
    value = re.search(rf'\s{name}="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else None


@pytest.fixture
def owner_panel(app, client, make_user, sign_in):  # noqa: ANN001, ANN201
    """Build a tracked message, sign in as its list owner, return it."""

    def build(recipients, **options):  # noqa: ANN001, ANN202
        with app.app_context():
            tracked = make_tracked_message(db.session, recipients, **options)
            db.session.commit()
        make_user(OWNER)
        assert sign_in(OWNER).status_code == 302
        return tracked

    return build


MIXED = {
    "alice@example.net": "delivered", "bob@example.net": "failed",
    "carol@example.net": "waiting", "dave@example.net": "digest",
    "erin@example.net": "displayed", "frank@example.org": "failed",
    "grace@example.org": "delayed", "heidi@example.org": "expanded",
}


def test_summary_shows_counts_shares_bar_and_age(client, owner_panel):
    tracked = owner_panel(MIXED)
    page = client.get(tracked.url()).get_data(as_text=True)
    assert "8 recipients" in page and "sent <time" in page and " ago</time>" in page
    assert 'class="seg seg-failed"' in page and "<title>Failed: 2 (25.0 %)</title>" in page
    assert 'role="img"' in page and 'aria-labelledby="tracking-bar-text"' in page
    bar_text = re.search(r'id="tracking-bar-text"[^>]*>([^<]*)<', page).group(1)
    assert "Failed: 2 (25.0 %)" in bar_text
    assert "Not sent (reception option): 1 (12.5 %)" in bar_text
    legend = page[page.index('class="tracking-legend"'):]
    assert re.search(r'Delivered</th>\s*<td class="num">1</td>\s*<td class="num">12.5 %', legend)
    segment = r'<rect class="seg [^"]*" x="[^"]*" y="0" width="([^"]*)"'
    widths = [float(w) for w in re.findall(segment, page)]
    assert len(widths) == 7 and abs(sum(widths) - 1000) < 0.1


def test_a_single_failure_among_many_is_still_visible(client, owner_panel):
    recipients = {f"r{n:04d}@example.net": "delivered" for n in range(1999)}
    recipients["zz@example.net"] = "failed"
    tracked = owner_panel(recipients)
    page = client.get(tracked.url()).get_data(as_text=True)
    failed = re.search(r'<rect class="seg seg-failed" x="[^"]*" y="0" width="([^"]*)"', page)
    assert float(failed.group(1)) >= 4
    assert "<title>Failed: 1 (&lt;0.1 %)</title>" in page or "Failed: 1 (0.1 %)" in page
    assert "2,000 recipients" in page


def test_polling_runs_only_while_copies_are_pending(app, client, owner_panel):
    tracked = owner_panel({"a@example.net": "delivered", "b@example.net": "waiting"})
    page = client.get(tracked.url()).get_data(as_text=True)
    assert attribute(page, "tracking-summary", "hx-trigger") == "every 10s"
    assert attribute(page, "tracking-summary", "hx-get") == tracked.url("/summary")
    fragment = client.get(tracked.url("/summary")).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="tracking-summary"')
    assert attribute(fragment, "tracking-summary", "hx-trigger") == "every 10s"
    assert "<html" not in fragment
    # The chips follow the polled summary: the whole bar is redrawn out of band.
    assert '<nav id="tracking-chips" class="chips" aria-label="Filter by status" ' \
        'hx-swap-oob="true">' in fragment
    assert re.search(r'Waiting <span class="count">1<', fragment)

    with app.app_context():
        add_notification(db.session, tracked, "b@example.net", "delivered")
        db.session.commit()
    fragment = client.get(tracked.url("/summary")).get_data(as_text=True)
    assert attribute(fragment, "tracking-summary", "hx-trigger") is None
    assert attribute(fragment, "tracking-summary", "hx-get") is None
    assert re.search(r'Delivered <span class="count">2<', fragment)
    assert "Waiting <span" not in fragment  # an emptied status loses its chip
    filtered = client.get(tracked.url("/summary") + "?status=delivered").get_data(as_text=True)
    assert 'class="chip seg-delivered active"' in filtered  # the current filter stays chosen
    page = client.get(tracked.url()).get_data(as_text=True)
    assert 'hx-trigger="every 10s"' not in page


def test_dsn_not_available_is_named_and_not_polled(client, owner_panel):
    tracked = owner_panel({"a@example.net": "waiting", "b@example.net": "displayed"},
                          dsn_unavailable=True)
    page = client.get(tracked.url()).get_data(as_text=True)
    assert "DSN not available" in page
    assert 'hx-trigger="every 10s"' not in page


def test_chips_filter_rows_and_the_url_keeps_the_filter(client, owner_panel):
    tracked = owner_panel(MIXED)
    page = client.get(tracked.url()).get_data(as_text=True)
    assert addresses_from(page) == sorted(MIXED)
    chip = re.search(r'<a class="chip seg-failed"[^>]*>', page, re.S).group(0)
    assert f'href="{tracked.url("?status=failed")}"' in chip
    assert f'hx-get="{tracked.url("/results?status=failed")}"' in chip
    assert 'hx-target="#tracking-results"' in chip

    fragment = client.get(tracked.url("/results?status=failed"))
    assert fragment.headers["HX-Push-Url"] == tracked.url("?status=failed")
    assert addresses(fragment) == ["bob@example.net", "frank@example.org"]
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="tracking-results"' in text
    assert 'name="status" value="failed" form="tracking-search"' in text
    assert re.search(r'class="chip seg-failed active" aria-current="true"', text)
    # A reload of the pushed URL shows the same rows, as a whole page (no JavaScript needed).
    assert addresses(client.get(tracked.url("?status=failed"))) == \
        ["bob@example.net", "frank@example.org"]
    assert addresses(client.get(tracked.url("?status=relayed"))) == ["heidi@example.org"]
    assert addresses(client.get(tracked.url("?status=not_sent"))) == ["dave@example.net"]


def addresses_from(text: str) -> list[str]:
    return [html.unescape(a) for a in ROW_ADDRESS.findall(text)]


def test_search_combines_with_the_filter_and_stays_in_the_url(client, owner_panel):
    tracked = owner_panel(MIXED)
    fragment = client.get(tracked.url("/results?status=failed&q=.ORG"))
    assert addresses(fragment) == ["frank@example.org"]
    assert fragment.headers["HX-Push-Url"] == tracked.url("?status=failed&q=.org")
    page = client.get(tracked.url("?status=failed&q=.org")).get_data(as_text=True)
    assert addresses_from(page) == ["frank@example.org"]
    assert 'name="q" value=".org"' in page
    # Chips keep the search; the export link keeps both.
    assert f'href="{html.escape(tracked.url("?status=delivered&q=.org"))}"' in page
    assert f'href="{html.escape(tracked.url("/export.csv?status=failed&q=.org"))}"' in page
    empty = client.get(tracked.url("?q=nobody-here")).get_data(as_text=True)
    assert "No recipient matches" in empty and addresses_from(empty) == []


def test_load_more_pages_by_keyset_with_a_plain_next_link(client, owner_panel):
    recipients = {f"user{n:03d}@example.net": ("failed" if n % 3 else "delivered")
                  for n in range(130)}
    tracked = owner_panel(recipients)
    first = client.get(tracked.url()).get_data(as_text=True)
    shown = addresses_from(first)
    assert shown == sorted(recipients)[:50]
    more = re.search(r'<tr class="more" hx-get="([^"]*)"\s*hx-trigger="revealed" '
                     r'hx-swap="outerHTML">\s*<td colspan="5"><a href="([^"]*)">Next page</a>',
                     first)
    assert more, "no load-more row"
    fragment_url, page_url = html.unescape(more.group(1)), html.unescape(more.group(2))
    assert fragment_url.startswith(tracked.url("/rows?after="))
    assert page_url.startswith(tracked.url("?after="))
    while more:
        fragment = client.get(fragment_url).get_data(as_text=True)
        assert "<html" not in fragment and "<tbody" not in fragment
        # The plain link shows the same rows as a full page.
        assert addresses_from(client.get(page_url).get_data(as_text=True)) == \
            addresses_from(fragment)
        shown += addresses_from(fragment)
        more = re.search(r'<tr class="more" hx-get="([^"]*)"[^>]*>\s*<td colspan="5">'
                         r'<a href="([^"]*)">', fragment)
        if more:
            fragment_url, page_url = html.unescape(more.group(1)), html.unescape(more.group(2))
    assert shown == sorted(recipients)
    # Paging inside a filter keeps the filter.
    failed = sorted(a for a, s in recipients.items() if s == "failed")
    page = client.get(tracked.url("?status=failed")).get_data(as_text=True)
    assert addresses_from(page) == failed[:50]
    next_url = html.unescape(re.search(r'<tr class="more" hx-get="([^"]*)"', page).group(1))
    assert "status=failed" in next_url
    assert addresses_from(client.get(next_url).get_data(as_text=True)) == failed[50:]


@pytest.mark.parametrize("query", ["status=bogus", "after=abc", "after=99999999",
                                   "q=" + "x" * 400])
def test_bad_parameters_get_a_one_line_400(client, owner_panel, query):
    tracked = owner_panel(MIXED)
    for tail in ("", "/results", "/rows", "/export.csv"):
        response = client.get(tracked.url(f"{tail}?{query}"))
        assert response.status_code == 400, (tail, query)
        text = response.get_data(as_text=True)
        assert "Traceback" not in text
        assert re.search(r"unknown status filter|row number|no longer exists|longer than", text)


def test_rows_show_reception_status_code_phrase_date_and_view_link(client, owner_panel):
    tracked = owner_panel(MIXED)
    page = client.get(tracked.url("?status=failed")).get_data(as_text=True)
    row = page[page.index('<td class="address">bob@example.net</td>'):]
    row = row[:row.index("</tr>")]
    assert "<td>mail</td>" in row
    assert '<span class="status status-failed">failed</span> <code>5.1.1</code>' in row
    assert "Permanent failure: bad destination mailbox address" in row
    assert re.search(r'<time datetime="2026-12-01T09:\d\d:\d\d\+00:00">2026-12-01 09:', row)
    notification_id = tracked.notifications["bob@example.net"][0]
    assert f'href="{tracked.url(f"/notifications/{notification_id}")}"' in row
    assert f'hx-get="{tracked.url(f"/notifications/{notification_id}/dialog")}"' in row
    assert 'hx-target="#notification-dialog"' in row
    digest = client.get(tracked.url("?status=not_sent")).get_data(as_text=True)
    assert "not sent (digest)" in digest
    assert '<dialog id="notification-dialog"' in client.get(tracked.url()).get_data(as_text=True)


def test_notification_dialog_and_page_show_fields_history_and_escaped_source(
        app, client, owner_panel):
    tracked = owner_panel({"bob@example.net": "waiting"})
    hostile = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: <script>alert(1)</script>\r\n\r\n"
               b"Action: failed\r\nStatus: 5.2.2\r\n")
    with app.app_context():
        first = add_notification(db.session, tracked, "bob@example.net", "delayed", minutes=1)
        last = add_notification(db.session, tracked, "bob@example.net", "failed", minutes=30,
                                raw=hostile)
        db.session.commit()
    dialog = client.get(tracked.url(f"/notifications/{last}/dialog")).get_data(as_text=True)
    assert "<html" not in dialog and '<form method="dialog">' in dialog
    assert "Delivery status notification (DSN)" in dialog
    for text in ("<dt>Action</dt>", "<code>5.1.1</code>", "bad destination mailbox address",
                 "<dt>Diagnostic</dt>", "<dt>Reporting MTA</dt><dd>mx.example.net</dd>",
                 "<dt>Remote MTA</dt><dd>in.example.net</dd>", "<dt>Arrival date</dt>",
                 "<dt>Received</dt>", "<dt>Final recipient</dt>", "<dt>Original recipient</dt>"):
        assert text in dialog, text
    history = dialog[dialog.index('<ol class="history">'):dialog.index("</ol>")]
    assert history.index("delayed") < history.index("failed")
    assert 'class="current" aria-current="true"' in history
    assert f'hx-get="{tracked.url(f"/notifications/{first}/dialog")}"' in history
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dialog and "<script>" not in dialog
    sha = hashlib.sha256(hostile).hexdigest()
    assert f'<code class="sha256">{sha}</code>' in dialog
    assert f'href="{tracked.url(f"/notifications/{last}/download")}"' in dialog

    page = client.get(tracked.url(f"/notifications/{last}")).get_data(as_text=True)
    assert "<html" in page and sha in page and "&lt;script&gt;" in page
    assert f'href="{tracked.url()}"' in page  # back to the panel
    assert f'href="{tracked.url(f"/notifications/{first}")}"' in page


def test_download_gives_the_exact_bytes_and_their_sha256(app, client, owner_panel):
    tracked = owner_panel({"bob@example.net": "waiting"})
    raw = (b"From MAILER-DAEMON  Tue Dec  1 09:00:00 2026\nX-Odd: \xff\xfe latin \xe9\r\n"
           b"Subject: report\r\n\r\nbody with trailing spaces   \r\n\r\n")
    with app.app_context():
        notification_id = add_notification(db.session, tracked, "bob@example.net", "failed",
                                           raw=raw)
        db.session.commit()
    response = client.get(tracked.url(f"/notifications/{notification_id}/download"))
    assert response.status_code == 200
    assert response.data == raw
    assert response.mimetype == "message/rfc822"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="notification-{notification_id}.eml"'
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(raw).hexdigest()
    assert response.headers["Digest"] == \
        "sha-256=" + base64.b64encode(hashlib.sha256(raw).digest()).decode()
    assert "no-store" in response.headers["Cache-Control"]
    page = client.get(tracked.url(f"/notifications/{notification_id}")).get_data(as_text=True)
    assert hashlib.sha256(raw).hexdigest() in page
    assert "no longer match" not in page


def test_csv_export_applies_the_filter_and_defuses_formulas(app, client, owner_panel):
    tracked = owner_panel(MIXED)
    with app.app_context():
        for address, status, diagnostic in (
                ("=HYPERLINK(\"http://evil\")@example.net", "failed", "-2+3 bad"),
                ("+sum@example.net", "failed", "@cmd"),
                ("@at@example.net", "delivered", None)):
            db.session.add(Delivery(message_id=tracked.message_key, recipient=address,
                                    status=status, status_code="5.1.1", diagnostic=diagnostic))
        db.session.commit()
    response = client.get(tracked.url("/export.csv?status=failed"))
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment;" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["recipient", "reception", "status", "status_code", "status_meaning",
                       "diagnostic", "last_notification_utc"]
    by_recipient = {row[0]: row for row in rows[1:]}
    assert set(by_recipient) == {"bob@example.net", "frank@example.org",
                                 "'=HYPERLINK(\"http://evil\")@example.net", "'+sum@example.net"}
    assert all(row[2] == "failed" for row in rows[1:])
    assert by_recipient["'+sum@example.net"][5] == "'@cmd"
    assert by_recipient["'=HYPERLINK(\"http://evil\")@example.net"][5] == "'-2+3 bad"
    bob = by_recipient["bob@example.net"]
    assert bob[3:5] == ["5.1.1", "Permanent failure: bad destination mailbox address"]
    assert bob[6].startswith("2026-12-01T09:")
    searched = client.get(tracked.url("/export.csv?q=example.org")).get_data(as_text=True)
    assert [row[0] for row in csv.reader(io.StringIO(searched))][1:] == \
        ["frank@example.org", "grace@example.org", "heidi@example.org"]


def test_a_read_receipt_shows_its_disposition(client, owner_panel):
    tracked = owner_panel({"erin@example.net": "displayed"})
    notification_id = tracked.notifications["erin@example.net"][0]
    dialog = client.get(tracked.url(f"/notifications/{notification_id}/dialog")).get_data(
        as_text=True)
    assert "Read receipt (MDN)" in dialog
    assert "<dt>Disposition</dt>" in dialog
    assert '<span class="status status-displayed">displayed</span>' in dialog
    assert "(manual-action/MDN-sent-manually)" in dialog
    assert "<dt>Status</dt>" not in dialog  # an MDN has no RFC 3463 code
