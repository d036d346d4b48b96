"""Lists with `mask_addresses` on: every address shown is masked; the evidence stays exact."""

from __future__ import annotations

import csv
import io

import pytest

from listtrack.address_masking import mask_address, mask_addresses_in_text
from tests.tracking_panel_fixtures import OWNER, SENDER, make_tracked_message
from webapp.extensions import db


@pytest.mark.parametrize(("address", "masked"), [
    ("john@example.org", "j***@example.org"),
    ("j@example.org", "j***@example.org"),
    ("Jane.Doe+list@Sub.Example.org", "J***@Sub.Example.org"),
    ('"odd name"@example.org', "o***@example.org"),
    ("no-at-sign", "n***"),
    ("", ""),
    (None, ""),
])
def test_mask_address(address, masked):
    assert mask_address(address) == masked


def test_mask_addresses_in_text_masks_every_address_and_nothing_else():
    text = "smtp; 550 5.1.1 <john.smith@example.org>: unknown; rfc822;Ann@b.example (x@y)"
    assert mask_addresses_in_text(text) == \
        "smtp; 550 5.1.1 <j***@example.org>: unknown; rfc822;A***@b.example (x***@y)"
    assert mask_addresses_in_text("no address at all") == "no address at all"
    assert mask_addresses_in_text(None) == ""


@pytest.fixture
def masked_panel(app, client, make_user, sign_in):  # noqa: ANN001, ANN201
    with app.app_context():
        tracked = make_tracked_message(
            db.session, {"john.smith@example.org": "failed", "anna@example.net": "delivered"},
            mask_addresses=True)
        db.session.commit()
    make_user(OWNER)
    sign_in(OWNER)
    return tracked


def test_panel_rows_and_header_are_masked(client, masked_panel):
    page = client.get(masked_panel.url()).get_data(as_text=True)
    assert "j***@example.org" in page and "a***@example.net" in page
    assert "s***@example.org" in page  # the sender, in the header
    for secret in ("john.smith", "anna@", SENDER):
        assert secret not in page, secret
    # The page cursor is a row number, never an address.
    assert "full address, or part of the domain" in page


def test_search_cannot_spell_out_a_masked_address(client, masked_panel):
    assert "j***@example.org" not in client.get(masked_panel.url("?q=john")).get_data(
        as_text=True)
    by_domain = client.get(masked_panel.url("?q=example.org")).get_data(as_text=True)
    assert "j***@example.org" in by_domain and "a***@example.net" not in by_domain
    exact = client.get(masked_panel.url("?q=john.smith@example.org")).get_data(as_text=True)
    assert "j***@example.org" in exact


def test_dialog_masks_fields_diagnostic_and_source_but_download_is_exact(client, masked_panel):
    notification_id = masked_panel.notifications["john.smith@example.org"][0]
    for tail in ("", "/dialog"):
        shown = client.get(masked_panel.url(f"/notifications/{notification_id}{tail}"))
        text = shown.get_data(as_text=True)
        assert "john.smith" not in text, tail
        assert "j***@example.org" in text
        assert "addresses masked; the download is exact" in text
    download = client.get(masked_panel.url(f"/notifications/{notification_id}/download"))
    assert b"john.smith@example.org" in download.data


def test_csv_is_masked(client, masked_panel):
    text = client.get(masked_panel.url("/export.csv")).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows[1:]] == ["a***@example.net", "j***@example.org"]
    assert "john.smith" not in text and "anna@" not in text
    assert rows[2][5] == "smtp; 550 5.1.1 <j***@example.org>: no such user"


def test_on_a_masked_list_only_managers_get_the_exact_evidence(app, client, make_user,
                                                                 sign_in):
    with app.app_context():
        tracked = make_tracked_message(
            db.session, {"john.smith@example.org": "failed"}, mask_addresses=True,
            tracking_visibility="private", subscribers=("reader@example.org",))
        db.session.commit()
    notification_id = tracked.notifications["john.smith@example.org"][0]
    make_user("reader@example.org")
    sign_in("reader@example.org")
    page = client.get(tracked.url(f"/notifications/{notification_id}")).get_data(as_text=True)
    assert "the exact report is available to the list owners" in page
    assert "/download" not in page
    assert client.get(tracked.url(f"/notifications/{notification_id}/download")) \
        .status_code == 404
