"""`listtrack import-mbox LIST FILE`: bring an existing archive (Mailman or Sympa) in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from listtrack.archive import archive_message
from listtrack.lists import UnknownList, get_list
from listtrack.mbox import (
    MBOX_FORMATS,
    NotAnMbox,
    read_archive_file,
    read_mbox,
    sympa_archive_files,
)
from webapp.extensions import db

BATCH = 200


@click.command("import-mbox")
@click.argument("list_address", metavar="LIST")
@click.argument("source", metavar="FILE",
                type=click.Path(exists=True, dir_okay=True, readable=True, path_type=Path))
@click.option("--format", "mbox_format", type=click.Choice(MBOX_FORMATS), default="mboxrd",
              show_default=True,
              help="mbox escaping: mboxrd undoes every >From level; mboxo only >From.")
@with_appcontext
def import_mbox(list_address: str, source: Path, mbox_format: str) -> None:
    """Import FILE (an mbox, or a Sympa archive folder of arctxt files) into LIST's archive.

    Messages already archived (same Message-ID) are skipped, so running it again is safe.
    """
    try:
        target = get_list(db.session, list_address)
    except UnknownList as error:
        raise click.ClickException(str(error)) from None
    tally = {"added": 0, "already": 0}
    received_at = datetime.now(UTC)

    def store(raw: bytes) -> None:
        result = archive_message(db.session, target, raw, received_at=received_at)
        tally["added" if result.created else "already"] += 1
        if sum(tally.values()) % BATCH == 0:
            db.session.commit()

    try:
        if source.is_dir():
            files = sympa_archive_files(source)
            if not files:
                raise click.ClickException(f"{source}: no archived message files found")
            with click.progressbar(files, label=f"Importing {len(files)} files") as bar:
                for path in bar:
                    store(read_archive_file(path))
        else:
            with source.open("rb") as handle, click.progressbar(
                    length=source.stat().st_size, label=f"Importing {source.name}") as bar:
                done = 0
                for found in read_mbox(handle, mbox_format):
                    store(found.raw)
                    bar.update(found.end_offset - done)
                    done = found.end_offset
        db.session.commit()
    except NotAnMbox as error:
        db.session.rollback()
        raise click.ClickException(f"{source}: {error}") from None
    except OSError as error:
        db.session.rollback()
        raise click.ClickException(f"{source}: {error.strerror or error}") from None
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise click.ClickException(
            f"stopped after {sum(tally.values())} message(s): {reason}; messages stored "
            "before the last batch are kept, run the import again to continue") from None
    total = tally["added"] + tally["already"]
    if total == 0:
        click.echo(f"no message found in {source}")
    elif tally["added"] == 0:
        click.echo(f"nothing new: all {total} message(s) were already in the archive of "
                   f"{target.address}")
    else:
        click.echo(f"imported {tally['added']} message(s) into {target.address}; "
                   f"{tally['already']} already in the archive")
