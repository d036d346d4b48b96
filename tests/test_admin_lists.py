"""Listmasters create lists, rename them, set owners (never none), close and reopen them."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from listtrack.models import ListOwner, ListSettingChange, MailingList
from tests.admin_fixtures import (  # noqa: F401 - fixtures
    BOSS,
    NEWS,
    OWNER,
    admin_site_fixture,
    post_form_fixture,
)
from webapp.extensions import db

pytestmark = pytest.mark.all_databases

EDIT = f"/admin/lists/{NEWS}/edit"


def owners_of(app, list_id: int) -> list[str]:  # noqa: ANN001
    with app.app_context():
        return sorted(db.session.scalars(select(ListOwner.email)
                                         .where(ListOwner.list_id == list_id)))


def log_of(app, list_id: int) -> list[tuple]:  # noqa: ANN001
    with app.app_context():
        return [(c.setting, c.old_value, c.new_value, c.changed_by) for c in db.session.scalars(
            select(ListSettingChange).where(ListSettingChange.list_id == list_id)
            .order_by(ListSettingChange.id))]


def test_create_a_list(app, client, sign_in, admin_site, post_form):
    sign_in(BOSS)
    form = client.get("/admin/lists/new")
    assert form.status_code == 200 and "Site default" in form.get_data(as_text=True)
    response = post_form("/admin/lists/new", {
        "address": "Board@Lists.Example.org", "subject": "The board",
        "owners": "chair@example.org, Secretary@example.org\nchair@example.org",
        "send_policy": "owners", "archive_visibility": "owner",
        "delivery_status_notification": "on", "message_disposition_notification": "default",
    })
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/lists/board@lists.example.org/settings")
    with app.app_context():
        board = db.session.scalar(select(MailingList).where(MailingList.name == "board"))
        assert (board.domain, board.subject, board.send_policy, board.archive_visibility) == \
            ("lists.example.org", "The board", "owners", "owner")
        assert board.delivery_status_notification == "on"
        assert board.message_disposition_notification is None  # follows the site
        board_id = board.id
    assert owners_of(app, board_id) == ["chair@example.org", "secretary@example.org"]
    assert log_of(app, board_id) == [("created", None, "board@lists.example.org", BOSS)]


@pytest.mark.parametrize(("data", "field_message"), [
    ({"address": NEWS}, "a list news@lists.example.org already exists"),
    ({"address": "no at sign"}, "is not a list address"),
    ({"address": "x@lists.example.org", "owners": "not-an-address"},
     "'not-an-address' is not a valid e-mail address"),
    ({"address": "x@lists.example.org", "owners": " , "}, "a list needs at least one owner"),
    ({"address": "x@lists.example.org", "send_policy": "anyone"},
     "send policy must be one of: public, subscribers, owners"),
    ({"address": "x@lists.example.org", "message_disposition_notification": "always"},
     "must be one of: on, on_demand, off"),
    ({"address": "x@lists.example.org", "subject": "x" * 300}, "at most 255 characters"),
])
def test_create_refuses_bad_input_next_to_the_field(app, client, sign_in, admin_site,
                                                    post_form, data, field_message):
    sign_in(BOSS)
    form = {"owners": "chair@example.org", "send_policy": "subscribers",
            "archive_visibility": "private", "delivery_status_notification": "default",
            "message_disposition_notification": "default", **data}
    response = post_form("/admin/lists/new", form)
    assert response.status_code == 400
    assert field_message in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(MailingList).where(MailingList.name == "x")) is None


def test_rename_and_subject_are_logged(app, client, sign_in, admin_site, post_form):
    sign_in(BOSS)
    response = post_form(EDIT, {"address": "board-news@lists.example.org",
                                "subject": "Board news"}, page=EDIT)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/lists/board-news@lists.example.org/edit")
    assert client.get(EDIT).status_code == 404  # the old address names no list now
    page = client.get("/admin/lists/board-news@lists.example.org/edit")
    assert "update the mail system" in page.get_data(as_text=True)
    assert log_of(app, admin_site.news_id) == [
        ("subject", "Board announcements", "Board news", BOSS),
        ("address", NEWS, "board-news@lists.example.org", BOSS),
    ]


def test_rename_onto_another_list_is_refused(app, client, sign_in, admin_site, post_form):
    sign_in(BOSS)
    response = post_form(EDIT, {"address": "other@lists.example.org",
                                "subject": "Board announcements"}, page=EDIT)
    assert response.status_code == 400
    assert "a list other@lists.example.org already exists" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(MailingList, admin_site.news_id).address == NEWS
    assert log_of(app, admin_site.news_id) == []


def test_owners_add_and_remove_but_never_none(app, client, sign_in, admin_site, post_form):
    sign_in(BOSS)
    added = post_form(f"/admin/lists/{NEWS}/owners/add", {"email": "Deputy@Example.org"},
                      page=EDIT)
    assert added.status_code == 303
    assert owners_of(app, admin_site.news_id) == ["deputy@example.org", OWNER]
    twice = post_form(f"/admin/lists/{NEWS}/owners/add", {"email": "deputy@example.org"},
                      page=EDIT)
    assert twice.status_code == 400 and "already an owner" in twice.get_data(as_text=True)
    bad = post_form(f"/admin/lists/{NEWS}/owners/add", {"email": "deputy@"}, page=EDIT)
    assert bad.status_code == 400 and "not a valid e-mail address" in bad.get_data(as_text=True)

    removed = post_form(f"/admin/lists/{NEWS}/owners/remove", {"email": OWNER}, page=EDIT)
    assert removed.status_code == 303
    assert owners_of(app, admin_site.news_id) == ["deputy@example.org"]
    last = post_form(f"/admin/lists/{NEWS}/owners/remove", {"email": "deputy@example.org"},
                     page=EDIT)
    assert last.status_code == 400
    assert "is the last owner" in last.get_data(as_text=True)
    assert owners_of(app, admin_site.news_id) == ["deputy@example.org"]
    assert log_of(app, admin_site.news_id) == [
        ("owner", None, "deputy@example.org", BOSS),
        ("owner", OWNER, None, BOSS),
    ]
    page = client.get(EDIT).get_data(as_text=True)
    assert "the last owner stays" in page  # no remove button for the last owner


def home_lists(client) -> str:  # noqa: ANN001
    """The home page's list of lists (flash messages above it left out)."""
    return client.get("/").get_data(as_text=True).split("<h1>Lists</h1>", 1)[1]


