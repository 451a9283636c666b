"""inbox filters people save and name; indexes for the inbox's "my tasks" and "done by me" views

Revision ID: 0024_saved_inbox_filters
Revises: 0023_comments_and_attachments
Create Date: 2026-12-01 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0024_saved_inbox_filters'
down_revision = '0023_comments_and_attachments'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'saved_inbox_filters',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('user_name', sa.String(length=120), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_name', 'name', name='uq_saved_inbox_filters_user_name'))
    op.create_index('ix_human_tasks_claimed_by', 'human_tasks', ['claimed_by', 'state'])
    op.create_index('ix_human_tasks_completed_by', 'human_tasks', ['completed_by', 'completed_at'])


def downgrade() -> None:
    op.drop_index('ix_human_tasks_completed_by', table_name='human_tasks')
    op.drop_index('ix_human_tasks_claimed_by', table_name='human_tasks')
    op.drop_table('saved_inbox_filters')
