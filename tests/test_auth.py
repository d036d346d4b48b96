"""Sign in and out through the real form; CSRF refusal; who sees which lists."""

from __future__ import annotations

from listtrack.lists import add_subscribers, create_list
from webapp.extensions import db


def test_sign_in_and_out(client, make_user, sign_in):
    make_user("owner@example.org")
    page = client.get("/login")
    assert page.status_code == 200 and b'name="csrf_token"' in page.data
    response = sign_in("Owner@Example.org")
    assert response.status_code == 302
    home = client.get("/")
    assert b"owner@example.org" in home.data and b"Sign out" in home.data

    from tests.conftest import csrf_token_from

    token = csrf_token_from(home.get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert b"Sign in" in client.get("/").data


def test_wrong_password_is_refused(client, make_user, sign_in):
    make_user("owner@example.org")
    response = sign_in("owner@example.org", "wrong password")
    assert response.status_code == 400
    assert b"Unknown address or wrong password" in response.data
    assert b"Sign out" not in client.get("/").data


def test_post_without_csrf_token_is_refused(client, make_user):
    make_user("owner@example.org")
    response = client.post("/login", data={"email": "owner@example.org",
                                           "password": "correct horse"})
    assert response.status_code == 400
    assert b"Sign out" not in client.get("/").data


def test_logout_needs_csrf_too(client, make_user, sign_in):
    make_user("owner@example.org")
    sign_in("owner@example.org")
    assert client.post("/logout").status_code == 400
    assert b"Sign out" in client.get("/").data


def test_next_parameter_cannot_leave_the_site(client, make_user):
    make_user("owner@example.org")
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x",
                           data={"email": "owner@example.org", "password": "correct horse",
                                 "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_home_lists_what_each_user_may_see(app, client, make_user, sign_in):
    make_user("owner@example.org")
    make_user("member@example.org")
    make_user("boss@example.org", listmaster=True)
    with app.app_context():
        create_list(db.session, "open@lists.example.org", ["owner@example.org"],
                    archive_visibility="public")
        members = create_list(db.session, "members@lists.example.org", ["owner@example.org"])
        create_list(db.session, "secret@lists.example.org", ["other@example.org"],
                    archive_visibility="owner")
        add_subscribers(db.session, members, ["member@example.org"])
        db.session.commit()

    anonymous = client.get("/").get_data(as_text=True)
    assert "open@lists.example.org" in anonymous
    assert "members@" not in anonymous and "secret@" not in anonymous

    sign_in("member@example.org")
    member = client.get("/").get_data(as_text=True)
    assert "members@lists.example.org" in member and "secret@" not in member

    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    with client.session_transaction() as flask_session:
        flask_session.clear()
    sign_in("boss@example.org")
    boss = client.get("/").get_data(as_text=True)
    assert all(name in boss for name in ("open@", "members@", "secret@"))


def test_htmx_is_served_locally_with_integrity(client):
    page = client.get("/").get_data(as_text=True)
    assert 'src="/static/htmx-2.0.11.min.js" integrity="sha384-' in page
    assert "unpkg" not in page and "cdn" not in page.lower()
    script = client.get("/static/htmx-2.0.11.min.js")
    assert script.status_code == 200 and b"htmx" in script.data
