"""`listtrack demo`: a demo listmaster, a list with a few hundred subscribers, an archive, and
tracked messages whose every status came through the real pipeline.

Posts go through `listtrack-ingest post`, the worker sends the copies to the loopback test
MTA, which answers like the rest of the Internet (DSNs, MDNs, refusals, delays) through
`listtrack-ingest report`; nothing here writes a tracking row itself.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from listtrack.accounts import create_user, find_user
from listtrack.archive import archive_message
from listtrack.config import SiteConfig
from listtrack.lists import add_subscribers, create_list, find_list
from webapp.extensions import db

DEMO_LISTMASTER = "listmaster@localhost"
PASSWORD_FILE = "demo-password"
FIRST_NAMES = ("ada", "ben", "chloe", "dimitri", "emma", "farid", "greta", "hugo", "ines",
               "jonas", "kim", "lena", "mateo", "nora", "olga", "paul", "quentin", "rosa",
               "sami", "tess")
LAST_NAMES = ("martin", "bernard", "dubois", "moreau", "laurent", "simon", "michel", "garcia",
              "david", "bertrand", "roux", "vincent", "fournier", "morel", "girard")
DOMAINS = ("example.org", "example.net", "example.com", "mail.example.org")

HISTORY = (
    ("Welcome to the board list", None, 118),
    ("Agenda for the spring assembly", None, 95),
    ("Re: Agenda for the spring assembly", "Agenda for the spring assembly", 94),
    ("Re: Agenda for the spring assembly", "Agenda for the spring assembly", 93),
    ("Budget draft 2026", None, 70),
    ("Re: Budget draft 2026", "Budget draft 2026", 69),
    ("Volunteers for the open day", None, 45),
    ("Re: Volunteers for the open day", "Volunteers for the open day", 44),
    ("Minutes of the March meeting", None, 30),
)
TRACKED_POSTS = (
    ("Notice of the annual general meeting", True),
    ("Change of bank details for membership fees", False),
    ("Election results", True),
    ("Office closed on Friday", False),
)


def demo_subscribers(count: int = 300) -> list[str]:
    """Stable, realistic-looking addresses (all on reserved example domains)."""
    addresses = []
    for number in range(count):
        first = FIRST_NAMES[number % len(FIRST_NAMES)]
        last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
        domain = DOMAINS[number % len(DOMAINS)]
        addresses.append(f"{first}.{last}@{domain}")
    return addresses


def _mail(sender: str, list_address: str, subject: str, message_id: str, date: datetime,
          body: str, in_reply_to: str | None = None, receipt: bool = False) -> bytes:
    lines = [f"From: Demo Listmaster <{sender}>", f"To: {list_address}",
             f"Subject: {subject}", f"Message-ID: {message_id}",
             f"Date: {format_datetime(date)}", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8"]
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    if receipt:
        lines.append(f"Disposition-Notification-To: {sender}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def _ensure_listmaster(site: SiteConfig) -> Path:
    password_file = site.instance / PASSWORD_FILE
    if find_user(db.session, DEMO_LISTMASTER) is None:
        password = secrets.token_urlsafe(9)
        create_user(db.session, DEMO_LISTMASTER, password, listmaster=True)
        site.instance.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        db.session.commit()
    return password_file


def _archive_history(list_address: str) -> None:
    """Older, untracked discussion so the archive has months and threads to browse."""
    mailing_list = find_list(db.session, list_address)
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    for number, (subject, parent, days_ago) in enumerate(HISTORY):
        message_id = f"<demo-history-{number}@example.org>"
        ids.setdefault(subject, message_id)
        raw = _mail(f"{FIRST_NAMES[number]}.{LAST_NAMES[number]}@example.org", list_address,
                    subject, message_id, now - timedelta(days=days_ago),
                    f"Hello all,\n\n{subject}: see below.\n\n-- \n{FIRST_NAMES[number]}\n",
                    in_reply_to=ids.get(parent) if parent else None)
        archive_message(db.session, mailing_list, raw)
    db.session.commit()


def _run_pipeline(site: SiteConfig, list_address: str) -> None:
    """Post through the hand-off, send to the loopback MTA, file its reports; until quiet."""
    from ingest.testmta import LoopbackMTA, demo_rule, handoff_command
    from ingest.worker import run_worker

    scripts = Path(sys.executable).parent
    env = {**os.environ, "LISTTRACK_INSTANCE": str(site.instance),
           "LISTTRACK_DB_URL": site.db_url}
    if site.path is not None and site.path.exists():
        env["LISTTRACK_CONFIG"] = str(site.path)
    deliver = handoff_command([str(scripts / "listtrack-ingest"), "report", "--recipient",
                               "{recipient}"], extra_env=env)
    with LoopbackMTA(behaviour=demo_rule(later=1.0), deliver_report=deliver,
                     handoff_concurrency=8) as mta:
        demo_site = site.with_values(smtp_host="127.0.0.1", smtp_port=mta.port)
        now = datetime.now(UTC)
        for number, (subject, receipt) in enumerate(TRACKED_POSTS):
            raw = _mail(DEMO_LISTMASTER, list_address, subject,
                        f"<demo-tracked-{number}@example.org>",
                        now - timedelta(hours=len(TRACKED_POSTS) - number),
                        f"Dear members,\n\n{subject}.\n\nThe board\n", receipt=receipt)
            posted = subprocess.run([str(scripts / "listtrack-ingest"), "post", list_address],
                                    input=raw, env=env, capture_output=True, check=False)
            if posted.returncode != 0:
                raise click.ClickException(
                    f"the post hand-off refused the demo post: {posted.stderr.decode().strip()}")
        click.echo(f"posted {len(TRACKED_POSTS)} tracked messages; the loopback MTA on port "
                   f"{mta.port} answers with DSNs and MDNs ...")
        deadline = time.monotonic() + 300
        quiet_passes = 0
        filed = 0
        while time.monotonic() < deadline and quiet_passes < 2:
            totals = run_worker(demo_site, once=True)
            filed += totals.get("reports", 0)
            click.echo(f"  copies sent: {len(mta.transactions)}, reports written by the MTA: "
                       f"{len(mta.report_log)}, filed: {filed}")
            idle = mta.wait_idle(5)
            quiet_passes = quiet_passes + 1 if idle and not any(totals.values()) else 0
        if mta.report_failures:
            click.echo(f"warning: {len(mta.report_failures)} report hand-off(s) failed",
                       err=True)
        click.echo(f"the loopback MTA took {len(mta.transactions)} transactions and sent "
                   f"{len(mta.report_log)} reports")


@click.command("demo")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the web app will be reached, for the sign-in line.")
@with_appcontext
def demo(url: str) -> None:
    """Fill an empty site with a demo list, archive and tracking; print how to sign in."""
    site: SiteConfig = current_app.config["SITE"]
    password_file = _ensure_listmaster(site)
    list_address = f"demo@{site.domain}"
    if find_list(db.session, list_address) is None:
        demo_list = create_list(
            db.session, list_address, [DEMO_LISTMASTER], subject="Demonstration list",
            delivery_status_notification="on", message_disposition_notification="on_demand",
            send_policy="public")
        addresses = demo_subscribers()
        add_subscribers(db.session, demo_list, addresses[:288])
        add_subscribers(db.session, demo_list, addresses[288:294], reception="digest")
        add_subscribers(db.session, demo_list, addresses[294:], reception="nomail")
        db.session.commit()
        _archive_history(list_address)
        click.echo(f"created {list_address} with {len(addresses)} subscribers")
        _run_pipeline(site, list_address)
    if password_file.exists():
        password = password_file.read_text(encoding="utf-8").strip()
        click.echo(f"Sign in at {url.rstrip('/')}/login as {DEMO_LISTMASTER} "
                   f"with the password {password}")
    else:
        click.echo(f"Sign in at {url.rstrip('/')}/login as {DEMO_LISTMASTER}")
