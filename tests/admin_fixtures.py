"""Fixtures for the administration tests: a small site with every role, and a form poster.

A test module imports `admin_site_fixture` and `post_form_fixture` (named so that the
fixtures' own names, `admin_site` and `post_form`, stay free for the test arguments).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest
from werkzeug.security import generate_password_hash

from listtrack.lists import add_subscribers, create_list
from listtrack.models import User
from tests.conftest import csrf_token_from
from webapp.extensions import db

NEWS = "news@lists.example.org"
OTHER = "other@lists.example.org"
BOSS = "boss@example.org"  # listmaster
OWNER = "owner@example.org"  # owns NEWS
OTHER_OWNER = "keeper@example.org"  # owns OTHER only
MEMBER = "member@example.org"  # subscribed to NEWS, owns nothing


@dataclass
class AdminSite:
    news_id: int
    other_id: int


@cache
def password_hash(password: str = "correct horse") -> str:
    """A real scrypt hash with a small work factor: these tests sign in hundreds of times.

    The sign-in form still checks it through werkzeug, which reads the factor from the hash.
    """
    return generate_password_hash(password, method="scrypt:1024:8:1")


@pytest.fixture(name="admin_site")
def admin_site_fixture(app) -> AdminSite:  # noqa: ANN001
    """Two lists, a listmaster, an owner of each, and a plain subscriber."""
    with app.app_context():
        for email in (BOSS, OWNER, OTHER_OWNER, MEMBER):
            db.session.add(User(email=email, password_hash=password_hash(),
                                is_listmaster=email == BOSS))
        news = create_list(db.session, NEWS, [OWNER], subject="Board announcements")
        other = create_list(db.session, OTHER, [OTHER_OWNER], subject="Other things")
        add_subscribers(db.session, news, [MEMBER])
        db.session.commit()
        return AdminSite(news.id, other.id)


@pytest.fixture(name="post_form")
def post_form_fixture(client):  # noqa: ANN001, ANN201
    """POST like a browser: take the CSRF token from a page first (the home page by default)."""

    def post(url: str, data: dict | None = None, page: str = "/", **options):  # noqa: ANN202
        token = csrf_token_from(client.get(page).get_data(as_text=True))
        return client.post(url, data={"csrf_token": token, **(data or {})}, **options)

    return post


def switch_user(client, sign_in, email: str):  # noqa: ANN001, ANN201
    """Sign out whoever is signed in and sign in as `email`."""
    with client.session_transaction() as flask_session:
        flask_session.clear()
    response = sign_in(email)
    assert response.status_code == 302, f"could not sign in as {email}"
    return response
