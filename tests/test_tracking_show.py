"""`listtrack tracking show LIST MESSAGE-ID [--json]` through the real console script."""

from __future__ import annotations

import json
import subprocess

import pytest

from ingest.testmta import LoopbackMTA, handoff_command
from tests.distribution_fixtures import (
    LIST,
    make_list,
    post_bytes,
    run_queues,
    site_for,
    spool_post,
)

pytestmark = pytest.mark.all_databases


def show(cli_env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["listtrack", "tracking", "show", *args], env=cli_env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def sent_message(session, site):  # noqa: ANN001, ANN201
    make_list(session, dsn="on", subscribers=[
        ("alice@example.net", "mail"), ("refuse-bob@example.net", "mail"),
        ("carol@example.net", "digest")])
    spool_post(site, post_bytes())
    with LoopbackMTA() as mta:
        run_queues(site_for(site, mta))


def test_json_lines_one_object_per_delivery(sent_message, cli_env):
    result = show(cli_env, LIST, "post-1@example.org", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["recipient"] for row in rows] == [
        "alice@example.net", "carol@example.net", "refuse-bob@example.net"]
    alice, carol, bob = rows
    assert set(alice) == {"recipient", "reception", "status", "status_code", "diagnostic",
                          "last_notification_at", "send_state"}
    assert (alice["status"], alice["send_state"], alice["last_notification_at"]) == \
        ("waiting", "sent", None)
    assert (carol["reception"], carol["status"], carol["send_state"]) == \
        ("digest", "digest", "skipped")
    assert (bob["status"], bob["status_code"], bob["send_state"]) == ("failed", "5.1.1", "refused")
    assert bob["diagnostic"].startswith("smtp; 550 5.1.1")
    assert bob["last_notification_at"].endswith("+00:00")


def test_table_for_people(sent_message, cli_env):
    result = show(cli_env, LIST, "<post-1@example.org>")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("<post-1@example.org>  'Board meeting'  tracking: DSN")
    assert lines[1].split("\t") == ["recipient", "reception", "status", "code",
                                    "last notification", "diagnostic"]
    bob = next(line for line in lines if line.startswith("refuse-bob@"))
    assert bob.split("\t")[1:4] == ["mail", "failed", "5.1.1"]


def test_unknown_list_or_message_is_one_clear_line(sent_message, cli_env):
    unknown_list = show(cli_env, "nosuch@lists.example.org", "post-1@example.org")
    assert unknown_list.returncode == 1
    assert unknown_list.stderr.strip() == "Error: no list nosuch@lists.example.org"
    unknown_message = show(cli_env, LIST, "nope@example.org", "--json")
    assert unknown_message.returncode == 1 and unknown_message.stdout == ""
    assert unknown_message.stderr.strip() == f"Error: {LIST} has no message <nope@example.org>"


def test_end_to_end_from_the_mta_to_tracking_show(session, site, cli_env, write_config):
    """Post through `listtrack-ingest post`, send with `listtrack worker`, the test MTA's
    DSNs and MDN back through `listtrack-ingest report`, and what `tracking show` says."""
    make_list(session, dsn="on", mdn="on", subscribers=[
        ("ann@example.net", "mail"), ("fail-bob@example.net", "mail"),
        ("display-carol@example.net", "mail"), ("refuse-dan@example.net", "mail"),
        ("delay-eve@example.net", "mail"), ("fred@example.net", "nomail")])
    with LoopbackMTA(deliver_report=handoff_command(extra_env=cli_env)) as mta:
        write_config("domain lists.example.org", "smtp_host 127.0.0.1", f"smtp_port {mta.port}")
        raw = post_bytes(author="owner@example.org")  # the list's owner may post
        posted = subprocess.run(["listtrack-ingest", "post", LIST], input=raw,
                                env=cli_env, capture_output=True, timeout=60)
        assert posted.returncode == 0, posted.stderr
        first = subprocess.run(["listtrack", "worker", "--once"], env=cli_env,
                               capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        assert mta.wait_idle(60) and mta.report_failures == []
        second = subprocess.run(["listtrack", "worker", "--once"], env=cli_env,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
    result = show(cli_env, LIST, "post-1@example.org", "--json")
    assert result.returncode == 0, result.stderr
    status = {row["recipient"]: (row["status"], row["status_code"])
              for row in map(json.loads, result.stdout.splitlines())}
    assert status == {
        "ann@example.net": ("delivered", "2.0.0"),
        "delay-eve@example.net": ("delivered", "2.0.0"),
        "display-carol@example.net": ("displayed", None),
        "fail-bob@example.net": ("failed", "5.1.1"),
        "fred@example.net": ("nomail", None),
        "refuse-dan@example.net": ("failed", "5.1.1"),
    }
