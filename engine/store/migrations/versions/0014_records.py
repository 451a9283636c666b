"""records: the person behind an engine step findable in the audit log (an indexed column the
database computes from the hashed details), the actor filter indexed; and a closed deal's record
says how it ended (the gate that killed it with its stage and reason, the end event reached),
backfilled for the deals closed before

Revision ID: 0014_records
Revises: 0013_task_definitions
Create Date: 2026-11-28 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_records'
down_revision = '0013_task_definitions'
branch_labels = None
depends_on = None

# Frozen copies of the generated column's expression (engine/store/models/base.py JsonText at the time of writing).
ON_BEHALF_OF = {
    # SQLite adds only VIRTUAL generated columns to an existing table; indexed, the value is kept in the index.
    "sqlite": "VARCHAR(120) GENERATED ALWAYS AS (json_extract(details, '$.on_behalf_of')) VIRTUAL",
    # PostgreSQL computes a STORED column for every existing row while it adds it. That rewrite fires
    # no row trigger, so the append-only guards of 0006_audit_guards stay in place and no UPDATE runs.
    "postgresql": "VARCHAR(120) GENERATED ALWAYS AS ((details ->> 'on_behalf_of')) STORED",
}


OUTCOME_COLUMNS = {"gate": sa.String(length=120), "stage": sa.String(length=120), "reason": sa.Text(),
                   "end_event": sa.String(length=255), "end_event_name": sa.String(length=255)}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"ALTER TABLE audit_events ADD COLUMN on_behalf_of {ON_BEHALF_OF[dialect]}")
    op.create_index('ix_audit_events_on_behalf_of', 'audit_events', ['on_behalf_of'])
    op.create_index('ix_audit_events_actor', 'audit_events', ['actor'])
    for name, kind in OUTCOME_COLUMNS.items():
        op.add_column('deal_outcomes', sa.Column(name, kind, nullable=True))
    _backfill_outcomes(op.get_bind())


def _backfill_outcomes(conn) -> None:
    """Closed deals keep the fate 0010 gave them; a killed one gets its last gate decision (a kill),
    every one the end event it reached, named as its version's diagram names it."""
    outcomes = sa.table('deal_outcomes', sa.column('instance_id'), sa.column('fate'),
                        *(sa.column(name) for name in OUTCOME_COLUMNS))
    instances = sa.table('instances', sa.column('id'), sa.column('ended_at_element'), sa.column('process_version_id'))
    versions = sa.table('process_versions', sa.column('id'), sa.column('model', sa.JSON))
    gates = sa.table('gate_decisions', sa.column('id'), sa.column('instance_id'), sa.column('gate'),
                     sa.column('stage'), sa.column('outcome'), sa.column('reason'))
    closed = conn.execute(sa.select(outcomes.c.instance_id, outcomes.c.fate, instances.c.ended_at_element,
                                    instances.c.process_version_id)
                          .join(instances, instances.c.id == outcomes.c.instance_id)).all()
    if not closed:
        return
    last = {g.instance_id: g for g in conn.execute(sa.select(gates).where(gates.c.id.in_(
        sa.select(sa.func.max(gates.c.id)).group_by(gates.c.instance_id))))}
    names = {}
    for pv_id, model in conn.execute(sa.select(versions.c.id, versions.c.model).where(
            versions.c.id.in_({r.process_version_id for r in closed}))):
        names[pv_id] = {eid: el.get("name") for eid, el in ((model or {}).get("elements") or {}).items()}
    rows = []
    for r in closed:
        g = last.get(r.instance_id)
        killed = r.fate == "killed" and g is not None and g.outcome == "kill"
        name = names.get(r.process_version_id, {}).get(r.ended_at_element)
        rows.append({"id": r.instance_id, "g": g.gate if killed else None, "s": g.stage if killed else None,
                     "r": g.reason if killed else None, "e": r.ended_at_element, "n": name[:255] if name else None})
    conn.execute(outcomes.update().where(outcomes.c.instance_id == sa.bindparam("id")).values(
        gate=sa.bindparam("g"), stage=sa.bindparam("s"), reason=sa.bindparam("r"), end_event=sa.bindparam("e"),
        end_event_name=sa.bindparam("n")), rows)


def downgrade() -> None:
    for name in reversed(list(OUTCOME_COLUMNS)):
        op.drop_column('deal_outcomes', name)
    op.drop_index('ix_audit_events_actor', table_name='audit_events')
    op.drop_index('ix_audit_events_on_behalf_of', table_name='audit_events')
    op.drop_column('audit_events', 'on_behalf_of')
