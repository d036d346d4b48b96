"""Engines and sessions without Flask, tuned for many concurrent writers on SQLite."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def engine_options(url: str) -> dict:
    """Options for `create_engine` (also handed to Flask-SQLAlchemy)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if backend in ("mysql", "mariadb"):
        # READ COMMITTED as on PostgreSQL: a long-lived worker session sees new rows.
        return {"pool_pre_ping": True, "pool_recycle": 3600, "isolation_level": "READ COMMITTED"}
    return {"pool_pre_ping": True}


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys on every SQLite connection."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, **engine_options(url))
    configure_sqlite(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or has no schema; the message is one line for a person."""


def check_database(url: str) -> None:
    """Connect once and check the schema is current; raise DatabaseUnavailable otherwise."""
    from sqlalchemy.exc import SQLAlchemyError

    from listtrack.config import safe_url
    from listtrack.schema import schema_is_current

    try:
        engine = make_engine(url)
    except ImportError as error:
        extra = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}.get(
            url.split(":", 1)[0].split("+", 1)[0])
        hint = f": pip install -e '.[{extra}]'" if extra else ""
        raise DatabaseUnavailable(
            f"the database driver for {safe_url(url)} is not installed ({error.name}){hint}"
        ) from None
    try:
        current = schema_is_current(engine)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot reach the database at {safe_url(url)}: {reason}"
        ) from None
    finally:
        engine.dispose()
    if not current:
        raise DatabaseUnavailable(
            f"the database at {safe_url(url)} is not up to date: run 'listtrack db upgrade'"
        )
