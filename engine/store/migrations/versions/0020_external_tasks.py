"""external tasks: service and send tasks that workers fetch and lock through /engine-rest

Revision ID: 0020_external_tasks
Revises: 0019_business_keys
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_external_tasks'
down_revision = '0019_business_keys'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'external_tasks',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('instance_id', BigId, sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('called_process', sa.String(length=255), nullable=True),
        sa.Column('topic', sa.String(length=255), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('worker_id', sa.String(length=255), nullable=True),
        sa.Column('locked_by', sa.String(length=120), nullable=True),
        sa.Column('lock_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('retries', sa.Integer(), nullable=True),
        sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('error_details', sa.Text(), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('completed_by', sa.String(length=120), nullable=True),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_external_tasks_fetch', 'external_tasks', ['state', 'topic', 'priority', 'created_at'])
    op.create_index('ix_external_tasks_instance_state', 'external_tasks', ['instance_id', 'state'])
    op.create_index('ix_external_tasks_instance_id', 'external_tasks', ['instance_id'])


def downgrade() -> None:
    op.drop_table('external_tasks')
