"""human tasks say which called process defines them and which users (besides roles) may work them

Revision ID: 0013_task_definitions
Revises: 0011_open_task_counts
Create Date: 2026-12-01 00:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_task_definitions'
down_revision = '0011_open_task_counts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('called_process', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('candidate_users', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_column('candidate_users')
        batch_op.drop_column('called_process')
