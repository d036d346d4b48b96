"""The `listtrack` admin CLI: Flask's own commands (run, db, shell) plus listtrack's."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup

from listtrack.config import ConfigError, load_site_config
from listtrack.database import DatabaseUnavailable, check_database
from webapp import create_app
from webapp.commands import accounts, demo, lists, worker
from webapp.commands import archive as archive_commands
from webapp.commands import purge as purge_command
from webapp.commands import reports as report_commands
from webapp.commands import tracking as tracking_commands

EX_CONFIG = 78
NO_DATABASE_COMMANDS = {"db", "--help", "-h", "--version", "shell", "routes", "report"}

cli = FlaskGroup(create_app=create_app, help="listtrack: mailing-list archive with tracking.")
cli.add_command(accounts.user)
cli.add_command(lists.mailing_list)
cli.add_command(lists.subscriber)
cli.add_command(demo.demo)
cli.add_command(worker.worker)
cli.add_command(archive_commands.import_mbox)
cli.add_command(purge_command.purge)
cli.add_command(report_commands.report)
cli.add_command(report_commands.quarantine)
cli.add_command(tracking_commands.tracking)


def main() -> None:
    """Entry point: configuration and database problems end in one line, not a traceback."""
    arguments = sys.argv[1:]
    os.umask(0o027)  # the database, spool and evidence are not for other local users
    try:
        site = load_site_config()
        first = next((a for a in arguments if not a.startswith("-")), None)
        if arguments and first not in NO_DATABASE_COMMANDS and "--help" not in arguments:
            check_database(site.db_url)
    except ConfigError as error:
        click.echo(f"listtrack: {error}", err=True)
        sys.exit(EX_CONFIG)
    except DatabaseUnavailable as error:
        click.echo(f"listtrack: {error}", err=True)
        sys.exit(1)
    cli.main(args=arguments, prog_name="listtrack")
