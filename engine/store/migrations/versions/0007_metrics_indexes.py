"""indexes for the metrics page

Revision ID: 0007_metrics
Revises: 0006_audit_guards
Create Date: 2026-11-27 00:05:00
"""
from alembic import op


revision = '0007_metrics'
down_revision = '0006_audit_guards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_instances_metrics', 'instances', ['process_id', 'status', 'ended_at', 'started_at', 'version'])
    op.create_index('ix_human_tasks_stage_entry', 'human_tasks', ['instance_id', 'stage', 'created_at'])
    op.create_index('ix_gate_decisions_stage_entry', 'gate_decisions', ['instance_id', 'stage', 'decided_at'])


def downgrade() -> None:
    op.drop_index('ix_gate_decisions_stage_entry', table_name='gate_decisions')
    op.drop_index('ix_human_tasks_stage_entry', table_name='human_tasks')
    op.drop_index('ix_instances_metrics', table_name='instances')
