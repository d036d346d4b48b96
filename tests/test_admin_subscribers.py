"""Owners manage subscribers: pages and search, paste, CSV import with bad lines, remove,
reception option."""

from __future__ import annotations

import io
from html import unescape

import pytest
from sqlalchemy import select

from listtrack.models import Subscriber
from listtrack.subscribers import add_subscribers
from tests.admin_fixtures import (  # noqa: F401 - fixtures
    MEMBER,
    NEWS,
    OWNER,
    admin_site_fixture,
    post_form_fixture,
)
from webapp.extensions import db

BASE = f"/admin/lists/{NEWS}/subscribers"


def subscribers_of(app, list_id: int) -> dict[str, str]:  # noqa: ANN001
    with app.app_context():
        return dict(db.session.execute(select(Subscriber.email, Subscriber.reception)
                                       .where(Subscriber.list_id == list_id)).all())


def text_of(response) -> str:  # noqa: ANN001
    return unescape(response.get_data(as_text=True))


@pytest.mark.all_databases
def test_pages_and_search(app, client, sign_in, admin_site):
    with app.app_context():
        from listtrack.models import MailingList

        news = db.session.get(MailingList, admin_site.news_id)
        add_subscribers(db.session, news, [f"reader{n:03d}@example.org" for n in range(120)]
                        + ["under_score@example.org", "percent%sign@example.org"])
        db.session.commit()
    sign_in(OWNER)
    first = text_of(client.get(BASE))
    assert "123 subscriber(s)." in first and "Page 1 of 3" in first
    # Address order: member, percent%sign, reader000 ... reader047 on the first page.
    assert "member@example.org" in first and "reader047@example.org" in first
    assert "reader048@example.org" not in first
    assert "reader048@example.org" in text_of(client.get(f"{BASE}?page=2"))
    third = text_of(client.get(f"{BASE}?page=3"))
    assert "Page 3 of 3" in third and "under_score@example.org" in third
    assert text_of(client.get(f"{BASE}?page=99")).count("Page 3 of 3") == 1  # clamped

    found = text_of(client.get(f"{BASE}?q=READER11"))
    assert "10 subscriber(s) matching “reader11”" in found
    assert "reader110@example.org" in found and "reader010@example.org" not in found
    # LIKE wildcards in a search are plain characters.
    assert "1 subscriber(s) matching “_”" in text_of(client.get(f"{BASE}?q=_"))
    assert "1 subscriber(s) matching “%”" in text_of(client.get(f"{BASE}?q=%25"))


@pytest.mark.all_databases
def test_add_pasted_addresses(app, client, sign_in, admin_site, post_form):
    sign_in(OWNER)
    response = post_form(f"{BASE}/add", {
        "addresses": "Alice@Example.org, bob@example.org\n\n  carol@example.org ;"
                     "alice@example.org\nnot-an-address\n" + MEMBER,
        "reception": "digest",
    }, page=BASE)
    assert response.status_code == 200
    page = text_of(response)
    assert "Added 3 subscriber(s); 2 already subscribed (not added again)." in page
    assert "'not-an-address' is not a valid e-mail address" in page
    assert subscribers_of(app, admin_site.news_id) == {
        MEMBER: "mail", "alice@example.org": "digest", "bob@example.org": "digest",
        "carol@example.org": "digest"}


def test_add_refuses_empty_input_and_unknown_reception(app, client, sign_in, admin_site,
                                                       post_form):
    sign_in(OWNER)
    empty = post_form(f"{BASE}/add", {"addresses": "", "reception": "mail"}, page=BASE)
    assert empty.status_code == 400
    unknown = post_form(f"{BASE}/add", {"addresses": "x@example.org", "reception": "fax"},
                        page=BASE)
    assert unknown.status_code == 400
    assert "'fax' is not a reception option" in text_of(unknown)
    assert subscribers_of(app, admin_site.news_id) == {MEMBER: "mail"}


