"""`listtrack-ingest report` as the MTA runs it: a real process reading stdin, storing the
report durably with every envelope recipient the MTA told it, and exiting 0 (75 only when
it could not store). No database, no Flask, no email parsing in this path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import spool
from tests.conftest import BIN

MTA_VARIABLES = ("ORIGINAL_RECIPIENT", "RECIPIENT", "LOCAL_PART", "LOCAL_PART_PREFIX",
                 "LOCAL_PART_SUFFIX", "DOMAIN", "SENDER")
REPORT = (b"From MAILER-DAEMON  Thu Dec  4 10:00:01 2025\n"
          b"Delivered-To: bounce+1-abcdefghijklmnopqrst@lists.example.org\n"
          b"From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n\nbody\n")


def hand_off(instance: Path, data: bytes, *args: str, **variables: str
             ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in MTA_VARIABLES}
    env.update(LISTTRACK_INSTANCE=str(instance), **variables)
    env.pop("LISTTRACK_CONFIG", None)
    return subprocess.run([str(BIN / "listtrack-ingest"), "report", *args], input=data,
                          env=env, capture_output=True, timeout=60)


def stored(instance: Path) -> list[spool.SpooledMessage]:
    return [spool.read(path) for path in spool.pending(instance / "spool", spool.REPORTS)]


def test_postfix_pipe_is_stored_with_its_envelope_recipients(instance):
    done = hand_off(instance, REPORT,
                    ORIGINAL_RECIPIENT="bounce+1-abcdefghijklmnopqrst@lists.example.org",
                    RECIPIENT="bounce+1-abcdefghijklmnopqrst@lists.example.org", SENDER="")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    (message,) = stored(instance)
    assert message.raw == REPORT  # every byte; what our MTA added is split off later
    assert message.envelope["recipients"] == [
        ["env:ORIGINAL_RECIPIENT", "bounce+1-abcdefghijklmnopqrst@lists.example.org"]]
    assert message.envelope["received"] > 0 and "truncated" not in message.envelope


def test_exim_pipe_gives_local_part_suffix_and_domain(instance):
    done = hand_off(instance, REPORT, LOCAL_PART="bounce",
                    LOCAL_PART_SUFFIX="+1-abcdefghijklmnopqrst", DOMAIN="lists.example.org")
    assert done.returncode == 0
    assert stored(instance)[0].envelope["recipients"] == [
        ["env:LOCAL_PART", "bounce+1-abcdefghijklmnopqrst@lists.example.org"]]


@pytest.mark.parametrize("args", [("--recipient", "bounce+x@lists.example.org"),
                                  ("--recipient=bounce+x@lists.example.org",)])
def test_recipient_option(instance, args):
    assert hand_off(instance, REPORT, *args).returncode == 0
    assert stored(instance)[0].envelope["recipients"] == [
        ["--recipient", "bounce+x@lists.example.org"]]


def test_without_any_recipient_the_headers_are_read_later(instance):
    assert hand_off(instance, REPORT).returncode == 0
    assert stored(instance)[0].envelope["recipients"] == []


def test_empty_input_is_stored_too(instance):
    assert hand_off(instance, b"").returncode == 0
    (message,) = stored(instance)
    assert message.raw == b""


def test_a_huge_report_keeps_its_head_and_is_flagged(instance, write_config):
    write_config("max_report_size 1024")
    data = REPORT + b"x" * 100_000
    done = hand_off(instance, data)
    assert done.returncode == 0, done.stderr
    (message,) = stored(instance)
    assert message.raw == data[:1024] and message.envelope["truncated"] is True


def test_exit_75_with_one_line_when_the_report_cannot_be_stored(instance, write_config):
    blocker = instance / "not-a-directory"
    blocker.write_text("a file where the spool should be")
    write_config(f"spool_dir {blocker}/spool")
    done = hand_off(instance, REPORT)
    assert done.returncode == 75
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("listtrack-ingest: could not store")


def test_a_wrong_command_line_defers_instead_of_bouncing(instance):
    done = hand_off(instance, REPORT, "--recipent", "x@y")
    assert done.returncode == 75
    assert done.stderr.decode().splitlines() == [
        "listtrack-ingest: unexpected argument '--recipent' "
        "(usage: listtrack-ingest report [--recipient ADDR])"]
    assert stored(instance) == []


def test_a_configuration_error_defers_with_the_file_and_line(instance, write_config):
    write_config("max_report_size lots")
    done = hand_off(instance, REPORT)
    assert done.returncode == 75
    assert b"listtrack.conf:1: bad value 'lots'" in done.stderr
    assert b"Traceback" not in done.stderr


def test_the_hand_off_loads_no_database_web_or_mail_parsing_code(instance):
    probe = (
        "import sys\n"
        "from ingest.handoff import main\n"
        "code = main(['report', '--recipient', 'bounce+x@lists.example.org'])\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'flask', 'email.parser', 'email.feedparser',"
        " 'ingest.reports') if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    env = dict(os.environ, LISTTRACK_INSTANCE=str(instance))
    done = subprocess.run([sys.executable, "-c", probe], input=REPORT, env=env,
                          capture_output=True, timeout=60)
    assert done.stdout.decode().split(maxsplit=1) == ["0", "[]\n"], done.stderr
    assert stored(instance)[0].envelope["recipients"] == [
        ["--recipient", "bounce+x@lists.example.org"]]
