"""archive viewer: plain-text body for search, month-thread and reply-lookup indexes

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
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "body_text",
            sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(),
                                                                             "mysql"),
            nullable=True,
        ))
        batch_op.create_index("ix_messages_list_month_thread",
                              ["list_id", "year_month", "thread_id", "date"], unique=False)
        batch_op.create_index("ix_messages_list_in_reply_to", ["list_id", "in_reply_to"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_list_in_reply_to")
        batch_op.drop_index("ix_messages_list_month_thread")
        batch_op.drop_column("body_text")
