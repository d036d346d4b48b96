"""delivery status counts kept by triggers, for the tracking panel's summary

Revision ID: 0005
Revises: 0004

The panel shows counts per status for messages with 100,000 recipients; counting them on
every view costs as much as the rest of the page many times over. These triggers keep
one row per (message, status) up to date on every insert, status change and delete of a
delivery, whichever code (or person) makes it, and the existing deliveries are counted
once here.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER deliveries_status_count_insert AFTER INSERT ON deliveries
    BEGIN
        INSERT INTO delivery_status_counts (message_id, status, delivery_count)
        VALUES (NEW.message_id, NEW.status, 1)
        ON CONFLICT (message_id, status) DO UPDATE SET delivery_count = delivery_count + 1;
    END
    """,
    """
    CREATE TRIGGER deliveries_status_count_update AFTER UPDATE OF status, message_id
    ON deliveries
    WHEN OLD.status IS NOT NEW.status OR OLD.message_id IS NOT NEW.message_id
    BEGIN
        UPDATE delivery_status_counts SET delivery_count = delivery_count - 1
        WHERE message_id = OLD.message_id AND status = OLD.status;
        INSERT INTO delivery_status_counts (message_id, status, delivery_count)
        VALUES (NEW.message_id, NEW.status, 1)
        ON CONFLICT (message_id, status) DO UPDATE SET delivery_count = delivery_count + 1;
    END
    """,
    """
    CREATE TRIGGER deliveries_status_count_delete AFTER DELETE ON deliveries
    BEGIN
        UPDATE delivery_status_counts SET delivery_count = delivery_count - 1
        WHERE message_id = OLD.message_id AND status = OLD.status;
    END
    """,
    """
    CREATE TRIGGER messages_status_counts_delete AFTER DELETE ON messages
    BEGIN
        DELETE FROM delivery_status_counts WHERE message_id = OLD.id;
    END
    """,
)

POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION delivery_status_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE delivery_status_counts SET delivery_count = delivery_count - 1
            WHERE message_id = OLD.message_id AND status = OLD.status;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO delivery_status_counts AS counts (message_id, status, delivery_count)
            VALUES (NEW.message_id, NEW.status, 1)
            ON CONFLICT (message_id, status)
            DO UPDATE SET delivery_count = counts.delivery_count + 1;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION delivery_status_counts_forget() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM delivery_status_counts WHERE message_id = OLD.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER deliveries_status_count_insert AFTER INSERT ON deliveries
    FOR EACH ROW EXECUTE FUNCTION delivery_status_counts_follow()
    """,
    """
    CREATE TRIGGER deliveries_status_count_update AFTER UPDATE OF status, message_id
    ON deliveries FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.message_id IS DISTINCT FROM NEW.message_id)
    EXECUTE FUNCTION delivery_status_counts_follow()
    """,
    """
    CREATE TRIGGER deliveries_status_count_delete AFTER DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION delivery_status_counts_follow()
    """,
    """
    CREATE TRIGGER messages_status_counts_delete AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION delivery_status_counts_forget()
    """,
)

MARIADB_TRIGGERS = (
    """
    CREATE TRIGGER deliveries_status_count_insert AFTER INSERT ON deliveries FOR EACH ROW
        INSERT INTO delivery_status_counts (message_id, status, delivery_count)
        VALUES (NEW.message_id, NEW.status, 1)
        ON DUPLICATE KEY UPDATE delivery_count = delivery_count + 1
    """,
    """
    CREATE TRIGGER deliveries_status_count_update AFTER UPDATE ON deliveries FOR EACH ROW
    BEGIN
        IF NOT (OLD.status <=> NEW.status) OR NOT (OLD.message_id <=> NEW.message_id) THEN
            UPDATE delivery_status_counts SET delivery_count = delivery_count - 1
            WHERE message_id = OLD.message_id AND status = OLD.status;
            INSERT INTO delivery_status_counts (message_id, status, delivery_count)
            VALUES (NEW.message_id, NEW.status, 1)
            ON DUPLICATE KEY UPDATE delivery_count = delivery_count + 1;
        END IF;
    END
    """,
    """
    CREATE TRIGGER deliveries_status_count_delete AFTER DELETE ON deliveries FOR EACH ROW
        UPDATE delivery_status_counts SET delivery_count = delivery_count - 1
        WHERE message_id = OLD.message_id AND status = OLD.status
    """,
    """
    CREATE TRIGGER messages_status_counts_delete AFTER DELETE ON messages FOR EACH ROW
        DELETE FROM delivery_status_counts WHERE message_id = OLD.id
    """,
)

TRIGGERS = ("deliveries_status_count_insert", "deliveries_status_count_update",
            "deliveries_status_count_delete")


def upgrade():
    op.create_table(
        "delivery_status_counts",
        sa.Column("message_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delivery_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "status", name=op.f("pk_delivery_status_counts")),
    )
    op.execute(
        "INSERT INTO delivery_status_counts (message_id, status, delivery_count) "
        "SELECT message_id, status, COUNT(*) FROM deliveries GROUP BY message_id, status"
    )
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS,
                  "mysql": MARIADB_TRIGGERS, "mariadb": MARIADB_TRIGGERS}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no status-count triggers written for {dialect}")
    for statement in statements:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON deliveries"
                                                         if dialect == "postgresql" else ""))
    op.execute("DROP TRIGGER IF EXISTS messages_status_counts_delete"
               + (" ON messages" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS delivery_status_counts_follow()")
        op.execute("DROP FUNCTION IF EXISTS delivery_status_counts_forget()")
    op.drop_table("delivery_status_counts")
