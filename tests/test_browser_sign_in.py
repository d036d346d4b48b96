"""A person signs in with a real browser and sees their lists; htmx loads from our server."""

from __future__ import annotations

import pytest

from listtrack.lists import create_list
from webapp.extensions import db

pytestmark = pytest.mark.browser


def test_sign_in_in_a_browser(app, live_server, browser_page, make_user):
    make_user("owner@example.org")
    with app.app_context():
        create_list(db.session, "news@lists.example.org", ["owner@example.org"],
                    subject="Board announcements")
        db.session.commit()
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert page.locator("main").inner_text().count("news@") == 0
    page.click("text=Sign in")
    page.fill("input[name=email]", "owner@example.org")
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Board announcements")
    assert "news@lists.example.org" in page.locator("main").inner_text()
    assert page.evaluate("typeof window.htmx") == "object"  # the integrity hash matched
    page.click("text=Sign out")
    page.wait_for_selector("text=Sign in")
