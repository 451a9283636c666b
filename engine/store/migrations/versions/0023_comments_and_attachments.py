"""comments on deals with @mentions, in-app notifications, attachments on deals and tasks

Revision ID: 0023_comments_and_attachments
Revises: 0021_outbox_webhooks_mail
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_comments_and_attachments'
down_revision = '0021_outbox_webhooks_mail'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'comments',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('instance_id', BIG_ID, nullable=False),
        sa.Column('author', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('mentions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_comments_instance_id', 'comments', ['instance_id'])
    op.create_table(
        'notifications',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('user_name', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('instance_id', BIG_ID, nullable=True),
        sa.Column('comment_id', BIG_ID, nullable=True),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id']),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_notifications_user_read', 'notifications', ['user_name', 'read_at'])
    op.create_table(
        'attachments',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('instance_id', BIG_ID, nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=120), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=255), nullable=False),
        sa.Column('uploaded_by', sa.String(length=120), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('storage_key'))
    op.create_index('ix_attachments_instance_id', 'attachments', ['instance_id'])


def downgrade() -> None:
    op.drop_index('ix_attachments_instance_id', table_name='attachments')
    op.drop_table('attachments')
    op.drop_index('ix_notifications_user_read', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('ix_comments_instance_id', table_name='comments')
    op.drop_table('comments')
