"""`listtrack tracking show LIST MESSAGE-ID [--json]`: every delivery of one message."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from listtrack.delivery_listing import UnknownList, UnknownMessage, delivery_lines, find_message
from webapp.extensions import db

tracking = AppGroup("tracking", help="Inspect what became of each copy a list sent.")

COLUMNS = ("recipient", "reception", "status", "code", "last notification", "diagnostic")


@tracking.command("show")
@click.argument("list_address", metavar="LIST")
@click.argument("message_id", metavar="MESSAGE-ID")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per delivery, one per line (JSON Lines).")
def show(list_address: str, message_id: str, as_json: bool) -> None:
    """Print every delivery of MESSAGE-ID sent by LIST."""
    try:
        message = find_message(db.session, list_address, message_id)
    except (UnknownList, UnknownMessage) as error:
        raise click.ClickException(str(error)) from None
    lines = delivery_lines(db.session, message)
    if as_json:
        for line in lines:
            click.echo(json.dumps(line.as_json(), ensure_ascii=False))
        return
    asked = [name for name, wanted in (("DSN", message.dsn_requested),
                                       ("MDN", message.mdn_requested)) if wanted]
    click.echo(f"{message.message_id}  {message.subject!r}  tracking: "
               f"{' + '.join(asked) or 'off'}"
               f"{'  (the MTA did not offer DSN)' if message.dsn_unavailable else ''}")
    click.echo("\t".join(COLUMNS))
    for line in lines:
        when = line.last_notification_at.strftime("%Y-%m-%d %H:%M:%S") \
            if line.last_notification_at else "-"
        click.echo("\t".join((line.recipient, line.reception, line.status,
                              line.status_code or "-", when, line.diagnostic or "-")))