def test_close_hides_the_list_and_reopen_brings_it_back(app, client, sign_in, admin_site,
                                                        post_form):
    with app.app_context():
        db.session.get(MailingList, admin_site.news_id).archive_visibility = "public"
        db.session.commit()
    assert NEWS in home_lists(client)
    sign_in(BOSS)
    assert post_form(f"/admin/lists/{NEWS}/close", page=EDIT).status_code == 303
    with app.app_context():
        assert db.session.get(MailingList, admin_site.news_id).closed is True
    assert NEWS not in home_lists(client)
    admin_index = client.get("/admin/").get_data(as_text=True)
    assert NEWS in admin_index and "closed" in admin_index  # listmasters still reach it
    again = post_form(f"/admin/lists/{NEWS}/close", page=EDIT)
    assert again.status_code == 303

    assert post_form(f"/admin/lists/{NEWS}/reopen", page=EDIT).status_code == 303
    with app.app_context():
        assert db.session.get(MailingList, admin_site.news_id).closed is False
    assert NEWS in home_lists(client)
    assert log_of(app, admin_site.news_id) == [("closed", "off", "on", BOSS),
                                               ("closed", "on", "off", BOSS)]


def test_owner_sees_the_list_tabs_without_the_listmaster_one(client, sign_in, admin_site):
    sign_in(OWNER)
    page = client.get(f"/admin/lists/{NEWS}/settings").get_data(as_text=True)
    assert "Subscribers</a>" in page and "List and owners" not in page
