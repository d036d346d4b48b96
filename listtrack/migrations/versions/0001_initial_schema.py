"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-04 15:38:05.373380
"""
from alembic import op
import sqlalchemy as sa
import listtrack.models
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('send_policy', sa.String(length=16), nullable=False),
    sa.Column('archive_visibility', sa.String(length=16), nullable=False),
    sa.Column('delivery_status_notification', sa.String(length=16), nullable=True),
    sa.Column('message_disposition_notification', sa.String(length=16), nullable=True),
    sa.Column('tracking_visibility', sa.String(length=16), nullable=True),
    sa.Column('retention_period', sa.Integer(), nullable=True),
    sa.Column('verp_rate', sa.String(length=8), nullable=True),
    sa.Column('mask_addresses', sa.Boolean(), nullable=False),
    sa.Column('alert_owners_on_failure', sa.Boolean(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('created_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists')),
    sa.UniqueConstraint('name', 'domain', name='uq_lists_name_domain')
    )
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('raw', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.Column('mta_prefix', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('envelope_recipient', sa.String(length=320), nullable=True),
    sa.Column('spool_name', sa.String(length=255), nullable=True),
    sa.Column('received_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
    sa.UniqueConstraint('spool_name', name=op.f('uq_quarantine_spool_name'))
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_reason'), ['reason'], unique=False)
        batch_op.create_index(batch_op.f('ix_quarantine_sha256'), ['sha256'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_listmaster', sa.Boolean(), nullable=False),
    sa.Column('created_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('list_owners',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_owners_list_id_lists')),
    sa.PrimaryKeyConstraint('list_id', 'email', name=op.f('pk_list_owners'))
    )
    op.create_table('list_setting_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('changed_by', sa.String(length=320), nullable=False),
    sa.Column('changed_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.Column('setting', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_setting_changes_list_id_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_setting_changes'))
    )
    with op.batch_alter_table('list_setting_changes', schema=None) as batch_op:
        batch_op.create_index('ix_list_setting_changes_list_when', ['list_id', 'changed_at'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('sender_name', sa.String(length=255), nullable=False),
    sa.Column('date', listtrack.models.UTCDateTime(), nullable=False),
    sa.Column('year_month', sa.String(length=7), nullable=False),
    sa.Column('in_reply_to', sa.String(length=255), nullable=True),
    sa.Column('references', sa.Text().with_variant(mysql.LONGTEXT(), 'mariadb').with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.Column('received_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.Column('dsn_requested', sa.Boolean(), nullable=False),
    sa.Column('mdn_requested', sa.Boolean(), nullable=False),
    sa.Column('dsn_unavailable', sa.Boolean(), nullable=False),
    sa.Column('distribution', sa.String(length=16), nullable=False),
    sa.Column('distributed_at', listtrack.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_messages_list_id_lists')),
    sa.ForeignKeyConstraint(['parent_id'], ['messages.id'], name=op.f('fk_messages_parent_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('list_id', 'message_id', name='uq_messages_list_message_id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_list_month_date', ['list_id', 'year_month', 'date'], unique=False)
        batch_op.create_index('ix_messages_thread', ['thread_id', 'date'], unique=False)

    op.create_table('subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('reception', sa.String(length=16), nullable=False),
    sa.Column('created_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_subscribers_list_id_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
    sa.UniqueConstraint('list_id', 'email', name='uq_subscribers_list_email')
    )
    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('reception', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_code', sa.String(length=16), nullable=True),
    sa.Column('diagnostic', sa.Text(), nullable=True),
    sa.Column('last_notification_at', listtrack.models.UTCDateTime(), nullable=True),
    sa.Column('status_at', listtrack.models.UTCDateTime(), nullable=True),
    sa.Column('send_state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', listtrack.models.UTCDateTime(), nullable=True),
    sa.Column('sent_at', listtrack.models.UTCDateTime(), nullable=True),
    sa.Column('complaint', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_deliveries_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('message_id', 'recipient', name='uq_deliveries_message_recipient')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_message_status_recipient', ['message_id', 'status', 'recipient'], unique=False)
        batch_op.create_index('ix_deliveries_send_state_due', ['send_state', 'next_attempt_at'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('raw', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.Column('mta_prefix', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True),
    sa.Column('envelope_recipient', sa.String(length=320), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('received_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_reports_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_reports_sha256'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_message_id'), ['message_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('status_code', sa.String(length=16), nullable=True),
    sa.Column('diagnostic', sa.Text(), nullable=True),
    sa.Column('final_recipient', sa.String(length=320), nullable=True),
    sa.Column('original_recipient', sa.String(length=320), nullable=True),
    sa.Column('reporting_mta', sa.String(length=255), nullable=True),
    sa.Column('remote_mta', sa.String(length=255), nullable=True),
    sa.Column('disposition_mode', sa.String(length=64), nullable=True),
    sa.Column('feedback_type', sa.String(length=32), nullable=True),
    sa.Column('arrival_date', listtrack.models.UTCDateTime(), nullable=True),
    sa.Column('received_at', listtrack.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_notifications_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_notifications_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_delivery_received', ['delivery_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_report_id'), ['report_id'], unique=False)




def downgrade():

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_report_id'))
        batch_op.drop_index('ix_notifications_delivery_received')

    op.drop_table('notifications')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_message_id'))

    op.drop_table('reports')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_send_state_due')
        batch_op.drop_index('ix_deliveries_message_status_recipient')

    op.drop_table('deliveries')
    op.drop_table('subscribers')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_thread')
        batch_op.drop_index('ix_messages_list_month_date')

    op.drop_table('messages')
    with op.batch_alter_table('list_setting_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_list_setting_changes_list_when')

    op.drop_table('list_setting_changes')
    op.drop_table('list_owners')
    op.drop_table('users')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_sha256'))
        batch_op.drop_index(batch_op.f('ix_quarantine_reason'))

    op.drop_table('quarantine')
    op.drop_table('lists')

