"""Who may open every admin URL: owner, another list's owner, listmaster, subscriber, nobody.

A list's admin URLs answer 404 to anyone who may not manage that list, listmaster-only pages
answer 404 to everyone else, and a signed-out visitor is sent to sign in.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from listtrack.models import ListOwner, ListSettingChange, MailingList, Subscriber
from tests.admin_fixtures import (  # noqa: F401 - fixtures
    BOSS,
    MEMBER,
    NEWS,
    OTHER_OWNER,
    OWNER,
    admin_site_fixture,
    post_form_fixture,
)
from webapp.extensions import db

LIST_URL = f"/admin/lists/{NEWS}"

# (method, url, form data, who may use it: "owner" = owners of NEWS and listmasters)
ADMIN_URLS = [
    ("GET", f"{LIST_URL}/settings", None, "owner"),
    ("POST", f"{LIST_URL}/settings", {"delivery_status_notification": "on"}, "owner"),
    ("POST", f"{LIST_URL}/settings/check", {"setting": "verp_rate", "verp_rate": "5%"}, "owner"),
    ("GET", f"{LIST_URL}/subscribers", None, "owner"),
    ("POST", f"{LIST_URL}/subscribers/add", {"addresses": "new@example.org",
                                             "reception": "mail"}, "owner"),
    ("POST", f"{LIST_URL}/subscribers/remove", {"addresses": MEMBER, "confirmed": "yes"},
     "owner"),
    ("POST", f"{LIST_URL}/subscribers/reception", {"email": MEMBER, "reception": "digest"},
     "owner"),
    ("GET", f"{LIST_URL}/edit", None, "listmaster"),
    ("POST", f"{LIST_URL}/edit", {"address": NEWS, "subject": "Changed"}, "listmaster"),
    ("POST", f"{LIST_URL}/owners/add", {"email": "second@example.org"}, "listmaster"),
    ("POST", f"{LIST_URL}/owners/remove", {"email": OWNER}, "listmaster"),
    ("POST", f"{LIST_URL}/close", {}, "listmaster"),
    ("POST", f"{LIST_URL}/reopen", {}, "listmaster"),
    ("GET", "/admin/site", None, "listmaster"),
    ("GET", "/admin/lists/new", None, "listmaster"),
    ("POST", "/admin/lists/new", {"address": "fresh@lists.example.org", "owners": OWNER},
     "listmaster"),
]
IMPORT_URL = f"{LIST_URL}/subscribers/import"


def state(app) -> tuple:  # noqa: ANN001
    """Everything an admin URL could change, to check a refused request changed nothing."""
    with app.app_context():
        session = db.session
        news = session.scalar(select(MailingList).where(MailingList.name == "news"))
        return (
            session.scalar(select(func.count()).select_from(MailingList)),
            (news.subject, news.closed, news.delivery_status_notification),
            sorted(session.scalars(select(ListOwner.email))),
            sorted(session.execute(select(Subscriber.email, Subscriber.reception)).all()),
            session.scalar(select(func.count()).select_from(ListSettingChange)),
        )


def request_as(client, post_form, method: str, url: str, data):  # noqa: ANN001, ANN201
    if method == "GET":
        return client.get(url)
    return post_form(url, data)


@pytest.mark.parametrize(("method", "url", "data", "allowed"), ADMIN_URLS,
                         ids=[f"{m} {u.replace(LIST_URL, '<list>')}" for m, u, _, _ in ADMIN_URLS])
@pytest.mark.parametrize("who", [OTHER_OWNER, MEMBER])
def test_non_owners_get_404_and_change_nothing(app, client, sign_in, admin_site, post_form,
                                               method, url, data, allowed, who):
    sign_in(who)
    before = state(app)
    response = request_as(client, post_form, method, url, data)
    assert response.status_code == 404
    assert state(app) == before


@pytest.mark.parametrize(("method", "url", "data", "allowed"),
                         [entry for entry in ADMIN_URLS if entry[3] == "listmaster"],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_owner_gets_404_on_listmaster_pages(app, client, sign_in, admin_site, post_form,
                                            method, url, data, allowed):
    sign_in(OWNER)
    before = state(app)
    assert request_as(client, post_form, method, url, data).status_code == 404
    assert state(app) == before


@pytest.mark.parametrize(("method", "url", "data", "allowed"),
                         [entry for entry in ADMIN_URLS if entry[3] == "owner"],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_owner_may_use_the_list_pages(client, sign_in, admin_site, post_form, method, url,
                                      data, allowed):
    sign_in(OWNER)
    response = request_as(client, post_form, method, url, data)
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]


@pytest.mark.parametrize(("method", "url", "data", "allowed"), ADMIN_URLS,
                         ids=lambda value: value if isinstance(value, str) else "")
def test_listmaster_may_use_every_page(client, sign_in, admin_site, post_form, method, url,
                                       data, allowed):
    sign_in(BOSS)
    response = request_as(client, post_form, method, url, data)
    # Removing the only owner is refused with a message (400), never allowed.
    expected = (400,) if url.endswith("/owners/remove") else (200, 303)
    assert response.status_code in expected, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize(("method", "url", "data", "allowed"),
                         [*ADMIN_URLS, ("GET", "/admin/", None, "owner"),
                          ("POST", IMPORT_URL, {}, "owner")],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_signed_out_visitors_are_sent_to_sign_in(app, client, admin_site, post_form, method,
                                                 url, data, allowed):
    before = state(app)
    response = request_as(client, post_form, method, url, data)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    assert state(app) == before


def test_import_is_404_for_other_owners(app, client, sign_in, admin_site, post_form):
    import io

    sign_in(OTHER_OWNER)
    before = state(app)
    response = post_form(IMPORT_URL, {"file": (io.BytesIO(b"x@example.org\n"), "list.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 404
    assert state(app) == before


def test_unknown_list_is_404_even_for_listmasters(client, sign_in, admin_site):
    sign_in(BOSS)
    assert client.get("/admin/lists/nope@lists.example.org/settings").status_code == 404
    assert client.get("/admin/lists/not-an-address/subscribers").status_code == 404


def test_admin_index_and_link_only_for_those_who_manage(client, sign_in, admin_site):
    from tests.admin_fixtures import switch_user

    sign_in(MEMBER)
    assert ">Administration<" not in client.get("/").get_data(as_text=True)
    assert client.get("/admin/").status_code == 404

    switch_user(client, sign_in, OWNER)
    assert ">Administration<" in client.get("/").get_data(as_text=True)
    index = client.get("/admin/").get_data(as_text=True)
    assert NEWS in index and "other@lists.example.org" not in index
    assert "Site settings" not in index and "Create a list" not in index

    switch_user(client, sign_in, BOSS)
    index = client.get("/admin/").get_data(as_text=True)
    assert NEWS in index and "other@lists.example.org" in index
    assert "Site settings" in index and "Create a list" in index


def test_csrf_is_enforced_on_every_admin_post(app, client, sign_in, admin_site):
    sign_in(BOSS)
    before = state(app)
    for method, url, data, _allowed in ADMIN_URLS:
        if method == "POST":
            response = client.post(url, data=data)
            assert response.status_code == 400, url
    assert client.post(IMPORT_URL, data={}).status_code == 400
    assert state(app) == before
