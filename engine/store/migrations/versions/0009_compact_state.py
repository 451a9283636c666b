"""open-task index for the inbox (task roles carry what the inbox filters and sorts on); a step
reads its instance's open tasks and timers by index, not by scanning the instance's history

Revision ID: 0009_compact_state
Revises: 0008_api_tokens
Create Date: 2026-11-27 00:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_compact_state'
down_revision = '0008_api_tokens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task_roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('process_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('lane_role', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('shared', sa.Boolean(), server_default='0', nullable=False))
    # Only open tasks keep role rows from now on; the rest carry a copy of their task's fields.
    op.execute("DELETE FROM human_task_roles WHERE task_id IN (SELECT id FROM human_tasks WHERE state <> 'ready')")
    for column, source in (('process_id', 'process_id'), ('lane_role', 'role'), ('stage', 'stage'),
                           ('created_at', 'created_at'), ('due_at', 'due_at')):
        op.execute(f"UPDATE human_task_roles SET {column} = "
                   f"(SELECT h.{source} FROM human_tasks h WHERE h.id = human_task_roles.task_id)")
    op.execute("UPDATE human_task_roles SET shared = "
               "((SELECT count(*) FROM human_task_roles r WHERE r.task_id = human_task_roles.task_id) > 1)")
    with op.batch_alter_table('human_task_roles', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_roles_facets', ['role', 'process_id', 'lane_role', 'stage'], unique=False)
        batch_op.create_index('ix_human_task_roles_due', ['role', 'due_at', 'created_at', 'task_id'], unique=False)
        batch_op.create_index('ix_human_task_roles_age', ['role', 'created_at', 'task_id'], unique=False)
        batch_op.create_index('ix_human_task_roles_shared', ['role', 'shared'], unique=False)
    op.create_index('ix_human_tasks_instance_state', 'human_tasks', ['instance_id', 'state'], unique=False)
    op.create_index('ix_timers_instance_state', 'timers', ['instance_id', 'state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_timers_instance_state', table_name='timers')
    op.drop_index('ix_human_tasks_instance_state', table_name='human_tasks')
    with op.batch_alter_table('human_task_roles', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_roles_shared')
        batch_op.drop_index('ix_human_task_roles_age')
        batch_op.drop_index('ix_human_task_roles_due')
        batch_op.drop_index('ix_human_task_roles_facets')
        batch_op.drop_column('shared')
        batch_op.drop_column('due_at')
        batch_op.drop_column('created_at')
        batch_op.drop_column('stage')
        batch_op.drop_column('lane_role')
        batch_op.drop_column('process_id')
    # Rows of closed tasks are not brought back: the old inbox filtered on the task's state anyway.
