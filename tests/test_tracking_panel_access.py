"""Who may open the tracking panel: every page, fragment, dialog, download and CSV URL.

Owners and listmasters always; subscribers only when the list's tracking visibility is
`private`; the sender of the message always. Everyone else, and every message that was
not tracked, gets 404, so the panel never confirms what exists.
"""

from __future__ import annotations

import pytest

from tests.tracking_panel_fixtures import OWNER, SENDER, make_tracked_message
from webapp.extensions import db

SUBSCRIBER = "reader@example.net"
STRANGER = "stranger@example.com"
LISTMASTER = "admin@example.org"


def every_url(tracked, notification_id: int) -> list[str]:
    return [
        tracked.url(),
        tracked.url("?status=failed&q=example"),
        tracked.url("/summary"),
        tracked.url("/results?status=failed"),
        tracked.url("/rows"),
        tracked.url("/export.csv"),
        tracked.url(f"/notifications/{notification_id}"),
        tracked.url(f"/notifications/{notification_id}/dialog"),
        tracked.url(f"/notifications/{notification_id}/download"),
    ]


@pytest.fixture
def tracked_message(app, make_user):  # noqa: ANN001, ANN201
    """A tracked message with a failed delivery, and every kind of visitor as a user."""

    def build(visibility: str | None = None, tracked: bool = True):  # noqa: ANN202
        with app.app_context():
            result = make_tracked_message(
                db.session, {"a@example.net": "delivered", "b@example.net": "failed"},
                tracking_visibility=visibility, tracked=tracked, subscribers=(SUBSCRIBER,))
            db.session.commit()
            notification_id = result.notifications["b@example.net"][0]
        for email, listmaster in ((OWNER, False), (LISTMASTER, True), (SUBSCRIBER, False),
                                  (STRANGER, False), (SENDER, False)):
            make_user(email, listmaster=listmaster)
        return result, notification_id

    return build


@pytest.mark.parametrize(("who", "visibility", "allowed"), [
    (OWNER, None, True),
    (LISTMASTER, None, True),
    (SENDER, None, True),
    (SUBSCRIBER, "private", True),
    (SUBSCRIBER, "owner", False),
    (SUBSCRIBER, None, False),  # the site default is `owner`
    (STRANGER, "private", False),
    (None, "private", False),  # signed out
])
def test_every_url_follows_the_visibility_rule(client, sign_in, tracked_message,
                                               who, visibility, allowed):
    tracked, notification_id = tracked_message(visibility)
    if who:
        assert sign_in(who).status_code == 302
    for url in every_url(tracked, notification_id):
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 404, url
            assert b"b@example.net" not in response.data and b"5.1.1" not in response.data


def test_a_message_that_was_not_tracked_has_no_panel_even_for_its_owner(
        client, sign_in, tracked_message):
    tracked, notification_id = tracked_message(tracked=False)
    sign_in(OWNER)
    for url in every_url(tracked, notification_id):
        assert client.get(url).status_code == 404, url


def test_unknown_lists_and_messages_are_404(client, sign_in, tracked_message):
    tracked, _ = tracked_message()
    sign_in(LISTMASTER)
    assert client.get(tracked.url()).status_code == 200
    assert client.get("/lists/nope@lists.example.org/msg/m1@example.org/tracking").status_code \
        == 404
    assert client.get("/lists/not-an-address/msg/m1@example.org/tracking").status_code == 404
    assert client.get(
        "/lists/news@lists.example.org/msg/other@example.org/tracking").status_code == 404
    assert client.get(tracked.url("/notifications/999999")).status_code == 404
    assert client.get(tracked.url("/notifications/999999/download")).status_code == 404


def test_a_notification_of_another_message_is_404_here(app, client, sign_in, tracked_message):
    tracked, _ = tracked_message()
    with app.app_context():
        other_list = make_tracked_message(
            db.session, {"c@example.net": "failed"}, list_address="other@lists.example.org",
            message_id="m2@example.org")
        db.session.commit()
        foreign_id = other_list.notifications["c@example.net"][0]
    sign_in(OWNER)  # owns both lists
    assert client.get(other_list.url(f"/notifications/{foreign_id}")).status_code == 200
    for tail in ("", "/dialog", "/download"):
        response = client.get(tracked.url(f"/notifications/{foreign_id}{tail}"))
        assert response.status_code == 404, tail
        assert b"c@example.net" not in response.data


def test_the_sender_sees_only_their_own_message(app, client, sign_in, tracked_message):
    tracked, _ = tracked_message()
    with app.app_context():
        someone_else = make_tracked_message(db.session, {"d@example.net": "delivered"},
                                            message_id="m3@example.org",
                                            sender="another@example.org")
        db.session.commit()
    sign_in(SENDER)
    assert client.get(tracked.url()).status_code == 200
    assert client.get(someone_else.url()).status_code == 404
