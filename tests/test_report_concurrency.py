"""Nothing lost under load: 200 simultaneous hand-offs, a worker filing while reports keep
arriving, two workers at once, and a worker killed with SIGKILL in the middle of a batch.
Real processes throughout; waits have deadlines but nothing asserts on speed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, insert, select

from ingest import spool
from ingest.report_matching import examine, incoming_from_spool
from ingest.report_processing import _commit_spool_batch
from ingest.spool_claims import SpoolClaims, claim_batch
from listtrack.database import make_engine, make_session_factory
from listtrack.models import Delivery, Notification, Report
from tests.conftest import BIN
from tests.report_fixtures import make_tracked_message, postfix_dsn, spool_report


def recipients(count: int) -> list[str]:
    return [f"reader{number:05d}@example.net" for number in range(count)]


def start_hand_offs(reports: list[tuple[str, bytes]], env: dict[str, str]) -> list[int]:
    """Start every `listtrack-ingest report` first, then feed them all: truly simultaneous."""
    processes = [
        subprocess.Popen([str(BIN / "listtrack-ingest"), "report"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(env, ORIGINAL_RECIPIENT=return_path))
        for return_path, _raw in reports
    ]
    with ThreadPoolExecutor(max_workers=len(processes)) as pool:
        list(pool.map(lambda pair: pair[0].communicate(pair[1][1], timeout=300),
                      zip(processes, reports, strict=True)))
    return [process.returncode for process in processes]


def counts(session) -> tuple[int, int]:  # noqa: ANN001
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(Report)),
            session.scalar(select(func.count()).select_from(Notification)))


def spool_files_left(spool_dir: Path) -> list[Path]:
    """Report files anywhere in the reports queue (new, tmp, claimed), lock files aside."""
    return [p for p in (spool_dir / spool.REPORTS).rglob("*")
            if p.is_file() and p.name != ".lock"]


def wait_until(condition, deadline: float = 300.0) -> bool:  # noqa: ANN001
    limit = time.monotonic() + deadline
    while time.monotonic() < limit:
        if condition():
            return True
        time.sleep(0.05)
    return False


def worker_once(cli_env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "listtrack"), "worker", "--once"], env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def reports_handled(output: bytes) -> int:
    """The `reports: N` figure that `listtrack worker --once` prints."""
    totals = dict(part.split(": ") for part in output.decode().strip().split(", "))
    return int(totals["reports"])


def test_200_simultaneous_hand_offs_are_all_stored_then_filed(session, site, cli_env):
    readers = recipients(200)
    tracked = make_tracked_message(session, site, readers)
    reports = [(tracked.return_path(r), postfix_dsn(tracked, r, "failed")) for r in readers]
    codes = start_hand_offs(reports, cli_env)
    assert codes == [0] * 200
    assert len(list(spool.pending(site.spool_path, spool.REPORTS))) == 200
    worker = worker_once(cli_env)
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    assert reports_handled(out) == 200
    assert counts(session) == (200, 200)
    assert set(session.scalars(select(Delivery.status))) == {"failed"}


def test_the_worker_files_while_hand_offs_keep_arriving(session, site, cli_env):
    readers = recipients(200)
    tracked = make_tracked_message(session, site, readers)
    worker = subprocess.Popen([str(BIN / "listtrack"), "worker", "--poll", "0.05"],
                              env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for wave in range(4):  # four waves of 50 while the worker runs
            batch = readers[wave * 50:(wave + 1) * 50]
            reports = [(tracked.return_path(r), postfix_dsn(tracked, r, "delivered"))
                       for r in batch]
            assert start_hand_offs(reports, cli_env) == [0] * 50
        assert wait_until(lambda: counts(session) == (200, 200))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=60)
    assert worker.returncode == 0
    assert set(session.scalars(select(Delivery.status))) == {"delivered"}
    assert spool_files_left(site.spool_path) == []


def test_two_workers_at_once_never_file_a_report_twice(session, site, cli_env):
    readers = recipients(3000)
    tracked = make_tracked_message(session, site, readers)
    for reader in readers:
        spool_report(site, postfix_dsn(tracked, reader, "failed"),
                     recipients=[["env:ORIGINAL_RECIPIENT", tracked.return_path(reader)]])
    first, second = worker_once(cli_env), worker_once(cli_env)
    outputs = [worker.communicate(timeout=600) for worker in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    # a file handled by both would be counted by both (once filed, once as a duplicate)
    assert sum(reports_handled(out) for out, _err in outputs) == 3000
    assert counts(session) == (3000, 3000)
    assert spool_files_left(site.spool_path) == []


def test_claims_are_never_shared_and_only_a_dead_workers_come_back(site, tmp_path):
    for number in range(10):
        spool_report(site, f"Subject: {number}\n\nx\n".encode())
    busy = SpoolClaims(site.spool_path, spool.REPORTS)  # another worker, alive
    taken = [busy.claim(path) for path in spool.pending(site.spool_path, spool.REPORTS, 4)]
    mine = claim_batch(site.spool_path, spool.REPORTS, 100)
    assert len(mine) == 6 and not {p.name for p in mine} & {p.name for p in taken}
    assert busy.recover_abandoned() == 0  # our own claims are held by a live process


@pytest.mark.all_databases
def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(session, site, cli_env):
    readers = recipients(3000)
    tracked = make_tracked_message(session, site, readers)
    for reader in readers:
        spool_report(site, postfix_dsn(tracked, reader, "delayed"),
                     recipients=[["env:ORIGINAL_RECIPIENT", tracked.return_path(reader)]])
    worker = subprocess.Popen([str(BIN / "listtrack"), "worker"], env=cli_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    claimed_dir = site.spool_path / spool.REPORTS / "claimed"
    try:
        # kill it once a first batch is committed and the next one is claimed
        assert wait_until(lambda: counts(session)[0] > 0 and any(
            p.name != ".lock" for p in claimed_dir.rglob("*") if p.is_file()))
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=60)
    filed_before, _ = counts(session)
    abandoned = [p for p in claimed_dir.rglob("*") if p.is_file() and p.name != ".lock"]
    assert filed_before < 3000 and abandoned  # it really died with work in hand

    restarted = worker_once(cli_env)
    out, err = restarted.communicate(timeout=600)
    assert restarted.returncode == 0, err
    assert counts(session) == (3000, 3000)
    assert set(session.scalars(select(Delivery.status))) == {"delayed"}
    assert spool_files_left(site.spool_path) == []


@pytest.mark.all_databases
def test_a_unique_key_race_with_another_worker_is_settled_by_looking_again(session, site):
    """Another worker commits the same report between our look-up and our insert."""
    tracked = make_tracked_message(session, site, recipients(3))
    for reader in recipients(3):
        spool_report(site, postfix_dsn(tracked, reader, "failed"),
                     recipients=[["env:ORIGINAL_RECIPIENT", tracked.return_path(reader)]])
    paths = list(spool.pending(site.spool_path, spool.REPORTS))
    verdicts = [examine(incoming_from_spool(p), site.bounce_email_prefix, site.secret_key)
                for p in paths]
    engine = make_engine(site.db_url)
    factory = make_session_factory(engine)
    raced = []

    @event.listens_for(factory, "do_orm_execute")
    def other_worker_first(state) -> None:  # noqa: ANN001
        if state.is_insert and not raced:
            raced.append(verdicts[0].incoming.sha256)
            with engine.begin() as other:
                other.execute(insert(Report), {
                    "sha256": verdicts[0].incoming.sha256, "kind": "dsn",
                    "raw": verdicts[0].incoming.raw, "received_at": datetime.now(UTC)})

    try:
        result = _commit_spool_batch(factory, verdicts)
    finally:
        engine.dispose()
    assert raced and (result.filed, result.duplicates) == (2, 1)
    assert counts(session) == (3, 2)
