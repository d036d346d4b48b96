"""End to end through the real pieces: a post handed to `listtrack-ingest post`, the worker
sends the tracked copies to the loopback test MTA, which answers like the rest of the
Internet and pipes its DSNs and MDNs into `listtrack-ingest report` as Postfix local(8)
would; the worker files them and `listtrack tracking show` tells the owner what happened."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from sqlalchemy import select

from ingest.testmta import LoopbackMTA, handoff_command, local_part_rule
from listtrack.models import Delivery, Notification, Report
from tests.conftest import BIN

pytestmark = pytest.mark.all_databases

LIST = "board@lists.example.org"
SUBSCRIBERS = {
    "deliver-ann@example.net": ("delivered", "2.0.0"),
    "fail-bob@example.net": ("failed", "5.1.1"),
    "delay-carol@example.net": ("delivered", "2.0.0"),  # delayed first, then delivered
    "display-dave@example.net": ("displayed", None),
    "delete-erin@example.net": ("deleted", None),
}
DIGEST_READER = "digest-fay@example.net"
POST = (b"From: Owner <owner@example.org>\r\nTo: board@lists.example.org\r\n"
        b"Subject: Board meeting notes\r\nMessage-ID: <e2e-notes@example.org>\r\n"
        b"Date: Thu, 04 Dec 2025 10:00:00 +0000\r\n\r\nThe notes are below.\r\n")


def run(env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(args, env=env, input=stdin, capture_output=True, timeout=120)
    assert done.returncode == 0, (args, done.stderr.decode())
    return done.stdout.decode()


def tracking(env: dict[str, str]) -> dict[str, dict]:
    """`tracking show --json` by recipient; empty while the worker has not archived the post."""
    done = subprocess.run([str(BIN / "listtrack"), "tracking", "show", LIST,
                           "<e2e-notes@example.org>", "--json"],
                          env=env, capture_output=True, timeout=120)
    if done.returncode == 1 and b"has no message" in done.stderr:
        return {}
    assert done.returncode == 0, done.stderr.decode()
    return {row["recipient"]: row for row in map(json.loads, done.stdout.decode().splitlines())}


def finished(rows: dict[str, dict]) -> bool:
    return all(rows.get(address, {}).get("status") == status
               for address, (status, _code) in SUBSCRIBERS.items())


def test_post_to_reports_to_tracking_show(session, write_config, cli_env):
    with LoopbackMTA(behaviour=local_part_rule(later=0.3),
                     deliver_report=handoff_command(extra_env=cli_env)) as mta:
        write_config("domain lists.example.org", "smtp_host 127.0.0.1", f"smtp_port {mta.port}",
                     "tracking_delivery_status_notification on",
                     "tracking_message_disposition_notification on")
        listtrack = str(BIN / "listtrack")
        run(cli_env, listtrack, "list", "create", LIST, "--owner", "owner@example.org",
            "--send-policy", "public")
        run(cli_env, listtrack, "subscriber", "add", LIST, *SUBSCRIBERS)
        run(cli_env, listtrack, "subscriber", "add", LIST, DIGEST_READER, "--reception", "digest")
        run(cli_env, str(BIN / "listtrack-ingest"), "post", LIST, stdin=POST)

        worker = subprocess.Popen([listtrack, "worker", "--poll", "0.1"], env=cli_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            rows = tracking(cli_env)
            while not finished(rows) and time.monotonic() < deadline:
                time.sleep(0.2)
                rows = tracking(cli_env)
            assert mta.wait_idle(30) and not mta.report_failures
        finally:
            worker.send_signal(signal.SIGTERM)
            _out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()

    for address, (status, code) in SUBSCRIBERS.items():
        assert rows[address]["status"] == status, (address, rows[address])
        if code:
            assert rows[address]["status_code"] == code, rows[address]
    assert "User unknown" in rows["fail-bob@example.net"]["diagnostic"]
    assert rows[DIGEST_READER]["status"] == "digest"

    # the history behind each status, and every report stored exactly as the MTA wrote it
    session.expire_all()
    ids = dict(session.execute(select(Delivery.recipient, Delivery.id)).all())
    history = {address: session.scalars(
        select(Notification.action).where(Notification.delivery_id == ids[address])
        .order_by(Notification.received_at)).all() for address in SUBSCRIBERS}
    assert history["delay-carol@example.net"] == ["delayed", "delivered"]
    assert history["display-dave@example.net"] == ["delivered", "displayed"]
    assert history["delete-erin@example.net"] == ["delivered", "deleted"]
    stored = set(session.scalars(select(Report.raw)))
    assert stored == {sent.raw for sent in mta.report_log}
    assert len(stored) == 8  # ann 1, bob 1, carol 2, dave 2, erin 2
