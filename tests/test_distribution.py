"""Distribution of spooled posts: archived exactly, tracking decided per message, one
delivery per subscriber, and nothing doubled or lost when a pass is repeated."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from ingest import spool
from ingest.distribution import BATCH, HELD, process_spooled_posts, without_mbox_line
from ingest.tracking_decision import (
    TrackingDecision,
    decide_tracking,
    plan_deliveries,
    uses_verp,
)
from listtrack.database import make_engine, make_session_factory
from listtrack.models import Delivery, Message
from listtrack.settings import TrackingSettings
from tests.distribution_fixtures import LIST, deliveries, make_list, post_bytes, spool_post


def settings(dsn: str = "off", mdn: str = "off", verp_rate: str = "0%") -> TrackingSettings:
    return TrackingSettings(delivery_status_notification=dsn,
                            message_disposition_notification=mdn, tracking_visibility="owner",
                            retention_period=90, verp_rate=verp_rate)


@pytest.mark.parametrize(("dsn", "mdn", "asks", "expected"), [
    ("on", "off", False, (True, False)),
    ("on", "on", False, (True, True)),
    ("off", "on", False, (False, True)),
    ("on", "on_demand", False, (True, False)),
    ("on", "on_demand", True, (True, True)),
    ("off", "on_demand", True, (False, True)),
    ("off", "off", True, (False, False)),
])
def test_tracking_decision(dsn, mdn, asks, expected):
    decision = decide_tracking(settings(dsn, mdn), post_asks_receipt=asks)
    assert (decision.dsn, decision.mdn) == expected
    assert decision.tracked == any(expected)


def test_plan_registers_every_subscriber_and_sends_only_mail_copies():
    planned = plan_deliveries(
        [("a@x.org", "mail"), ("b@x.org", "digest"), ("c@x.org", "nomail"),
         ("me@x.org", "not_me"), ("d@x.org", "not_me"), ("e@x.org", "summary")],
        authors=["ME@x.org", None])
    assert [(p.recipient, p.status, p.send_state) for p in planned] == [
        ("a@x.org", "waiting", "pending"), ("b@x.org", "digest", "skipped"),
        ("c@x.org", "nomail", "skipped"), ("me@x.org", "not_me", "skipped"),
        ("d@x.org", "waiting", "pending"), ("e@x.org", "summary", "skipped")]


def test_verp_share_is_stable_and_tracking_forces_it():
    untracked, tracked = TrackingDecision(False, False), TrackingDecision(True, False)
    assert all(uses_verp(tracked, "0%", number) for number in range(1, 200))
    assert not any(uses_verp(untracked, "0%", number) for number in range(1, 200))
    share = sum(uses_verp(untracked, "20%", number) for number in range(1, 5001)) / 5000
    assert 0.17 < share < 0.23
    assert [uses_verp(untracked, "50%", n) for n in range(1, 50)] == \
        [uses_verp(untracked, "50%", n) for n in range(1, 50)]


def test_mbox_line_from_the_pipe_is_not_part_of_the_message():
    assert without_mbox_line(b"From a@b  Thu Dec  4 15:26:01 2025\nSubject: x\n\nb\n") == \
        b"Subject: x\n\nb\n"
    assert without_mbox_line(b"From: a@b\n\nb\n") == b"From: a@b\n\nb\n"


def drain(site) -> int:  # noqa: ANN001
    engine = make_engine(site.db_url)
    try:
        return process_spooled_posts(site, make_session_factory(engine))
    finally:
        engine.dispose()


@pytest.mark.all_databases
def test_a_post_is_archived_and_registered_once(session, site):
    readers = [(f"r{number:03d}@example.net", "mail") for number in range(150)]
    make_list(session, dsn="on", mdn="on_demand",
              subscribers=[*readers, ("d@example.net", "digest")])
    raw = post_bytes(receipt_to="author@example.org")
    name = spool_post(site, raw)
    copy = site.spool_path / "copy-of-post"
    shutil.copy(site.spool_path / spool.POSTS / "new" / name, copy)
    assert drain(site) == 1
    assert list(spool.pending(site.spool_path, spool.POSTS)) == []

    (message,) = session.scalars(select(Message)).all()
    assert message.raw == raw and message.message_id == "<post-1@example.org>"
    assert (message.dsn_requested, message.mdn_requested) == (True, True)
    assert message.distribution == "sending"
    rows = deliveries(session)
    assert len(rows) == 151
    assert {(d.status, d.send_state) for d in rows if d.reception == "mail"} == \
        {("waiting", "pending")}
    assert all(d.next_attempt_at is not None for d in rows if d.send_state == "pending")

    # The same post handed over again (or a pass repeated after a crash): nothing doubles.
    shutil.copy(copy, site.spool_path / spool.POSTS / "new" / name)
    assert drain(site) == 1
    assert session.scalar(select(func.count()).select_from(Message)) == 1
    assert session.scalar(select(func.count()).select_from(Delivery)) == 151


@pytest.mark.all_databases
def test_a_post_without_message_id_gets_one_recorded_and_kept_on_repeat(session, site):
    make_list(session)
    raw = post_bytes(message_id=None)
    name = spool_post(site, raw)
    copy = site.spool_path / "copy-of-post"
    shutil.copy(site.spool_path / spool.POSTS / "new" / name, copy)
    drain(site)
    shutil.copy(copy, site.spool_path / spool.POSTS / "new" / name)
    drain(site)
    (message,) = session.scalars(select(Message)).all()
    assert message.message_id == f"<listtrack.{name}@lists.example.org>"
    assert message.raw == raw  # archived as received; the copies carry the new Message-ID
    assert len(deliveries(session, message.message_id)) == 1


@pytest.mark.all_databases
def test_the_tracking_decision_uses_the_site_default_when_the_list_has_none(session, site):
    make_list(session, dsn=None, mdn=None)
    spool_post(site, post_bytes(message_id="<a@x>"))
    tracking_site = type(site)(values={**site.values,
                                       "tracking_delivery_status_notification": "on",
                                       "tracking_message_disposition_notification": "on"},
                               sources=site.sources, path=site.path, instance=site.instance)
    drain(tracking_site)
    message = session.scalar(select(Message))
    assert (message.dsn_requested, message.mdn_requested) == (True, True)


@pytest.mark.all_databases
def test_a_post_for_a_list_gone_since_the_hand_off_is_held_not_lost(session, site):
    mailing_list = make_list(session)
    name = spool_post(site, post_bytes())
    mailing_list.closed = True
    session.commit()
    assert drain(site) == 1
    held = site.spool_path / spool.POSTS / HELD
    assert (held / name).read_bytes().endswith(post_bytes())
    assert LIST in (held / f"{name}.reason").read_text()
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_posts_are_taken_in_batches(session, site):
    make_list(session)
    for number in range(BATCH + 3):
        spool_post(site, post_bytes(message_id=f"<m{number}@example.org>"))
    assert drain(site) == BATCH
    assert drain(site) == 3
    assert drain(site) == 0
    assert session.scalar(select(func.count()).select_from(Message)) == BATCH + 3
