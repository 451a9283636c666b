"""the deal's record for the metrics: stage stays and closed-deal outcomes kept at each step,
and a covering index for the funnel; existing deals are backfilled from their tasks and gates

Revision ID: 0010_deal_record
Revises: 0009_compact_state
Create Date: 2026-11-27 04:30:00
"""
import json
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0010_deal_record'
down_revision = '0009_compact_state'
branch_labels = None
depends_on = None

# Frozen copies of the rules at the time of writing: a migration must not follow later code.
STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation", "Closed")


def _utc(at):
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _number(value):
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def upgrade() -> None:
    stays = op.create_table(
        'stage_stays',
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('stage', sa.String(length=120), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('days', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id']),
        sa.PrimaryKeyConstraint('instance_id', 'stage'))
    op.create_index('ix_stage_stays_days', 'stage_stays', ['process_id', 'stage', 'days', 'version', 'left_at'])
    outcomes = op.create_table(
        'deal_outcomes',
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fate', sa.String(length=16), nullable=False),
        sa.Column('deal_size', sa.Float(), nullable=True),
        sa.Column('acquisition_cost', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id']),
        sa.PrimaryKeyConstraint('instance_id'))
    op.create_index('ix_deal_outcomes_period', 'deal_outcomes',
                    ['process_id', 'ended_at', 'version', 'fate', 'started_at', 'acquisition_cost', 'deal_size'])
    op.create_index('ix_gate_decisions_funnel', 'gate_decisions',
                    ['process_id', 'gate', 'stage', 'outcome', 'instance_id', 'version', 'decided_at'])
    _backfill(op.get_bind(), stays, outcomes)


def _backfill(conn, stays, outcomes) -> None:
    instances = {r.id: r for r in conn.execute(sa.text(
        "SELECT id, process_id, version, status, data, started_at, ended_at FROM instances"))}
    first: dict = {}
    for sql in ("SELECT instance_id, stage, MIN(created_at) FROM human_tasks WHERE stage IS NOT NULL "
                "GROUP BY instance_id, stage",
                "SELECT instance_id, stage, MIN(decided_at) FROM gate_decisions WHERE stage IS NOT NULL "
                "GROUP BY instance_id, stage"):
        for iid, stage, at in conn.execute(sa.text(sql)):
            at = _utc(at)
            if (iid, stage) not in first or at < first[(iid, stage)]:
                first[(iid, stage)] = at
    by_deal: dict = {}
    for (iid, stage), at in first.items():
        by_deal.setdefault(iid, []).append((at, stage))
    rows = []
    for iid, marks in by_deal.items():
        inst = instances[iid]
        marks.sort(key=lambda m: (m[0], STAGES.index(m[1]) if m[1] in STAGES else len(STAGES)))
        end = _utc(inst.ended_at) if inst.status == "completed" else None
        for (at, stage), after in zip(marks, marks[1:] + [None]):
            left = after[0] if after else end
            rows.append({"instance_id": iid, "stage": stage, "process_id": inst.process_id, "version": inst.version,
                         "entered_at": at, "left_at": left,
                         "days": None if left is None else (left - at).total_seconds() / 86400.0})
    if rows:
        op.bulk_insert(stays, rows)
    closed = []
    for inst in instances.values():
        if inst.status != "completed" or inst.ended_at is None:
            continue
        data = inst.data if isinstance(inst.data, dict) else json.loads(inst.data or "{}")
        outcome = data.get("outcome")
        final_price, value = _number(data.get("final_price")), _number(data.get("deal_value"))
        closed.append({"instance_id": inst.id, "process_id": inst.process_id, "version": inst.version,
                       "started_at": _utc(inst.started_at), "ended_at": _utc(inst.ended_at),
                       "fate": outcome if outcome in ("won", "lost") else "killed",
                       "deal_size": final_price if final_price is not None else value,
                       "acquisition_cost": _number(data.get("acquisition_cost"))})
    if closed:
        op.bulk_insert(outcomes, closed)


def downgrade() -> None:
    op.drop_index('ix_gate_decisions_funnel', table_name='gate_decisions')
    op.drop_index('ix_deal_outcomes_period', table_name='deal_outcomes')
    op.drop_table('deal_outcomes')
    op.drop_index('ix_stage_stays_days', table_name='stage_stays')
    op.drop_table('stage_stays')
