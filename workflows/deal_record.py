"""The deal's record for the metrics, written in the same transaction as each step: its stays in
the stages, and how it ended. The metrics page aggregates these narrow rows instead of rebuilding
them from every task and gate decision of every deal."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, select, update

from workflows.metrics.figures import DAY
from engine.clock import utc
from workflows.metrics.history import number_or_none, stage_rank
from engine.store.models import DealOutcome, Instance, StageStay
from engine.store.prepared import Prepared, insert_rows

# A step reads and writes its deal's few stays with prepared statements (the step's hot path).
_STAY_ROWS = StageStay.__table__
_STAYS = Prepared(select(_STAY_ROWS).where(_STAY_ROWS.c.instance_id == bindparam("i")))
_MOVE_STAY = Prepared(update(_STAY_ROWS).where(_STAY_ROWS.c.instance_id == bindparam("b_i"),
                                               _STAY_ROWS.c.stage == bindparam("b_stage"))
                      .values(left_at=bindparam("v_left"), days=bindparam("v_days")))


def record_step(s, instance: Instance, previous_stage: str | None, entered: list[str | None], now: datetime,
                outcome: dict | None = None, starting: bool = False) -> None:
    """Note the stages the step entered (its new tasks' and gate decisions' stages) and, if the deal
    closed, when it left its last stage and how it ended (`outcome`, engine/outcomes.py); `starting`:
    the deal's first step, when it has no stays to read yet."""
    entered = [st for st in entered if st]
    closed = instance.status == "completed"
    # A step inside the stage the deal was already in changes no stay: the common case costs no query.
    if not closed and all(st == previous_stage for st in entered):
        return
    stays = {} if starting else {row["stage"]: SimpleNamespace(**row) for row in _STAYS.rows(s, {"i": instance.id})}
    new = []
    for stage in dict.fromkeys(entered):
        if stage not in stays:  # a stay runs from the first entry; a recycle back in is the same stay
            stays[stage] = SimpleNamespace(instance_id=instance.id, stage=stage, process_id=instance.process_id,
                                           version=instance.version, entered_at=now, left_at=None, days=None)
            new.append(stays[stage])
    # Stages entered in the same step (a rule gate passing straight on) keep the process order.
    ordered = sorted(stays.values(), key=lambda r: (utc(r.entered_at), stage_rank(r.stage)))
    moved = []
    for stay, after in zip(ordered, ordered[1:] + [None]):
        left = after.entered_at if after is not None else (instance.ended_at if closed else None)
        if utc(stay.left_at) != utc(left):
            stay.left_at = left
            stay.days = None if left is None else (utc(left) - utc(stay.entered_at)).total_seconds() / DAY
            moved.append(stay)
    insert_rows(s, _STAY_ROWS, [vars(stay) for stay in new])
    opened = {stay.stage for stay in new}  # inserted with their final values above
    if moved := [stay for stay in moved if stay.stage not in opened]:
        _MOVE_STAY.run(s, [{"b_i": r.instance_id, "b_stage": r.stage, "v_left": r.left_at, "v_days": r.days}
                           for r in moved])
    if closed:
        s.add(outcome_of(instance, outcome))


def outcome_of(instance: Instance, outcome: dict) -> DealOutcome:
    """The closed deal's outcome row: how it ended, and the figures from its final data."""
    data = instance.data or {}
    final_price, value = number_or_none(data.get("final_price")), number_or_none(data.get("deal_value"))
    return DealOutcome(instance_id=instance.id, process_id=instance.process_id, version=instance.version,
                       started_at=instance.started_at, ended_at=instance.ended_at, fate=outcome["kind"],
                       gate=outcome["gate"], stage=outcome["stage"], reason=outcome["reason"],
                       end_event=outcome["end_event"], end_event_name=outcome["end_event_name"],
                       deal_size=final_price if final_price is not None else value,
                       acquisition_cost=number_or_none(data.get("acquisition_cost")))


def observe_step(s, step) -> None:
    """The deal record as a step observer (engine/domain.py): called in every step's transaction."""
    record_step(s, step.instance, step.previous_stage, step.entered, step.now, step.ending, step.starting)
