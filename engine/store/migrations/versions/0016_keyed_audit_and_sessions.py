"""keyed audit chain, session generations, sign-in failures per name and address, who made each API token

The chain's head records the audit key it is signed with; a chain written before keys existed
gets a keyed `audit_keyed` event linked to its last plain event, which seals every event before
it (engine/audit/__init__.py key_the_chain). The key comes from `stagegate init` (engine/store/schema.py).

Revision ID: 0016_keyed_audit_and_sessions
Revises: 0015_what_if_jobs
Create Date: 2026-11-28 09:00:00
"""
from alembic import context, op
import sqlalchemy as sa

from engine.audit import key_the_chain
from engine.clock import utcnow

revision = '0016_keyed_audit_and_sessions'
down_revision = '0015_what_if_jobs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_head', sa.Column('key_id', sa.String(length=16), nullable=True))
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
    keys = context.config.attributes.get("audit_keys")
    if keys is None:
        raise RuntimeError("migration 0016 signs the audit chain: run it with `stagegate init`, which has the key")
    key_the_chain(op.get_bind(), keys, utcnow(), "engine")


def downgrade() -> None:
    op.drop_index('ix_sign_in_failures_last_failed_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
    op.add_column('users', sa.Column('last_failed_login_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
    op.execute("ALTER TABLE api_tokens DROP COLUMN created_by")
    op.execute("ALTER TABLE users DROP COLUMN session_generation")
    op.execute("ALTER TABLE audit_head DROP COLUMN key_id")
