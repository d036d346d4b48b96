"""Who may open each archive page: owner, listmaster, subscriber, stranger, signed out, under
each archive visibility. A visitor without access never sees any of the content."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.archive_fixtures import (
    LIST,
    LISTMASTER,
    OWNER,
    SECRET_BODY,
    SECRET_SUBJECT,
    STRANGER,
    SUBSCRIBER,
    build_archive,
    sign_in,
)

pytestmark = pytest.mark.all_databases

ALLOWED = {
    "public": {"owner", "listmaster", "subscriber", "stranger", "anonymous"},
    "private": {"owner", "listmaster", "subscriber"},
    "owner": {"owner", "listmaster"},
}
PEOPLE = {"owner": OWNER, "listmaster": LISTMASTER, "subscriber": SUBSCRIBER,
          "stranger": STRANGER, "anonymous": None}


def archive_pages(ids) -> list[tuple[str, dict]]:  # noqa: ANN001
    base = f"/lists/{LIST}"
    message = f"{base}/msg/{ids.root}"
    fragment = {"HX-Request": "true"}
    return [
        (f"{base}/", {}),
        (f"{base}/2026-12/", {}),
        (f"{base}/2026-12/?view=date&page=1", {}),
        (f"{base}/2026-12/?view=date", fragment),
        (f"{base}/search?q=secret", {}),
        (f"{base}/search?q=secret", fragment),
        (message, {}),
        (f"{message}?version=text", fragment),
        (f"{message}/raw", {}),
        (f"{message}/part/{ids.pdf_part}", {}),
        (f"{message}/image/{ids.png_part}", {}),
    ]


@pytest.mark.parametrize("visibility", ["public", "private", "owner"])
@pytest.mark.parametrize("who", list(PEOPLE))
def test_every_archive_page_follows_the_list_visibility(session, client, visibility, who):
    ids = build_archive(session, visibility)
    if PEOPLE[who]:
        sign_in(client, PEOPLE[who])
    allowed = who in ALLOWED[visibility]
    for url, headers in archive_pages(ids):
        response = client.get(url, headers=headers)
        body = response.get_data()
        if allowed:
            assert response.status_code == 200, (url, response.status_code)
            continue
        assert SECRET_SUBJECT.encode() not in body and SECRET_BODY.encode() not in body, url
        assert b"%PDF" not in body and b"PNG" not in body
        if who == "anonymous" and headers:
            assert response.headers["HX-Redirect"].startswith("/login?next="), url
        elif who == "anonymous":
            assert response.status_code == 302, (url, response.status_code)
            assert response.headers["Location"].startswith("/login?next="), url
        else:
            assert response.status_code == 403, (url, response.status_code)
            assert b"Not allowed" in body


@pytest.mark.parametrize("visibility", ["public", "private", "owner"])
def test_the_list_index_shows_only_archives_one_may_open(session, client, visibility):
    build_archive(session, visibility)
    for who, address in PEOPLE.items():
        if address:
            sign_in(client, address)
        page = client.get("/").get_data(as_text=True)
        assert (LIST in page) == (who in ALLOWED[visibility]), who
        if address:
            client.post("/logout", data={"csrf_token": _token(client)})


def _token(client) -> str:  # noqa: ANN001
    from tests.conftest import csrf_token_from

    return csrf_token_from(client.get("/").get_data(as_text=True))


def test_unknown_list_and_message(session, client):
    build_archive(session, "public")
    anonymous = client.get("/lists/nothing@lists.example.org/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get(f"/lists/{LIST}/msg/{quote('nobody@example.org')}").status_code == 404
    assert client.get(f"/lists/{LIST}/2031-01/").status_code == 404
    assert client.get(f"/lists/{LIST}/2026-13/").status_code == 404
    sign_in(client, STRANGER)
    assert client.get("/lists/nothing@lists.example.org/").status_code == 404


def test_sign_in_page_brings_the_reader_back(session, client):
    ids = build_archive(session, "private")
    url = f"/lists/{LIST}/msg/{ids.reply}"
    redirect = client.get(url)
    assert redirect.status_code == 302
    login_url = redirect.headers["Location"]
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get(login_url).get_data(as_text=True))
    back = client.post(login_url, data={"email": SUBSCRIBER, "password": "correct horse",
                                        "csrf_token": token})
    assert back.status_code == 302 and back.headers["Location"] == url
    assert SECRET_SUBJECT in client.get(url).get_data(as_text=True)
