"""`listtrack report parse` and `listtrack quarantine list|show|retry`.

`report parse` reads files only (no database): the tool a listmaster uses to see what the
parser makes of a report. The quarantine commands show what could not be filed, and why,
and file it again once it can be (the delivery restored, the parser improved).
"""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from ingest.quarantine import REASONS, count_by_reason, get_quarantined, list_quarantined
from ingest.report_envelope import split_mta_prefix
from ingest.report_processing import retry_quarantined
from ingest.reports import parse_report, report_as_json
from webapp.extensions import db


@click.group("report", help="Read incoming reports (DSN, MDN, feedback, auto-replies).")
def report() -> None:
    """No app context: these commands never touch the database."""


@report.command("parse")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def parse(files: tuple[str, ...]) -> None:
    """Print one JSON line per FILE: file, kind, recipients (address, action, status...)."""
    failed = False
    for name in files:
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except OSError as error:
            click.echo(f"listtrack: {name}: {error.strerror or error}", err=True)
            failed = True
            continue
        _prefix, raw = split_mta_prefix(data)  # as the worker reads it
        line = json.dumps(report_as_json(parse_report(raw), name), ensure_ascii=False)
        click.echo(line)
    if failed:
        sys.exit(1)


quarantine = AppGroup("quarantine", help="Reports that could not be filed, and why.")


@quarantine.command("list")
@click.option("--reason", type=click.Choice(sorted(REASONS)), help="Only this reason.")
@click.option("--limit", default=100, show_default=True, help="At most this many, newest first.")
def list_command(reason: str | None, limit: int) -> None:
    """List quarantined reports: id, when received, reason, envelope recipient, detail."""
    counts = count_by_reason(db.session)
    if not counts:
        click.echo("the quarantine is empty")
        return
    click.echo(f"{sum(counts.values())} report(s) in quarantine: "
               + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))
    for entry in list_quarantined(db.session, reason=reason, limit=limit):
        when = entry.received_at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{entry.id}\t{when}\t{entry.reason}\t{entry.envelope_recipient or '-'}"
                   f"\t{entry.detail}")


@quarantine.command("show")
@click.argument("entry_id", metavar="ID", type=int)
@click.option("--with-prefix", is_flag=True,
              help="Also print the lines our own MTA added in front (From line, Delivered-To).")
def show(entry_id: int, with_prefix: bool) -> None:
    """Write the quarantined report's exact bytes to stdout."""
    entry = get_quarantined(db.session, entry_id)
    if entry is None:
        raise click.ClickException(f"no quarantined report {entry_id} "
                                   "(see 'listtrack quarantine list')")
    out = click.get_binary_stream("stdout")
    if with_prefix and entry.mta_prefix:
        out.write(entry.mta_prefix)
    out.write(entry.raw)
    out.flush()


@quarantine.command("retry")
@click.argument("entry_ids", metavar="[ID]...", nargs=-1, type=int)
def retry(entry_ids: tuple[int, ...]) -> None:
    """Try to file quarantined reports again (all of them when no ID is given)."""
    if entry_ids:
        missing = [i for i in entry_ids if get_quarantined(db.session, i) is None]
        if missing:
            raise click.ClickException(
                f"no quarantined report {', '.join(map(str, missing))}")
    outcome = retry_quarantined(current_app.config["SITE"], db.session,
                                list(entry_ids) if entry_ids else None)
    click.echo(f"filed {len(outcome.filed)}, still quarantined {len(outcome.still)}")
    for entry_id, reason, detail in outcome.still:
        click.echo(f"{entry_id}\t{reason}\t{detail}")
