"""Per-deal rows for figures.py: deals, gate passes and stage entries (only the columns needed;
values inside the deal's data are extracted by the database)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.clock import utc
from workflows.vocabulary import STAGES

from engine.store.models import DealOutcome, GateDecision, HumanTask, Instance
from workflows.metrics.scope import Scope, restrict

@dataclass
class Deal:
    """One deal as the figures see it."""

    id: int
    title: str | None
    version: int
    status: str
    stage: str | None
    started_at: datetime
    ended_at: datetime | None
    fate: str  # won | lost | killed | ended (closed: engine/outcomes.py) | open | error
    value: float | None  # expected deal value from the start form
    final_price: float | None
    acquisition_cost: float | None

    @property
    def size(self) -> float | None:
        """What the deal brought in: the final price, else the expected value."""
        return self.final_price if self.final_price is not None else self.value


@dataclass
class GatePass:
    """One pass through a stage gate."""

    instance_id: int
    gate: str
    stage: str | None
    outcome: str
    decided_at: datetime


def fate_of(status: str, recorded: str | None) -> str:
    """How a deal stands: as its record says once closed (won, lost, killed...: engine/outcomes.py,
    kept once at the close); open or error while not."""
    if status == "completed":
        return recorded or "ended"
    return "error" if status == "error" else "open"


def number_or_none(value) -> float | None:
    """A recorded value as a number, None where it is missing or not a number."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def deals(session, scope: Scope) -> list[Deal]:
    """Every deal of the scope's process and version (the period is applied by each figure); how a
    closed one ended is read from its record, where the step that closed it derived it."""
    data = Instance.data
    q = select(Instance.id, Instance.title, Instance.version, Instance.status, Instance.stage,
               Instance.started_at, Instance.ended_at, DealOutcome.fate, data["deal_value"].as_float(),
               data["final_price"].as_float(), data["acquisition_cost"].as_float()
               ).outerjoin(DealOutcome, DealOutcome.instance_id == Instance.id)
    q = restrict(q, scope, Instance.process_id, Instance.version).order_by(Instance.id)
    return [Deal(r[0], r[1], r[2], r[3], r[4], utc(r[5]), utc(r[6]), fate_of(r[3], r[7]), number_or_none(r[8]),
                 number_or_none(r[9]), number_or_none(r[10])) for r in session.execute(q)]


def gate_passes(session, scope: Scope) -> list[GatePass]:
    """Every pass through a gate in the scope's period, oldest first."""
    g = GateDecision
    q = restrict(select(g.instance_id, g.gate, g.stage, g.outcome, g.decided_at), scope, g.process_id, g.version,
                 g.decided_at)
    return [GatePass(r[0], r[1], r[2], r[3], utc(r[4])) for r in session.execute(q.order_by(g.decided_at, g.id))]


def stage_entries(session, scope: Scope) -> dict[int, list[tuple[datetime, str]]]:
    """When each deal first entered each stage: a task of the stage opened or its gate decided."""
    first: dict[tuple[int, str], datetime] = {}
    for table, at in ((HumanTask, HumanTask.created_at), (GateDecision, GateDecision.decided_at)):
        q = (select(table.instance_id, table.stage, func.min(at))
             .join(Instance, Instance.id == table.instance_id)
             .where(table.stage.is_not(None)))
        q = restrict(q, scope, Instance.process_id, Instance.version).group_by(table.instance_id, table.stage)
        for iid, stage, when in session.execute(q):
            key, when = (iid, stage), utc(when)
            if key not in first or when < first[key]:
                first[key] = when
    out: dict[int, list[tuple[datetime, str]]] = {}
    for (iid, stage), when in first.items():
        out.setdefault(iid, []).append((when, stage))
    for entries in out.values():
        # Stages entered in the same step (a rule gate passing straight on) keep the process order.
        entries.sort(key=lambda e: (e[0], stage_rank(e[1])))
    return out


def stage_rank(stage: str) -> int:
    """Position of a stage in the sales process (unknown stages after the known ones)."""
    return STAGES.index(stage) if stage in STAGES else len(STAGES)
