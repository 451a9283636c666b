"""What the board and the deals list share: the filters, the columns read per deal (its value and
customer from the start form, its current stay), the open tasks of a page of deals and each stage's
p90 time in stage. Every read is one query for all the deals shown, never one per deal."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, and_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from engine.clock import iso, utc
from engine.store.models import HumanTask, Instance, ProcessVersion, StageStay
from workflows.metrics import summary
from workflows.metrics.figures import DAY
from workflows.metrics.history import stage_rank
from workflows.metrics.scope import Scope
from workflows.metrics.stats import rounded
from workflows.vocabulary import STAGES

NO_STAGE = "none"  # the stage filter's value for deals of a process without stages


class DealNumber(ColumnElement):
    """SQL: a field of the deal's data where it is a JSON number, else NULL (never a failed cast on
    PostgreSQL: one deal with text there must not break every page)."""

    inherit_cache = True
    type = Float()

    def __init__(self, key: str):
        self.key = key


@compiles(DealNumber)
def _number_sqlite(element, compiler, **kw):
    path = f"'$.{element.key}'"
    return (f"(CASE WHEN json_type(instances.data, {path}) IN ('integer', 'real') "
            f"THEN json_extract(instances.data, {path}) END)")


@compiles(DealNumber, "postgresql")
def _number_postgresql(element, compiler, **kw):
    return (f"(CASE WHEN json_typeof(instances.data -> '{element.key}') = 'number' "
            f"THEN CAST(instances.data ->> '{element.key}' AS DOUBLE PRECISION) END)")


# The start form's fields the pages show: read by the database, never by loading the deal's data.
VALUE = DealNumber("deal_value")
CUSTOMER = Instance.data["customer"].as_string()

DEAL_COLUMNS = (Instance.id, Instance.title, Instance.business_key, Instance.process_id, Instance.version,
                Instance.status, Instance.stage, Instance.started_at, Instance.started_by, Instance.ended_at,
                VALUE.label("value"), CUSTOMER.label("customer"), StageStay.entered_at.label("stage_entered"))


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the deals to; None: any."""

    process: str | None = None
    owner: str | None = None  # who started the deal
    stage: str | None = None  # a stage, or NO_STAGE
    min_value: int | None = None
    max_value: int | None = None

    def as_args(self, **changes) -> dict:
        """The filters as query-string arguments (those set), with `changes` (None drops one)."""
        args = {"process": self.process, "owner": self.owner, "stage": self.stage, "min_value": self.min_value,
                "max_value": self.max_value, **changes}
        return {k: v for k, v in args.items() if v is not None}


def visible(processes: list[str], every: list[str], user: str):
    """SQL: the deals `user` may see, by the deals list's rule (engine/queries/views.py): those of the
    `processes` they may see (views.visible_processes), and those they started of the other processes
    (of `every` process). Written so both halves are read through the process index, not a scan."""
    others = [p for p in every if p not in processes]
    mine = Instance.process_id.in_(processes)
    return mine | (Instance.process_id.in_(others) & (Instance.started_by == user)) if others else mine


def narrowed(q, f: Filters):
    """The query limited to the filters."""
    if f.process:
        q = q.where(Instance.process_id == f.process)
    if f.owner:
        q = q.where(Instance.started_by == f.owner)
    if f.stage:
        q = q.where(Instance.stage.is_(None) if f.stage == NO_STAGE else Instance.stage == f.stage)
    if f.min_value is not None:
        q = q.where(VALUE >= f.min_value)
    if f.max_value is not None:
        q = q.where(VALUE <= f.max_value)
    return q


def with_stay(q):
    """The query joined to each deal's stay in its current stage (by primary key), if it has one."""
    return q.outerjoin(StageStay, and_(StageStay.instance_id == Instance.id, StageStay.stage == Instance.stage))


def stage_order(stages) -> list:
    """The sales stages in process order, then any other stage seen, then None (no stage) if seen."""
    seen = set(stages)
    named = sorted({*STAGES, *(st for st in seen if st)}, key=lambda st: (stage_rank(st), st))
    return named + ([None] if None in seen else [])


def process_names(s) -> dict[str, str]:
    """Each process's name as its newest version gives it (else its id)."""
    rows = s.execute(select(ProcessVersion.process_id, ProcessVersion.name).order_by(ProcessVersion.version))
    return {pid: name or pid for pid, name in rows}


def choices(s, processes: list[str]) -> dict:
    """What the filters offer: the processes the user may see (by name), and the stages."""
    names = process_names(s)
    return {"processes": sorted(((p, names.get(p, p)) for p in processes), key=lambda pn: pn[1].casefold()),
            "stages": [st for st in stage_order([]) if st], "names": names}


def details(s, ids: list[int]) -> dict[int, tuple]:
    """The shown columns of the deals `ids`, by id: read by primary key once the page is chosen, so
    the ordering reads only the few columns it sorts on."""
    if not ids:
        return {}
    return {r.id: r for r in s.execute(with_stay(select(*DEAL_COLUMNS)).where(Instance.id.in_(ids)))}


def open_tasks(s, ids) -> dict[int, list[dict]]:
    """The ready tasks of the deals `ids` (by deal), oldest first, with who holds each."""
    out: dict[int, list[dict]] = {}
    if not ids:
        return out
    q = (select(HumanTask.id, HumanTask.instance_id, HumanTask.name, HumanTask.element_id, HumanTask.role,
                HumanTask.claimed_by, HumanTask.state)
         .where(HumanTask.instance_id.in_(ids), HumanTask.state == "ready")
         .order_by(HumanTask.created_at, HumanTask.id))
    for t in s.execute(q):
        out.setdefault(t.instance_id, []).append({"id": t.id, "name": t.name or t.element_id, "role": t.role,
                                                  "claimed_by": t.claimed_by})
    return out


def stage_p90(s, processes) -> dict[tuple[str, str], float]:
    """(process, stage) -> the p90 of the days deals spent in that stage, over every finished stay."""
    out = {}
    for pid in processes:
        for stage, (_n, _total, _median, p90) in summary.stage_stats(s, Scope(process_id=pid)).items():
            out[(pid, stage)] = p90
    return out


def search(text: str):
    """SQL: deals whose number is `text` (123 or #123), or whose name, customer or business key
    contains it, whatever the case (letters beyond ASCII match their own case on SQLite)."""
    needle = text.strip().casefold()
    found = [col.ilike(f"%{_escaped(needle)}%", escape="\\")
             for col in (Instance.title, CUSTOMER, Instance.business_key)]
    number = needle.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) < 19:
        found.append(Instance.id == int(number))
    return or_(*found)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def deal_row(r, tasks: dict, p90: dict, now: datetime) -> dict:
    """One deal as the board's card and the list's row show it: plain data."""
    days = None
    if r.status == "running" and r.stage and r.stage_entered is not None:
        days = (now - utc(r.stage_entered)).total_seconds() / DAY
    limit = p90.get((r.process_id, r.stage))
    return {"id": r.id, "title": r.title, "business_key": r.business_key, "customer": r.customer,
            "value": r.value, "owner": r.started_by, "process_id": r.process_id, "version": r.version,
            "status": r.status, "stage": r.stage, "started_at": iso(r.started_at), "ended_at": iso(r.ended_at),
            "days_in_stage": rounded(days, 1), "p90_days": rounded(limit, 1),
            "late": days is not None and limit is not None and days > limit, "tasks": tasks.get(r.id, [])}
