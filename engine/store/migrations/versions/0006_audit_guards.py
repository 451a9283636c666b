"""audit guards: PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE on audit_events

Revision ID: 0006_audit_guards
Revises: 0005_designer_drafts
Create Date: 2026-11-26 23:50:00
"""
from alembic import op

from engine.store.append_only import POSTGRES_GUARDS, POSTGRES_UNGUARD

revision = '0006_audit_guards'
down_revision = '0005_designer_drafts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite has no triggers here: there the ORM refuses (engine/store/append_only.py) and the hash chain tells.
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UNGUARD:
            op.execute(statement)
