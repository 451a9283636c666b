"""open-task counters per role, process, lane role and stage for the inbox's counts, counted
from the open-task index

Revision ID: 0011_open_task_counts
Revises: 0010_deal_record
Create Date: 2026-11-27 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_open_task_counts'
down_revision = '0010_deal_record'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'open_task_counts',
        sa.Column('role', sa.String(length=120), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('lane_role', sa.String(length=120), nullable=False),
        sa.Column('stage', sa.String(length=120), nullable=False),
        sa.Column('open_tasks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('role', 'process_id', 'lane_role', 'stage'))
    op.execute("INSERT INTO open_task_counts (role, process_id, lane_role, stage, open_tasks) "
               "SELECT role, COALESCE(process_id, ''), COALESCE(lane_role, ''), COALESCE(stage, ''), COUNT(*) "
               "FROM human_task_roles GROUP BY role, COALESCE(process_id, ''), COALESCE(lane_role, ''), "
               "COALESCE(stage, '')")


def downgrade() -> None:
    op.drop_table('open_task_counts')
