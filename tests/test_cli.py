"""The admin CLI as a listmaster types it: users, lists, subscribers."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from listtrack.accounts import authenticate
from listtrack.models import ListOwner, MailingList, Subscriber, User

pytestmark = pytest.mark.all_databases


def run(cli_env, *arguments, stdin=None):  # noqa: ANN001, ANN202
    return subprocess.run(["listtrack", *arguments], input=stdin, capture_output=True,
                          text=True, env=cli_env)


def test_user_add(cli_env, session):
    result = run(cli_env, "user", "add", "Boss@Example.org", "--listmaster", "--password-stdin",
                 stdin="long enough\n")
    assert result.returncode == 0, result.stderr
    assert "added listmaster boss@example.org" in result.stdout
    user = session.scalar(select(User))
    assert user.is_listmaster and user.password_hash.startswith("scrypt:")
    assert authenticate(session, "boss@example.org", "long enough") is not None

    again = run(cli_env, "user", "add", "boss@example.org", "--password-stdin",
                stdin="long enough\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = run(cli_env, "user", "add", "x@example.org", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    bad = run(cli_env, "user", "add", "not-an-address", "--password-stdin", stdin="long enough\n")
    assert bad.returncode == 1 and "not a valid e-mail address" in bad.stderr


def test_list_create_and_subscribers(cli_env, session):
    result = run(cli_env, "list", "create", "News@Lists.Example.org", "--owner",
                 "owner@example.org", "--dsn", "on", "--mdn", "on_demand")
    assert result.returncode == 0, result.stderr
    mailing_list = session.scalar(select(MailingList))
    assert (mailing_list.name, mailing_list.domain) == ("news", "lists.example.org")
    assert mailing_list.delivery_status_notification == "on"
    assert mailing_list.message_disposition_notification == "on_demand"
    assert session.scalar(select(ListOwner.email)) == "owner@example.org"

    duplicate = run(cli_env, "list", "create", "news@lists.example.org", "--owner", "o@e.org")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad_value = run(cli_env, "list", "create", "x@lists.example.org", "--owner", "o@e.org",
                    "--mdn", "maybe")
    assert bad_value.returncode == 2 and "'maybe' is not one of" in bad_value.stderr

    added = run(cli_env, "subscriber", "add", "news@lists.example.org", "a@example.org",
                "B@Example.org", "a@example.org", "--reception", "digest")
    assert added.returncode == 0, added.stderr
    assert "added 2 subscriber(s)" in added.stdout
    assert "already subscribed: a@example.org" in added.stdout
    rows = session.execute(select(Subscriber.email, Subscriber.reception)
                           .order_by(Subscriber.email)).all()
    assert rows == [("a@example.org", "digest"), ("b@example.org", "digest")]

    again = run(cli_env, "subscriber", "add", "news@lists.example.org", "b@example.org", "bad@")
    assert again.returncode == 1
    assert "already subscribed: b@example.org" in again.stdout
    assert "'bad@' is not a valid e-mail address" in again.stderr
    unknown = run(cli_env, "subscriber", "add", "nope@lists.example.org", "a@example.org")
    assert unknown.returncode == 1 and "no list nope@lists.example.org" in unknown.stderr
