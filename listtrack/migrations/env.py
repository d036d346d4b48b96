"""Alembic environment: used by `listtrack db ...` (Flask-Migrate) and by `listtrack.schema`."""

from alembic import context
from sqlalchemy import Connection

from listtrack.database import make_engine
from listtrack.models import Base

config = context.config
if config.config_file_name:  # `listtrack db ...`: say what is being done
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _engine():
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return make_engine(url)
    from flask import current_app  # under `listtrack db ...` only

    return current_app.extensions["migrate"].db.engine


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = _engine()
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run them against a database")
run()
