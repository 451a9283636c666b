"""timer start events: when each deployed version's timer next starts a deal

Revision ID: 0026_timer_start_schedules
Revises: 0024_saved_inbox_filters
Create Date: 2026-12-01 16:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0026_timer_start_schedules'
down_revision = '0024_saved_inbox_filters'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'timer_start_schedules',
        sa.Column('process_version_id', sa.Integer(), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started', sa.Integer(), nullable=False),
        sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['process_version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('process_version_id', 'element_id'))
    op.create_index('ix_timer_start_schedules_due', 'timer_start_schedules', ['state', 'next_due_at'])
    op.create_index('ix_timer_start_schedules_process_id', 'timer_start_schedules', ['process_id'])


def downgrade() -> None:
    op.drop_index('ix_timer_start_schedules_process_id', table_name='timer_start_schedules')
    op.drop_index('ix_timer_start_schedules_due', table_name='timer_start_schedules')
    op.drop_table('timer_start_schedules')
