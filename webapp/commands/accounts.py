"""`listtrack user ...`: site users and listmasters."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from listtrack.accounts import InvalidAddress, create_user
from webapp.extensions import db

user = AppGroup("user", help="Manage the users who sign in to the web archive.")


@user.command("add")
@click.argument("email")
@click.option("--listmaster", is_flag=True, help="Make the user a site administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add_user(email: str, listmaster: bool, password_stdin: bool) -> None:
    """Add a user who can sign in with EMAIL."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise click.UsageError("no terminal to ask for the password: use --password-stdin")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    try:
        new_user = create_user(db.session, email, password, listmaster=listmaster)
    except (InvalidAddress, ValueError) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    role = "listmaster" if listmaster else "user"
    click.echo(f"added {role} {new_user.email}")
