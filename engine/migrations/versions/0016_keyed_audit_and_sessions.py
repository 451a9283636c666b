"""session generations, sign-in failures per name and address, who made each API token

Revision ID: 0016_keyed_audit_and_sessions
Revises: 0011_open_task_counts
Create Date: 2026-11-28 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_keyed_audit_and_sessions'
down_revision = '0011_open_task_counts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.add_column('api_tokens', sa.Column('created_by', sa.String(length=120), nullable=True))
    # The per-name counter gave way to sign_in_failures (per name and source address).
    op.execute("ALTER TABLE users DROP COLUMN failed_logins")
    op.execute("ALTER TABLE users DROP COLUMN last_failed_login_at")
    op.create_table(
        'sign_in_failures',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', 'source'))
    op.create_index('ix_sign_in_failures_last_failed_at', 'sign_in_failures', ['last_failed_at'])


def downgrade() -> None:
    op.drop_index('ix_sign_in_failures_last_failed_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
    op.add_column('users', sa.Column('last_failed_login_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
    op.execute("ALTER TABLE api_tokens DROP COLUMN created_by")
    op.execute("ALTER TABLE users DROP COLUMN session_generation")
