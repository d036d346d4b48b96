"""VERP tokens: round trip, fit in a local part, no address inside, forgery refused."""

from __future__ import annotations

import pytest

from ingest.verp import (
    BadToken,
    delivery_from_address,
    make_token,
    read_token,
    verp_address,
)

SECRET = "site-secret-for-tests-0123456789"


@pytest.mark.parametrize("delivery_id", [1, 42, 10**6, 2**63 - 1])
def test_round_trip_and_size(delivery_id):
    address = verp_address("bounce", "lists.example.org", delivery_id, SECRET)
    local_part = address.split("@")[0]
    assert len(local_part) <= 64
    assert local_part == local_part.lower()
    assert delivery_from_address(address, "bounce", SECRET) == delivery_id
    assert delivery_from_address(address.upper(), "bounce", SECRET) == delivery_id


def test_tokens_differ_per_secret_and_per_delivery():
    assert make_token(7, SECRET) != make_token(7, SECRET + "x")
    assert make_token(7, SECRET)[-20:] != make_token(8, SECRET)[-20:]


@pytest.mark.parametrize(
    "address",
    [
        "bounce@lists.example.org",
        "bounce+@lists.example.org",
        "other+1-aaaaaaaaaaaaaaaaaaaa@lists.example.org",
        "bounce+alice==a==example.org==list==42@lists.example.org",
    ],
)
def test_malformed_addresses_are_refused(address):
    with pytest.raises(BadToken):
        delivery_from_address(address, "bounce", SECRET)


def test_guessed_or_altered_tokens_are_refused():
    token = make_token(42, SECRET)
    number, mac = token.split("-")
    with pytest.raises(BadToken, match="signature"):
        read_token(f"{int(number, 36) + 1:x}-{mac}", SECRET)
    with pytest.raises(BadToken, match="signature"):
        read_token(f"{number}-{'a' * len(mac)}", SECRET)
    with pytest.raises(BadToken):
        read_token(token, "another-secret-entirely-000000")
