"""`listtrack demo`: a first account and a demo list, so a newcomer can sign in at once."""

from __future__ import annotations

import os
import secrets

import click
from flask import current_app
from flask.cli import with_appcontext

from listtrack.accounts import create_user, find_user
from listtrack.lists import add_subscribers, create_list, find_list
from webapp.extensions import db

DEMO_LISTMASTER = "listmaster@localhost"
DEMO_LIST = "demo@localhost"
PASSWORD_FILE = "demo-password"


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo listmaster and list once; print how to sign in."""
    site = current_app.config["SITE"]
    password_file = site.instance / PASSWORD_FILE
    if find_user(db.session, DEMO_LISTMASTER) is None:
        password = secrets.token_urlsafe(9)
        create_user(db.session, DEMO_LISTMASTER, password, listmaster=True)
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
    if find_list(db.session, DEMO_LIST) is None:
        demo_list = create_list(db.session, DEMO_LIST, [DEMO_LISTMASTER],
                                subject="Demonstration list", delivery_status_notification="on",
                                message_disposition_notification="on_demand")
        add_subscribers(db.session, demo_list,
                        [f"reader{number:03d}@example.org" for number in range(1, 301)])
    db.session.commit()
    if password_file.exists():
        password = password_file.read_text(encoding="utf-8").strip()
        click.echo(f"Sign in at http://127.0.0.1:5000/login as {DEMO_LISTMASTER} "
                   f"with the password {password}")
    else:
        click.echo(f"Sign in at http://127.0.0.1:5000/login as {DEMO_LISTMASTER}")
