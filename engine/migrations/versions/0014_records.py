"""records: the person behind an engine step findable in the audit log (an indexed column the
database computes from the hashed details), and the actor filter indexed

Revision ID: 0014_records
Revises: 0011_open_task_counts
Create Date: 2026-11-28 09:00:00
"""
from alembic import op


revision = '0014_records'
down_revision = '0011_open_task_counts'
branch_labels = None
depends_on = None

# Frozen copies of the generated column's expression (engine/models.py JsonText at the time of writing).
ON_BEHALF_OF = {
    # SQLite adds only VIRTUAL generated columns to an existing table; indexed, the value is kept in the index.
    "sqlite": "VARCHAR(120) GENERATED ALWAYS AS (json_extract(details, '$.on_behalf_of')) VIRTUAL",
    # PostgreSQL computes a STORED column for every existing row while it adds it. That rewrite fires
    # no row trigger, so the append-only guards of 0006_audit_guards stay in place and no UPDATE runs.
    "postgresql": "VARCHAR(120) GENERATED ALWAYS AS ((details ->> 'on_behalf_of')) STORED",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"ALTER TABLE audit_events ADD COLUMN on_behalf_of {ON_BEHALF_OF[dialect]}")
    op.create_index('ix_audit_events_on_behalf_of', 'audit_events', ['on_behalf_of'])
    op.create_index('ix_audit_events_actor', 'audit_events', ['actor'])


def downgrade() -> None:
    op.drop_index('ix_audit_events_actor', table_name='audit_events')
    op.drop_index('ix_audit_events_on_behalf_of', table_name='audit_events')
    op.drop_column('audit_events', 'on_behalf_of')
