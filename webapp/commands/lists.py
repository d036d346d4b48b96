"""`listtrack list ...` and `listtrack subscriber ...`: lists, owners and subscribers."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from listtrack.accounts import InvalidAddress
from listtrack.config import MDN_VALUES, ON_OFF
from listtrack.lists import (
    ARCHIVE_VISIBILITIES,
    SEND_POLICIES,
    UnknownList,
    add_subscribers,
    create_list,
    get_list,
)
from listtrack.models import RECEPTION_OPTIONS
from webapp.extensions import db

mailing_list = AppGroup("list", help="Create and inspect mailing lists.")
subscriber = AppGroup("subscriber", help="Manage the subscribers of a list.")


@mailing_list.command("create")
@click.argument("address")
@click.option("--owner", "owners", multiple=True, required=True,
              help="Owner's e-mail address (repeat for several owners).")
@click.option("--subject", default="", help="One line saying what the list is about.")
@click.option("--dsn", type=click.Choice(ON_OFF),
              help="Ask for delivery status notifications (default: the site's setting).")
@click.option("--mdn", type=click.Choice(MDN_VALUES),
              help="Ask for read receipts (default: the site's setting).")
@click.option("--send-policy", type=click.Choice(SEND_POLICIES), default="subscribers",
              show_default=True, help="Who may post.")
@click.option("--archive", "archive_visibility", type=click.Choice(ARCHIVE_VISIBILITIES),
              default="private", show_default=True, help="Who may read the archive.")
def create(address: str, owners: tuple[str, ...], subject: str, dsn: str | None,
           mdn: str | None, send_policy: str, archive_visibility: str) -> None:
    """Create the list NAME@DOMAIN."""
    try:
        created = create_list(
            db.session, address, list(owners), subject=subject,
            delivery_status_notification=dsn, message_disposition_notification=mdn,
            send_policy=send_policy, archive_visibility=archive_visibility,
        )
    except (InvalidAddress, ValueError) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created list {created.address} (owners: "
               f"{', '.join(owner.email for owner in created.owners)})")


@subscriber.command("add")
@click.argument("list_address", metavar="LIST")
@click.argument("emails", nargs=-1, required=True)
@click.option("--reception", type=click.Choice(RECEPTION_OPTIONS), default="mail",
              show_default=True, help="Reception option of the new subscribers.")
def add(list_address: str, emails: tuple[str, ...], reception: str) -> None:
    """Subscribe one or more EMAILS to LIST."""
    try:
        target = get_list(db.session, list_address)
    except UnknownList as error:
        raise click.ClickException(str(error)) from None
    result = add_subscribers(db.session, target, list(emails), reception)
    db.session.commit()
    click.echo(f"added {len(result.added)} subscriber(s) to {target.address}")
    for address in result.already:
        click.echo(f"already subscribed: {address}")
    for problem in result.invalid:
        click.echo(f"skipped: {problem}", err=True)
    if result.invalid:
        raise SystemExit(1)
