"""Migrations build the schema on SQLite, PostgreSQL and MariaDB; models never drift from them."""

from __future__ import annotations

import subprocess

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from listtrack.database import make_engine
from listtrack.models import Base
from listtrack.schema import schema_is_current

pytestmark = pytest.mark.all_databases


def test_migrations_form_one_line(database_url):
    """One head: `listtrack db upgrade` (Flask-Migrate's plain `head`) must always work."""
    from alembic.script import ScriptDirectory

    from listtrack.schema import migration_config

    assert len(ScriptDirectory.from_config(migration_config()).get_heads()) == 1


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], "a model changed without a migration: run 'listtrack db migrate'"


def test_schema_has_the_tracking_indexes(database_url):
    engine = make_engine(database_url)
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"users", "lists", "list_owners", "subscribers", "messages", "deliveries",
            "reports", "notifications", "quarantine", "list_setting_changes"} <= tables
    indexes = {index["name"]: index["column_names"]
               for index in inspector.get_indexes("deliveries")}
    assert indexes["ix_deliveries_message_status_recipient"] == \
        ["message_id", "status", "recipient"]
    assert schema_is_current(engine)
    engine.dispose()


def test_db_upgrade_command_builds_an_empty_database(database_url, databases, cli_env, request):
    """`listtrack db upgrade` on a database of its own (the run's database is already built)."""
    backend = request.node.callspec.params["database_url"]
    if backend == "sqlite":
        target = f"sqlite:///{cli_env['LISTTRACK_INSTANCE']}/fresh.db"
    else:
        from tests.conftest import _create_server_database

        target, admin, name = _create_server_database(backend)
        databases.drops.append(lambda: _drop(admin, name, backend))
    cli_env["LISTTRACK_DB_URL"] = target
    result = subprocess.run(["listtrack", "db", "upgrade"], capture_output=True, text=True,
                            env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001" in result.stderr
    engine = make_engine(target)
    assert schema_is_current(engine)
    engine.dispose()
    again = subprocess.run(["listtrack", "db", "upgrade"], capture_output=True, text=True,
                           env=cli_env)
    assert again.returncode == 0 and "Running upgrade" not in again.stderr


def _drop(admin, name, backend):  # noqa: ANN001, ANN202
    from sqlalchemy import text

    quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
    admin.dispose()
