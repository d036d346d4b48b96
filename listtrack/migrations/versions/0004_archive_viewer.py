"""archive viewer: plain-text body for search, thread starts per month, their indexes

Revision ID: 0004
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN / CREATE INDEX, never a batch copy of the table on SQLite:
    # a copy would drop triggers that other revisions put on `messages`.
    op.add_column("messages", sa.Column(
        "body_text",
        sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql"),
        nullable=True,
    ))
    op.add_column("messages", sa.Column("thread_start", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.create_index("ix_messages_list_month_start", "messages",
                    ["list_id", "year_month", "thread_start", "date"], unique=False)
    op.create_index("ix_messages_list_in_reply_to", "messages", ["list_id", "in_reply_to"],
                    unique=False)
    _mark_thread_starts()


def _mark_thread_starts():
    """Messages archived before this revision: flag the first of each thread in each month."""
    messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("list_id"),
                        sa.column("thread_id"), sa.column("year_month"), sa.column("date"),
                        sa.column("thread_start", sa.Boolean))
    bind = op.get_bind()
    first = {}
    for row in bind.execute(sa.select(messages.c.id, messages.c.list_id, messages.c.thread_id,
                                      messages.c.year_month, messages.c.date)):
        key = (row.list_id, row.thread_id if row.thread_id is not None else -row.id,
               row.year_month)
        if key not in first or (row.date, row.id) < first[key]:
            first[key] = (row.date, row.id)
    ids = [message_id for _, message_id in first.values()]
    for start in range(0, len(ids), 500):
        bind.execute(messages.update().where(messages.c.id.in_(ids[start:start + 500]))
                     .values(thread_start=True))


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_list_in_reply_to")
        batch_op.drop_index("ix_messages_list_month_start")
        batch_op.drop_column("thread_start")
        batch_op.drop_column("body_text")
