"""`listtrack purge`: remove tracking records older than each list's retention period."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from listtrack.retention import purge_expired_tracking
from webapp.extensions import db


@click.command("purge")
@with_appcontext
def purge() -> None:
    """Delete expired deliveries, notifications and evidence (archived messages stay)."""
    from sqlalchemy.orm import sessionmaker

    session_factory = sessionmaker(db.engine, expire_on_commit=False)
    results = purge_expired_tracking(session_factory, current_app.config["SITE"])
    for counts in results:
        if counts.scope == "quarantine":
            click.echo(f"quarantine: {counts.quarantined} report(s) removed "
                       f"(older than {counts.retention_days} days)")
            continue
        if not counts.removed_anything:
            click.echo(f"{counts.scope}: nothing older than {counts.retention_days} days")
            continue
        click.echo(f"{counts.scope}: {counts.messages} message(s), {counts.deliveries} "
                   f"deliveries, {counts.notifications} notifications, {counts.reports} "
                   f"reports removed (older than {counts.retention_days} days)")
