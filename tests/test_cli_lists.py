"""`listtrack list ...` and `listtrack subscriber ...` as a listmaster types them: real console
script processes against the test's database."""

from __future__ import annotations

import getpass
import subprocess

import pytest
from sqlalchemy import select

from listtrack.lists import create_list
from listtrack.models import ListOwner, ListSettingChange, MailingList, Subscriber
from listtrack.subscribers import add_subscribers

NEWS = "news@lists.example.org"


def run(cli_env, *arguments):  # noqa: ANN001, ANN202
    return subprocess.run(["listtrack", *arguments], capture_output=True, text=True,
                          env=cli_env, timeout=120)


@pytest.fixture
def news(session) -> MailingList:  # noqa: ANN001
    mailing_list = create_list(session, NEWS, ["owner@example.org"], subject="Board news")
    add_subscribers(session, mailing_list, ["ann@example.org", "ben@example.org"])
    session.commit()
    return mailing_list


def fresh(session, mailing_list: MailingList) -> MailingList:  # noqa: ANN001
    session.expire_all()
    return session.get(MailingList, mailing_list.id)


@pytest.mark.all_databases
def test_list_set_validates_and_logs_as_the_unix_user(cli_env, session, news):
    result = run(cli_env, "list", "set", NEWS, "retention_period", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{NEWS}: retention_period site default → 30\n"
    assert run(cli_env, "list", "set", NEWS, "message_disposition_notification",
               "on_demand").returncode == 0
    back = run(cli_env, "list", "set", NEWS, "retention_period", "default")
    assert back.stdout == f"{NEWS}: retention_period 30 → site default\n"
    same = run(cli_env, "list", "set", NEWS, "retention_period", "default")
    assert same.returncode == 0 and same.stdout == f"{NEWS}: retention_period unchanged\n"

    for key, value, message in [
        ("retention_period", "0", "retention_period: 0 days is out of range"),
        ("verp_rate", "3%", "verp_rate: '3%' is not allowed: choose 0%, 2%, 5%"),
        ("message_disposition_notification", "always", "choose on, on_demand, off or default"),
        ("send_policy", "default", "choose public, subscribers or owners"),
        ("colour", "blue", "colour: unknown setting (settings: delivery_status_notification"),
    ]:
        refused = run(cli_env, "list", "set", NEWS, key, value)
        assert refused.returncode == 1, (key, value)
        assert message in refused.stderr and "Traceback" not in refused.stderr
        assert refused.stderr.count("\n") == 1

    stored = fresh(session, news)
    assert stored.retention_period is None
    assert stored.message_disposition_notification == "on_demand"
    log = session.execute(select(ListSettingChange.setting, ListSettingChange.old_value,
                                 ListSettingChange.new_value, ListSettingChange.changed_by)
                          .order_by(ListSettingChange.id)).all()
    who = f"cli:{getpass.getuser()}"
    assert log == [("retention_period", "site default", "30", who),
                   ("message_disposition_notification", "site default", "on_demand", who),
                   ("retention_period", "30", "site default", who)]


def test_list_show(cli_env, session, news, write_config):
    write_config("tracking_delivery_status_notification on")
    news.message_disposition_notification = "off"
    session.commit()
    result = run(cli_env, "list", "show", NEWS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"list          {NEWS}" in lines
    assert "owners        owner@example.org" in lines and "subscribers   2" in lines
    assert "Bounce management and tracking:" in lines
    assert [line.split() for line in lines if "notification " in line] == [
        ["delivery_status_notification", "on", "site", "default"],
        ["message_disposition_notification", "off", "list"],
    ]
    unknown = run(cli_env, "list", "show", "nope@lists.example.org")
    assert unknown.returncode == 1 and "no list nope@lists.example.org" in unknown.stderr


def test_close_reopen_owners_and_edit(cli_env, session, news):
    assert run(cli_env, "list", "close", NEWS).stdout == f"{NEWS} is closed\n"
    assert fresh(session, news).closed is True
    assert run(cli_env, "list", "close", NEWS).stdout == f"{NEWS} was already closed\n"
    assert "(closed)" in run(cli_env, "list", "show", NEWS).stdout
    assert run(cli_env, "list", "reopen", NEWS).stdout == f"{NEWS} is open\n"
    assert fresh(session, news).closed is False

    added = run(cli_env, "list", "owner", "add", NEWS, "Deputy@Example.org")
    assert added.returncode == 0 and "deputy@example.org is now an owner" in added.stdout
    again = run(cli_env, "list", "owner", "add", NEWS, "deputy@example.org")
    assert again.returncode == 1 and "already an owner" in again.stderr
    assert run(cli_env, "list", "owner", "remove", NEWS, "owner@example.org").returncode == 0
    last = run(cli_env, "list", "owner", "remove", NEWS, "deputy@example.org")
    assert last.returncode == 1 and "is the last owner" in last.stderr
    session.expire_all()
    assert list(session.scalars(select(ListOwner.email))) == ["deputy@example.org"]

    renamed = run(cli_env, "list", "edit", NEWS, "--address", "board@lists.example.org",
                  "--subject", "The board")
    assert renamed.returncode == 0, renamed.stderr
    assert "update the MTA aliases" in renamed.stdout
    stored = fresh(session, news)
    assert (stored.address, stored.subject) == ("board@lists.example.org", "The board")
    taken = run(cli_env, "list", "edit", "board@lists.example.org", "--address", "bad address")
    assert taken.returncode == 1 and "is not a list address" in taken.stderr
    settings = [row.setting for row in session.scalars(
        select(ListSettingChange).order_by(ListSettingChange.id))]
    assert settings == ["closed", "closed", "owner", "owner", "subject", "address"]


@pytest.mark.all_databases
def test_subscriber_commands(cli_env, session, news, tmp_path):
    removed = run(cli_env, "subscriber", "remove", NEWS, "Ann@Example.org", "zed@example.org")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == (f"removed 1 subscriber(s) from {NEWS}\n"
                              "not subscribed: zed@example.org\n")
    bad = run(cli_env, "subscriber", "remove", NEWS, "not-an-address")
    assert bad.returncode == 1 and "'not-an-address' is not a valid e-mail address" in bad.stderr

    changed = run(cli_env, "subscriber", "set", NEWS, "ben@example.org", "--reception", "digest")
    assert changed.stdout == f"ben@example.org now receives {NEWS} as: digest\n"
    stranger = run(cli_env, "subscriber", "set", NEWS, "zed@example.org", "--reception", "mail")
    assert stranger.returncode == 1 and f"zed@example.org is not subscribed to {NEWS}" in \
        stranger.stderr
    unknown = run(cli_env, "subscriber", "set", NEWS, "ben@example.org", "--reception", "fax")
    assert unknown.returncode == 2 and "'fax' is not one of" in unknown.stderr

    csv_file = tmp_path / "members.csv"
    csv_file.write_bytes(b"email,reception\ncat@example.org,nomail\nnot an address\n"
                         b"ben@example.org\ndan@example.org\nemma@example.org,fax\n")
    imported = run(cli_env, "subscriber", "import", NEWS, str(csv_file), "--reception",
                   "summary")
    assert imported.returncode == 1
    assert imported.stdout == (f"added 2 subscriber(s) to {NEWS}\n"
                               "already subscribed: ben@example.org\n")
    assert f"{csv_file}:3: 'not an address' is not a valid e-mail address" in imported.stderr
    assert f"{csv_file}:6: 'fax' is not a reception option" in imported.stderr
    missing = run(cli_env, "subscriber", "import", NEWS, str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr

    listing = run(cli_env, "subscriber", "list", NEWS)
    assert listing.stdout == ("ben@example.org digest\ncat@example.org nomail\n"
                              "dan@example.org summary\n")
    session.expire_all()
    assert session.scalars(select(Subscriber.email).order_by(Subscriber.email)).all() == \
        ["ben@example.org", "cat@example.org", "dan@example.org"]


def test_a_closed_list_refuses_posts_until_reopened(cli_env, session, news):
    post = (b"From: ann@example.org\r\nTo: news@lists.example.org\r\nSubject: hi\r\n"
            b"Message-ID: <closed-test@example.org>\r\n\r\nHello\r\n")

    def hand_off():  # noqa: ANN202
        return subprocess.run(["listtrack-ingest", "post", NEWS], input=post,
                              capture_output=True, env=cli_env, timeout=120)

    assert run(cli_env, "list", "close", NEWS).returncode == 0
    refused = hand_off()
    assert refused.returncode == 67, refused.stderr  # EX_NOUSER, as for an unknown list
    assert run(cli_env, "list", "reopen", NEWS).returncode == 0
    accepted = hand_off()
    assert accepted.returncode == 0, accepted.stderr