@pytest.mark.all_databases
def test_csv_import_keeps_good_lines_and_reports_bad_ones(app, client, sign_in, admin_site,
                                                          post_form):
    csv_bytes = (
        "\ufeffemail,reception\r\n"              # 1 header (with a BOM, as Excel writes it)
        "ann@example.org,digest\r\n"             # 2
        "not an address\r\n"                     # 3 bad
        "ben@example.org\r\n"                    # 4 default reception
        "\r\n"                                   # 5 blank: ignored
        "cat@example.org,fax\r\n"                # 6 bad reception
        "dan@example.org,mail,extra\r\n"         # 7 too many fields
        "\"Eve@Example.org\",NOMAIL\r\n"         # 8 quoted, upper case
        f"{MEMBER},digest\r\n"                   # 9 already subscribed
        "ann@example.org\r\n"                    # 10 repeated in the file
    ).encode() + b"fay@example.org,\xff\xfe\r\n"  # 11 not UTF-8
    sign_in(OWNER)
    response = post_form(f"{BASE}/import", {"file": (io.BytesIO(csv_bytes), "members.csv"),
                                            "reception": "summary"},
                         page=BASE, content_type="multipart/form-data")
    assert response.status_code == 200
    page = text_of(response)
    assert "Added 3 subscriber(s); 2 already subscribed (not added again)." in page
    assert "line 3: 'not an address' is not a valid e-mail address" in page
    assert "line 6: 'fax' is not a reception option" in page
    assert "line 7: expected email[,reception], found 3 fields" in page
    assert "line 11: not a line of UTF-8 text" in page
    assert "line 1:" not in page and "line 5:" not in page
    assert subscribers_of(app, admin_site.news_id) == {
        MEMBER: "mail", "ann@example.org": "digest", "ben@example.org": "summary",
        "eve@example.org": "nomail"}


def test_csv_import_without_header_and_with_semicolons(app, client, sign_in, admin_site,
                                                       post_form):
    sign_in(OWNER)
    response = post_form(f"{BASE}/import", {
        "file": (io.BytesIO(b"gil@example.org;digest\nhal@example.org\n"), "list.csv"),
        "reception": "mail"}, page=BASE, content_type="multipart/form-data")
    assert response.status_code == 200
    assert subscribers_of(app, admin_site.news_id) == {
        MEMBER: "mail", "gil@example.org": "digest", "hal@example.org": "mail"}


def test_csv_import_needs_a_file(client, sign_in, admin_site, post_form):
    sign_in(OWNER)
    response = post_form(f"{BASE}/import", {"reception": "mail"}, page=BASE,
                         content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a CSV file to import." in text_of(response)


@pytest.mark.all_databases
def test_remove_asks_to_confirm_then_removes(app, client, sign_in, admin_site, post_form):
    with app.app_context():
        from listtrack.models import MailingList

        add_subscribers(db.session, db.session.get(MailingList, admin_site.news_id),
                        ["a@example.org", "b@example.org"])
        db.session.commit()
    sign_in(OWNER)
    asked = post_form(f"{BASE}/remove", {"addresses": "A@example.org, b@example.org"},
                      page=BASE)
    assert asked.status_code == 200
    page = text_of(asked)
    assert "Remove 2 subscriber(s) from news@lists.example.org?" in page
    assert 'name="confirmed" value="yes"' in page
    assert len(subscribers_of(app, admin_site.news_id)) == 3  # nothing removed yet

    done = post_form(f"{BASE}/remove", {"addresses": "a@example.org, b@example.org, "
                                                     "zed@example.org", "confirmed": "yes"},
                     page=BASE)
    assert done.status_code == 303
    assert subscribers_of(app, admin_site.news_id) == {MEMBER: "mail"}
    after = text_of(client.get(BASE))
    assert "Removed 2 subscriber(s)." in after and "Not subscribed: zed@example.org" in after


@pytest.mark.all_databases
def test_change_reception(app, client, sign_in, admin_site, post_form):
    sign_in(OWNER)
    response = post_form(f"{BASE}/reception", {"email": MEMBER, "reception": "nomail",
                                               "q": "member"}, page=BASE)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{BASE}?q=member")
    assert subscribers_of(app, admin_site.news_id) == {MEMBER: "nomail"}

    row = post_form(f"{BASE}/reception", {"email": MEMBER, "reception": "digest"}, page=BASE,
                    headers={"HX-Request": "true"})
    assert row.status_code == 200
    html = text_of(row)
    assert html.startswith("<tr id=\"subscriber-") and "saved" in html
    assert '<option value="digest" selected>' in html
    assert subscribers_of(app, admin_site.news_id) == {MEMBER: "digest"}

    bad = post_form(f"{BASE}/reception", {"email": MEMBER, "reception": "carrier-pigeon"},
                    page=BASE)
    assert bad.status_code == 400 and "'carrier-pigeon' is not a reception option" in \
        text_of(bad)
    stranger = post_form(f"{BASE}/reception", {"email": "x@example.org", "reception": "mail"},
                         page=BASE, headers={"HX-Request": "true"})
    assert "x@example.org is not subscribed to news@lists.example.org" in text_of(stranger)
    assert subscribers_of(app, admin_site.news_id) == {MEMBER: "digest"}
