"""`listtrack list ...` and `listtrack subscriber ...`: lists, owners, settings, subscribers.

The same functions as the admin pages do the work, so a value is checked the same way and a
change made here is logged too, by `cli:<unix user>`.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from listtrack.accounts import InvalidAddress
from listtrack.config import MDN_VALUES, ON_OFF
from listtrack.list_settings import (
    SETTING_GROUPS,
    ListSettingsInvalid,
    change_log,
    list_settings_state,
    update_list_settings,
)
from listtrack.lists import (
    ARCHIVE_VISIBILITIES,
    SEND_POLICIES,
    UnknownList,
    add_owner,
    create_list,
    get_list,
    owner_addresses,
    remove_owner,
    rename_list,
    set_closed,
    set_subject,
)
from listtrack.models import RECEPTION_OPTIONS, MailingList
from listtrack.subscribers import (
    NotSubscribed,
    add_subscribers,
    all_subscribers,
    import_subscribers_csv,
    remove_subscribers,
    set_reception,
    subscriber_counts,
)
from webapp.extensions import db

mailing_list = AppGroup("list", help="Create, inspect and change mailing lists.")
subscriber = AppGroup("subscriber", help="Manage the subscribers of a list.")
owner = AppGroup("owner", help="Add or remove the owners of a list.")
mailing_list.add_command(owner)


def cli_user() -> str:
    """Who made a change from the command line, for the change log."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no LOGNAME/USER
        name = str(os.getuid())
    return f"cli:{name}"


def load_list(address: str) -> MailingList:
    try:
        return get_list(db.session, address)
    except UnknownList as error:
        raise click.ClickException(str(error)) from None


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
            created_by=cli_user(),
        )
    except (InvalidAddress, ValueError) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created list {created.address} (owners: "
               f"{', '.join(owner.email for owner in created.owners)})")


@mailing_list.command("show")
@click.argument("address", metavar="LIST")
def show(address: str) -> None:
    """Show a list: owners, subscribers, every setting and where it comes from, recent changes."""
    target = load_list(address)
    count = subscriber_counts(db.session, [target.id]).get(target.id, 0)
    click.echo(f"list          {target.address}{' (closed)' if target.closed else ''}")
    click.echo(f"subject       {target.subject}")
    click.echo(f"owners        {', '.join(owner_addresses(db.session, target))}")
    click.echo(f"subscribers   {count}")
    states = {state.setting.name: state
              for state in list_settings_state(target, current_app.config["SITE"])}
    for group, names in SETTING_GROUPS.items():
        click.echo(f"\n{group}:")
        for name in names:
            state = states[name]
            origin = "site default" if state.inherited else "list"
            if not state.setting.inherits:
                origin = ""
            click.echo(f"  {name:34} {state.effective:12} {origin}".rstrip())
    changes = change_log(db.session, target, limit=10)
    if changes:
        click.echo("\nRecent changes:")
        for change in changes:
            click.echo(f"  {change.changed_at:%Y-%m-%d %H:%M:%S} UTC  {change.changed_by}  "
                       f"{change.setting}: {change.old_value or '-'} → "
                       f"{change.new_value or '-'}")


@mailing_list.command("set")
@click.argument("address", metavar="LIST")
@click.argument("key")
@click.argument("value")
def set_setting(address: str, key: str, value: str) -> None:
    """Set one setting of LIST; VALUE `default` follows the site's value."""
    target = load_list(address)
    try:
        changes = update_list_settings(db.session, target, {key: value}, cli_user())
    except ListSettingsInvalid as invalid:
        raise click.ClickException(str(invalid)) from None
    db.session.commit()
    if not changes:
        click.echo(f"{target.address}: {key} unchanged")
    for change in changes:
        click.echo(f"{target.address}: {change.setting} {change.old_value} → "
                   f"{change.new_value}")


@mailing_list.command("edit")
@click.argument("address", metavar="LIST")
@click.option("--subject", help="A new one-line subject.")
@click.option("--address", "new_address", metavar="NAME@DOMAIN",
              help="A new address (update the MTA aliases to match).")
def edit(address: str, subject: str | None, new_address: str | None) -> None:
    """Change the subject or the address of LIST; archive, tracking and members follow."""
    if subject is None and new_address is None:
        raise click.UsageError("give --subject or --address")
    target = load_list(address)
    try:
        if subject is not None and set_subject(db.session, target, subject, cli_user()):
            click.echo(f"{target.address}: subject set")
        if new_address is not None and rename_list(db.session, target, new_address,
                                                   cli_user()):
            click.echo(f"renamed {address} to {target.address}: update the MTA aliases")
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()


