"""what-if replays run as background jobs the metrics page polls

Revision ID: 0015_what_if_jobs
Revises: 0014_records
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_what_if_jobs'
down_revision = '0014_records'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'what_if_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=True),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('limit_hit', sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index('ix_what_if_jobs_created_by', 'what_if_jobs', ['created_by'])


def downgrade() -> None:
    op.drop_index('ix_what_if_jobs_created_by', table_name='what_if_jobs')
    op.drop_table('what_if_jobs')
