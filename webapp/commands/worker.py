"""`listtrack worker`: drain the queues (posts to distribute, copies to send, reports)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from ingest.worker import run_worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is waiting now, then exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between idle passes.")
@with_appcontext
def worker(once: bool, poll: float) -> None:
    """Distribute posts, send copies and process reports, until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    totals = run_worker(current_app.config["SITE"], once=once, poll_seconds=poll)
    if once:
        click.echo(", ".join(f"{name}: {count}" for name, count in totals.items()))
