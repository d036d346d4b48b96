"""A reader clicks through the archive in a real browser: htmx swaps fragments under the
message page's Content-Security-Policy, and archived HTML neither runs nor phones home."""

from __future__ import annotations

import pytest

from tests.archive_fixtures import (
    LIST,
    OWNER,
    PASSWORD,
    SECRET_BODY,
    SECRET_SUBJECT,
    build_archive,
)

pytestmark = pytest.mark.browser


def test_owner_reads_the_archive_in_a_browser(session, live_server, browser_page):
    build_archive(session, "private")
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server.url}/lists/{LIST}/")
    page.fill("input[name=email]", OWNER)  # private archive: the sign-in page first
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=December 2026")
    page.click("text=December 2026 >> nth=0")
    page.wait_for_selector("text=2 messages in 1 thread")

    page.evaluate("window.notReloaded = true")
    page.click("#month-messages >> text=By date")  # htmx swaps the list, pushes the URL
    page.wait_for_selector('strong[aria-current="true"]:has-text("By date")')
    assert page.url.endswith("/2026-12/?view=date")
    assert page.evaluate("window.notReloaded") is True

    page.click(f"text={SECRET_SUBJECT} >> nth=0")
    page.wait_for_selector(f"text={SECRET_BODY}")
    assert page.evaluate("typeof window.htmx") == "object"  # CSP lets our own script run
    body = page.locator(".message-html")
    assert body.locator("script").count() == 0 and body.locator("[onclick]").count() == 0
    assert [url for url in requested if "/image/" in url]  # the cid: logo, from our server
    assert not [url for url in requested if "tracker.example" in url]
    assert dialogs == []

    page.evaluate("window.notReloaded = true")
    page.click("text=Show the plain-text version")
    page.wait_for_selector(f"pre.message-text:has-text('{SECRET_BODY} (text)')")
    assert page.evaluate("window.notReloaded") is True and "version=text" in page.url

    page.goto(page.url.split("?")[0] + "?images=remote")
    page.wait_for_selector("text=Hide remote images")
    assert [url for url in requested if "tracker.example" in url]  # asked for: now loaded
