"""`listtrack-ingest post LIST@DOMAIN` as the MTA runs it: every exit code, through the real
console script, on each database (the look-up uses each one's own driver directly)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from ingest import spool
from tests.distribution_fixtures import LIST, make_list, post_bytes

pytestmark = pytest.mark.all_databases

OWNER = "owner@example.org"
READER = "reader@example.net"
STRANGER = "stranger@example.com"


def hand_off(env: dict, raw: bytes, address: str = LIST, sender: str | None = None,
             ) -> subprocess.CompletedProcess:
    run_env = dict(env)
    run_env.pop("SENDER", None)
    if sender is not None:
        run_env["SENDER"] = sender
    return subprocess.run(["listtrack-ingest", "post", address], input=raw, env=run_env,
                          capture_output=True, timeout=60)


def spooled(site) -> list[spool.SpooledMessage]:  # noqa: ANN001
    return [spool.read(path) for path in spool.pending(site.spool_path, spool.POSTS)]


def one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert text.count("\n") == 1 and "Traceback" not in text, text
    return text.strip()


def test_a_subscribers_post_is_stored_exactly_and_exits_0(session, site, cli_env):
    make_list(session)
    raw = post_bytes(author=READER) + b"\xff binary tail \x00\r\n"
    result = hand_off(cli_env, raw, sender="bounces@example.net")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    (stored,) = spooled(site)
    assert stored.raw == raw
    assert stored.envelope["list"] == LIST and stored.envelope["author"] == READER
    assert stored.envelope["sender"] == "bounces@example.net"
    assert stored.envelope["received"] > 0


@pytest.mark.parametrize(("policy", "author", "expected"), [
    ("public", STRANGER, 0),
    ("subscribers", READER, 0),
    ("subscribers", OWNER, 0),
    ("subscribers", STRANGER, 77),
    ("owners", OWNER, 0),
    ("owners", READER, 77),
])
def test_send_policy(session, site, cli_env, policy, author, expected):
    make_list(session, send_policy=policy, subscribers=[(READER, "mail")])
    result = hand_off(cli_env, post_bytes(author=author))
    assert result.returncode == expected, result.stderr
    if expected == 77:
        line = one_line(result.stderr)
        assert line.startswith(f"listtrack-ingest: post to {LIST} refused: only ")
        assert author in line
        assert spooled(site) == []
    else:
        assert len(spooled(site)) == 1


def test_the_envelope_sender_counts_when_there_is_no_from(session, site, cli_env):
    make_list(session, subscribers=[(READER, "mail")])
    raw = b"Subject: no From field\r\nMessage-ID: <x@example.net>\r\n\r\nbody\r\n"
    assert hand_off(cli_env, raw, sender=READER.upper()).returncode == 0
    refused = hand_off(cli_env, raw, sender=STRANGER)
    assert refused.returncode == 77 and STRANGER in one_line(refused.stderr)
    nobody = hand_off(cli_env, raw)
    assert nobody.returncode == 77 and "no sender address" in one_line(nobody.stderr)


def test_unknown_and_closed_lists_exit_67(session, site, cli_env):
    mailing_list = make_list(session)
    unknown = hand_off(cli_env, post_bytes(author=READER), address="nosuch@lists.example.org")
    assert unknown.returncode == 67
    assert one_line(unknown.stderr) == "listtrack-ingest: no list nosuch@lists.example.org"
    mailing_list.closed = True
    session.commit()
    closed = hand_off(cli_env, post_bytes(author=READER))
    assert closed.returncode == 67 and LIST in one_line(closed.stderr)
    assert spooled(site) == []


def test_an_unwritable_spool_exits_75(session, site, cli_env, write_config, instance):
    make_list(session)
    blocker = instance / "not-a-directory"
    blocker.write_text("a file where the spool should be\n")
    write_config(f"spool_dir {blocker}/spool")
    result = hand_off(cli_env, post_bytes(author=READER))
    assert result.returncode == 75
    assert one_line(result.stderr).startswith("listtrack-ingest: could not store the post in ")


def test_an_unreachable_database_exits_75(session, site, cli_env, backend, instance):
    make_list(session)
    if backend == "sqlite":
        broken = f"sqlite:///{instance}/missing/listtrack.db"
    else:
        broken = make_url(cli_env["LISTTRACK_DB_URL"]).set(port=1).render_as_string(False)
    result = hand_off({**cli_env, "LISTTRACK_DB_URL": broken}, post_bytes(author=READER))
    assert result.returncode == 75
    assert "database" in one_line(result.stderr)
    assert not (instance / "missing").exists()


def test_a_post_larger_than_max_post_size_is_refused(session, site, cli_env, write_config):
    make_list(session)
    write_config("max_post_size 2048")
    result = hand_off(cli_env, post_bytes(author=READER, body=b"x" * 4000 + b"\r\n"))
    assert result.returncode == 77
    assert "larger than 2048 bytes" in one_line(result.stderr)
    assert hand_off(cli_env, post_bytes(author=READER)).returncode == 0


def test_usage_errors_keep_the_mail_queued(cli_env):
    """A broken alias (no list named) answers 75: the MTA keeps the post until it is fixed."""
    result = subprocess.run(["listtrack-ingest", "post"], input=b"", env=cli_env,
                            capture_output=True, timeout=60)
    assert result.returncode == 75 and "usage" in one_line(result.stderr)


def test_the_hand_off_imports_neither_sqlalchemy_nor_flask(session, site, cli_env):
    make_list(session)
    probe = ("import sys; from ingest.handoff import main; code = main(['post', sys.argv[1]]); "
             "print(code, 'sqlalchemy' in sys.modules, 'flask' in sys.modules, "
             "'psycopg' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, LIST], input=post_bytes(author=READER),
                            env=cli_env, capture_output=True, text=False, timeout=60)
    assert result.stdout.decode().split() == ["0", "False", "False", "False"], result.stderr
    assert json.loads(spooled(site)[0].path.read_bytes().split(b"\n", 1)[0])["list"] == LIST


def test_a_copy_of_this_lists_own_mail_coming_back_is_refused_as_a_loop(session, site, cli_env):
    make_list(session, subscribers=[(READER, "mail")])
    looped = b'List-Id: "Board news" <news.lists.example.org>\r\n' + post_bytes(author=READER)
    result = hand_off(cli_env, looped)
    assert result.returncode == 77 and "mail loop" in one_line(result.stderr)
    other = b"List-Id: <other.lists.example.org>\r\n" + post_bytes(author=READER)
    assert hand_off(cli_env, other).returncode == 0
