"""owner alerts and retention purge marks on messages

Revision ID: 0007
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import listtrack.models

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_alert_sent_at", listtrack.models.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column("tracking_purged_at", listtrack.models.UTCDateTime(),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("tracking_purged_at")
        batch_op.drop_column("owner_alert_sent_at")
