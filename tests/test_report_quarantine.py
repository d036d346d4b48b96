"""The quarantine: every reason a report cannot be filed, forged tokens that change nothing,
and the listmaster's commands (`report parse`, `quarantine list/show/retry`)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from sqlalchemy import func, select

from ingest import spool
from ingest.verp import make_token
from listtrack.config import load_site_config
from listtrack.models import Delivery, Notification, QuarantinedReport, Report
from tests.conftest import BIN
from tests.report_fixtures import (
    TrackedMessage,
    file_spooled_reports,
    make_tracked_message,
    postfix_dsn,
    spool_report,
)

pytestmark = pytest.mark.all_databases

ALICE = "alice@example.net"


def quarantined(session) -> list[QuarantinedReport]:  # noqa: ANN001
    session.expire_all()
    return list(session.scalars(select(QuarantinedReport).order_by(QuarantinedReport.id)))


def verp(site, token: str) -> str:  # noqa: ANN001
    return f"{site.bounce_email_prefix}+{token}@{site.domain}"


def altered(token: str) -> str:
    """The same token with the last character of its signature changed."""
    return token[:-1] + ("a" if token[-1] != "a" else "b")


def human_reply(to: str) -> bytes:
    return (f"From: Bob <bob@example.org>\nTo: {to}\nSubject: Re: Board meeting notes\n"
            "Message-ID: <reply-1@example.org>\n\nThanks for the notes!\n").encode()


def test_each_reason_is_quarantined_with_the_bytes_kept(session, site):
    tracked = make_tracked_message(session, site, [ALICE])
    good = tracked.return_path(ALICE)
    unknown = verp(site, make_token(10**9, site.secret_key))
    cases = {
        "empty": (b"", []),
        "empty-after-our-lines": ("From MAILER-DAEMON  Thu Dec  4 10:00:00 2025\n"
                                  f"Delivered-To: {good}\n".encode(), []),
        "no_token": (postfix_dsn(tracked, ALICE, "failed", envid=False).replace(
            good.encode(), b"bounce@lists.example.org"), [["env:RECIPIENT",
                                                            "bounce@lists.example.org"]]),
        "unknown_delivery": (postfix_dsn(tracked, ALICE, "failed", envid=False).replace(
            good.encode(), unknown.encode()), [["env:RECIPIENT", unknown]]),
        "unrecognized": (human_reply(good), [["env:RECIPIENT", good]]),
        "broken_mime": (b"From: x@example.com\nSubject: notes\nMIME-Version: 1.0\n"
                        b"Content-Type: multipart/mixed; boundary=\"XYZ\"\n\nno boundary\n",
                        [["env:RECIPIENT", good]]),
        "bad_charset": (b"From: x@example.com\nSubject: notes\nMIME-Version: 1.0\n"
                        b"Content-Type: text/plain; charset=x-klingon\n\n\xe9\xe8\xff hello\n",
                        [["env:RECIPIENT", good]]),
    }
    names = {case: spool_report(site, raw, recipients=rcpts) for case, (raw, rcpts) in
             cases.items()}
    truncated = spool.store(site.spool_path, spool.REPORTS, {
        "received": time.time(), "recipients": [["env:RECIPIENT", good]], "truncated": True,
    }, postfix_dsn(tracked, ALICE, "failed")[:1024]).name
    assert file_spooled_reports(site) == len(cases) + 1
    entries = {entry.spool_name: entry for entry in quarantined(session)}
    for case, name in names.items():
        expected = "empty" if case.startswith("empty") else case
        entry = entries[name]
        assert entry.reason == expected, (case, entry.detail)
        assert entry.detail and "\n" not in entry.detail
        if case != "empty-after-our-lines":
            assert entry.raw == cases[case][0]
    assert entries[names["empty-after-our-lines"]].mta_prefix.startswith(b"From MAILER-DAEMON")
    assert entries[truncated].reason == "truncated" and entries[truncated].truncated
    assert "1024 bytes" in entries[truncated].detail
    assert "delivery 1000000000" in entries[names["unknown_delivery"]].detail
    assert session.get(Delivery, tracked.deliveries[ALICE]).status == "waiting"
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_forged_tokens_change_no_delivery(session, site):
    tracked = make_tracked_message(session, site, [ALICE, "bob@example.org"])
    alice_id, bob_id = tracked.deliveries[ALICE], tracked.deliveries["bob@example.org"]
    real = make_token(alice_id, site.secret_key)
    forgeries = {
        "altered-signature": altered(real),
        # bob's id with alice's signature: guessing the next delivery number
        "guessed-id": f"{make_token(bob_id, 'x' * 32).split('-')[0]}-{real.split('-')[1]}",
        "another-site": make_token(alice_id, "another site's secret, 32 chars+"),
    }
    for forged in forgeries.values():
        raw = postfix_dsn(tracked, ALICE, "failed", envid=False).replace(
            real.encode(), forged.encode())
        spool_report(site, raw.replace(b"Original-Envelope-Id", b"X-Original-Envelope-Id"),
                     recipients=[["env:ORIGINAL_RECIPIENT", verp(site, forged)]])
        # the same forgery carried only in the ENVID
        spool_report(site, postfix_dsn(tracked, ALICE, "failed").replace(
            real.encode(), forged.encode()))
    assert file_spooled_reports(site) == 2 * len(forgeries)
    entries = quarantined(session)
    assert [entry.reason for entry in entries] == ["bad_token"] * (2 * len(forgeries))
    assert all("signature" in entry.detail for entry in entries)
    session.expire_all()
    assert {d.status for d in session.scalars(select(Delivery))} == {"waiting"}
    assert session.scalar(select(func.count()).select_from(Notification)) == 0
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_quarantine_is_idempotent_per_spool_file(session, site, tmp_path):
    name = spool_report(site, human_reply("nobody@example.org"))
    kept = (site.spool_path / spool.REPORTS / "new" / name).read_bytes()
    assert file_spooled_reports(site) == 1
    (site.spool_path / spool.REPORTS / "new" / name).write_bytes(kept)  # crash before unlink
    assert file_spooled_reports(site) == 1
    assert len(quarantined(session)) == 1


def run(cli_env, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "listtrack"), *args], env=cli_env, input=stdin,
                          capture_output=True, timeout=120)


def test_listmaster_lists_shows_and_retries_the_quarantine(session, site, cli_env):
    tracked = make_tracked_message(session, site, ["someone@example.org"])
    missing_id = tracked.deliveries["someone@example.org"] + 1000
    token = make_token(missing_id, site.secret_key)
    raw = postfix_dsn(TrackedMessage(site, tracked.message_id, {ALICE: missing_id}), ALICE,
                      "failed")
    spool_report(site, raw, recipients=[["env:ORIGINAL_RECIPIENT", verp(site, token)]],
                 postfix_recipient=verp(site, token))
    spool_report(site, human_reply("nobody@example.org"))
    assert file_spooled_reports(site) == 2
    by_reason = {entry.reason: entry for entry in quarantined(session)}
    unknown, stray = by_reason["unknown_delivery"], by_reason["no_token"]

    listed = run(cli_env, "quarantine", "list")
    assert listed.returncode == 0, listed.stderr
    text = listed.stdout.decode()
    assert "2 report(s) in quarantine" in text
    assert f"{unknown.id}\t" in text and "unknown_delivery" in text and "no_token" in text

    shown = run(cli_env, "quarantine", "show", str(unknown.id))
    assert shown.returncode == 0 and shown.stdout == raw
    with_prefix = run(cli_env, "quarantine", "show", "--with-prefix", str(unknown.id))
    assert with_prefix.stdout.startswith(b"From MAILER-DAEMON") and with_prefix.stdout.endswith(raw)
    absent = run(cli_env, "quarantine", "show", "999999")
    assert absent.returncode == 1 and b"no quarantined report 999999" in absent.stderr
    assert b"Traceback" not in absent.stderr

    still = run(cli_env, "quarantine", "retry")
    assert still.returncode == 0 and b"filed 0, still quarantined 2" in still.stdout

    # the delivery appears (restored from a backup, say): a retry files the report
    session.add(Delivery(id=missing_id, message_id=tracked.message_id, recipient=ALICE))
    session.commit()
    retried = run(cli_env, "quarantine", "retry", str(unknown.id))
    assert retried.returncode == 0 and b"filed 1, still quarantined 0" in retried.stdout
    assert [entry.id for entry in quarantined(session)] == [stray.id]
    filed = session.get(Delivery, missing_id)
    assert filed.status == "failed"
    report = session.scalars(select(Report)).one()
    assert report.raw == raw and report.mta_prefix.startswith(b"From MAILER-DAEMON")


def test_report_parse_prints_json_lines_without_a_database(instance, tmp_path):
    site = load_site_config()
    tracked = TrackedMessage(site, message_id=1, deliveries={ALICE: 1})
    report = tmp_path / "bounce.eml"
    report.write_bytes(postfix_dsn(tracked, ALICE, "failed"))
    env = dict(os.environ, LISTTRACK_INSTANCE=str(instance),
               LISTTRACK_DB_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    done = run(env, "report", "parse", str(report), str(tmp_path / "missing.eml"))
    assert done.returncode == 1
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    parsed = json.loads(lines[0])
    assert parsed["file"] == str(report) and parsed["kind"] == "dsn"
    assert parsed["recipients"][0]["address"] == ALICE
    assert parsed["recipients"][0]["action"] == "failed"
    assert parsed["recipients"][0]["status"] == "5.1.1"
    assert "missing.eml" in done.stderr.decode() and b"Traceback" not in done.stderr
