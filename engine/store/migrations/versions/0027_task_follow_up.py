"""human tasks: the follow-up date a diagram's camunda:followUpDate sets

Revision ID: 0027_task_follow_up
Revises: 0026_timer_start_schedules
Create Date: 2026-12-01 17:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0027_task_follow_up'
down_revision = '0026_timer_start_schedules'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_tasks') as batch:
        batch.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_tasks') as batch:
        batch.drop_column('follow_up_at')