def _close_or_reopen(address: str, closed: bool) -> None:
    target = load_list(address)
    changed = set_closed(db.session, target, closed, cli_user())
    db.session.commit()
    state = "closed" if closed else "open"
    click.echo(f"{target.address} is {state}" if changed
               else f"{target.address} was already {state}")


@mailing_list.command("close")
@click.argument("address", metavar="LIST")
def close(address: str) -> None:
    """Close LIST: posts are refused, the home page hides it; everything is kept."""
    _close_or_reopen(address, closed=True)


@mailing_list.command("reopen")
@click.argument("address", metavar="LIST")
def reopen(address: str) -> None:
    """Reopen a closed LIST."""
    _close_or_reopen(address, closed=False)


@owner.command("add")
@click.argument("address", metavar="LIST")
@click.argument("email")
def owner_add(address: str, email: str) -> None:
    """Make EMAIL an owner of LIST."""
    target = load_list(address)
    try:
        added = add_owner(db.session, target, email, cli_user())
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{added} is now an owner of {target.address}")


@owner.command("remove")
@click.argument("address", metavar="LIST")
@click.argument("email")
def owner_remove(address: str, email: str) -> None:
    """Remove EMAIL from the owners of LIST (never the last owner)."""
    target = load_list(address)
    try:
        removed = remove_owner(db.session, target, email, cli_user())
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{removed} is no longer an owner of {target.address}")


@subscriber.command("add")
@click.argument("list_address", metavar="LIST")
@click.argument("emails", nargs=-1, required=True)
@click.option("--reception", type=click.Choice(RECEPTION_OPTIONS), default="mail",
              show_default=True, help="Reception option of the new subscribers.")
def add(list_address: str, emails: tuple[str, ...], reception: str) -> None:
    """Subscribe one or more EMAILS to LIST."""
    target = load_list(list_address)
    result = add_subscribers(db.session, target, list(emails), reception)
    db.session.commit()
    click.echo(f"added {len(result.added)} subscriber(s) to {target.address}")
    for address in result.already:
        click.echo(f"already subscribed: {address}")
    for problem in result.invalid:
        click.echo(f"skipped: {problem}", err=True)
    if result.invalid:
        raise SystemExit(1)


@subscriber.command("remove")
@click.argument("list_address", metavar="LIST")
@click.argument("emails", nargs=-1, required=True)
def remove(list_address: str, emails: tuple[str, ...]) -> None:
    """Unsubscribe one or more EMAILS from LIST."""
    target = load_list(list_address)
    result = remove_subscribers(db.session, target, list(emails))
    db.session.commit()
    click.echo(f"removed {len(result.removed)} subscriber(s) from {target.address}")
    for address in result.not_subscribed:
        click.echo(f"not subscribed: {address}")
    for problem in result.invalid:
        click.echo(f"skipped: {problem}", err=True)
    if result.invalid:
        raise SystemExit(1)


@subscriber.command("set")
@click.argument("list_address", metavar="LIST")
@click.argument("email")
@click.option("--reception", type=click.Choice(RECEPTION_OPTIONS), required=True,
              help="The new reception option.")
def set_subscriber(list_address: str, email: str, reception: str) -> None:
    """Change how EMAIL receives LIST."""
    target = load_list(list_address)
    try:
        changed = set_reception(db.session, target, email, reception)
    except (NotSubscribed, ValueError) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{changed.email} now receives {target.address} as: {changed.reception}")


@subscriber.command("import")
@click.argument("list_address", metavar="LIST")
@click.argument("csv_file", metavar="FILE.csv",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reception", type=click.Choice(RECEPTION_OPTIONS), default="mail",
              show_default=True, help="Reception option where a line names none.")
def import_csv(list_address: str, csv_file: Path, reception: str) -> None:
    """Subscribe the `email[,reception]` lines of FILE.csv; bad lines are listed, not fatal."""
    target = load_list(list_address)
    try:
        data = csv_file.read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {csv_file}: {error.strerror}") from None
    result = import_subscribers_csv(db.session, target, data, reception)
    db.session.commit()
    click.echo(f"added {len(result.added)} subscriber(s) to {target.address}")
    for address in result.already:
        click.echo(f"already subscribed: {address}")
    for problem in result.problems:
        click.echo(f"{csv_file}:{problem.line}: {problem.message}", err=True)
    if result.problems:
        raise SystemExit(1)


@subscriber.command("list")
@click.argument("list_address", metavar="LIST")
def list_subscribers(list_address: str) -> None:
    """Print the subscribers of LIST, one `address reception` per line."""
    target = load_list(list_address)
    for row in all_subscribers(db.session, target):
        click.echo(f"{row.email} {row.reception}")
