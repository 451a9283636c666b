"""The figures aggregated by the database, for the metrics page on many deals.

figures.py computes the same numbers in Python from per-deal rows, with the deals behind each
number; this module only counts, sums and orders in SQL, so the page reads a few hundred rows
instead of every deal, task and gate decision. Both are checked against each other in the tests.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import Float, and_, case, cast, func, literal_column, or_, select, union_all

from workflows.vocabulary import GATE_OUTCOMES, STAGES

from ..models import GateDecision, HumanTask, Instance
from .figures import DAY, FATES
from .history import CLOSE_OUTCOMES, stage_rank
from .scope import Scope, restrict
from .stats import percentile, ratio_pct, rounded


def _epoch(col, dialect: str):
    """Seconds since 1970 (UTC) of a timestamp column, in the database."""
    if dialect == "sqlite":
        return (func.julianday(col) - 2440587.5) * 86400.0
    return cast(func.extract("epoch", col), Float)  # PostgreSQL's numeric would come back as Decimal


def _month(col, dialect: str):
    """'YYYY-MM' of a timestamp column, in UTC."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m", col)
    return func.to_char(func.timezone("UTC", col), "YYYY-MM")


def _seconds(at: datetime | None) -> float | None:
    return None if at is None else at.astimezone(timezone.utc).timestamp()


def funnel(s, scope: Scope) -> list[dict]:
    """Passes per gate and outcome in the period, gates in process order."""
    g = GateDecision
    base = restrict(select(), scope, g.process_id, g.version, g.decided_at)
    counts = s.execute(base.add_columns(g.gate, g.stage, g.outcome, func.count(), func.min(g.id))
                       .group_by(g.gate, g.stage, g.outcome)).all()
    deals = dict(s.execute(base.add_columns(g.gate, func.count(func.distinct(g.instance_id))).group_by(g.gate)).all())
    gates: dict[str, dict] = {}
    for gate, stage, outcome, n, first in counts:
        row = gates.setdefault(gate, {"gate": gate, "stage": stage, "entered": 0, **{o: 0 for o in GATE_OUTCOMES},
                                      "other": 0, "first": first})
        row["entered"] += n
        row[outcome if outcome in GATE_OUTCOMES else "other"] += n
        row["first"] = min(row["first"], first)
    rows = sorted(gates.values(), key=lambda r: (stage_rank(r["stage"]), r["first"]))
    for r in rows:
        del r["first"]
        r["deals"] = deals[r["gate"]]
        r["conversion_pct"] = ratio_pct(r["go"], r["entered"])
    return rows


def closed(s, scope: Scope, dialect: str) -> list[tuple]:
    """Deals closed in the period by month and recorded outcome: (month, outcome, deals, cost sum,
    deals with a cost, size sum, deals with a size, cycle seconds sum). One pass for outcomes and trend."""
    data = Instance.data
    cost = data["acquisition_cost"].as_float()
    size = func.coalesce(data["final_price"].as_float(), data["deal_value"].as_float())
    cycle = _epoch(Instance.ended_at, dialect) - _epoch(Instance.started_at, dialect)
    q = select(_month(Instance.ended_at, dialect).label("m"), data["outcome"].as_string().label("o"), func.count(),
               func.sum(cost), func.count(cost), func.sum(size), func.count(size), func.sum(cycle)
               ).where(Instance.status == "completed")
    q = restrict(q, scope, Instance.process_id, Instance.version, Instance.ended_at)
    return s.execute(q.group_by(literal_column("m"), literal_column("o"))).all()


def _fate(outcome: str | None) -> str:
    return outcome if outcome in CLOSE_OUTCOMES else "killed"  # completed without won/lost: killed at a gate


def outcomes(closed_rows: list[tuple]) -> dict:
    """Won, lost, killed, win rate, cycle time, deal size and CPA of the period's closed deals."""
    by = {f: defaultdict(float) for f in FATES}
    for _m, o, n, cost_sum, costed, size_sum, sized, cycle_sum in closed_rows:
        acc = by[_fate(o)]
        for key, v in (("n", n), ("cost", cost_sum), ("costed", costed), ("size", size_sum), ("sized", sized),
                       ("cycle", cycle_sum)):
            acc[key] += float(v or 0)
    won, lost = by["won"], by["lost"]
    cost_total = sum(by[f]["cost"] for f in FATES)
    decided = int(won["n"] + lost["n"])
    return {"closed": int(sum(by[f]["n"] for f in FATES)), "won": int(won["n"]), "lost": int(lost["n"]),
            "killed": int(by["killed"]["n"]), "win_rate_pct": ratio_pct(int(won["n"]), decided),
            "avg_cycle_days": rounded((won["cycle"] + lost["cycle"]) / decided / DAY) if decided else None,
            "avg_deal_size": rounded(won["size"] / won["sized"]) if won["sized"] else None, "won_value": won["size"],
            "acquisition_cost": cost_total, "costed": int(sum(by[f]["costed"] for f in FATES)),
            "cpa": round(cost_total / won["n"], 2) if won["n"] else None}


def trend(s, scope: Scope, dialect: str, closed_rows: list[tuple]) -> list[dict]:
    """Per month: deals started, and deals won, lost and killed."""
    months: dict[str, dict] = defaultdict(lambda: {"started": 0, **{f: 0 for f in FATES}})
    started = _month(Instance.started_at, dialect).label("m")
    q = restrict(select(started, func.count()), scope, Instance.process_id, Instance.version, Instance.started_at)
    for m, n in s.execute(q.group_by(literal_column("m"))):
        months[m]["started"] += n
    for m, o, n, *_sums in closed_rows:
        months[m][_fate(o)] += n
    return [{"month": m, **months[m], "win_rate_pct": ratio_pct(months[m]["won"], months[m]["won"] + months[m]["lost"])}
            for m in sorted(months)]


def stays(s, scope: Scope, dialect: str) -> list[tuple]:
    """(stage, deal, entered epoch, seconds in stage or None while there) of the stays that ended in
    the period, and of the running deals' current stays. A stay runs from the first task or gate
    of a stage to the first of the next stage (or the deal's end)."""
    def firsts(table, at):  # grouped per table first: each is a walk along its covering index
        return (select(table.instance_id.label("iid"), table.stage.label("stage"), func.min(at).label("at"))
                .where(table.stage.is_not(None)).group_by(table.instance_id, table.stage))

    marks = union_all(firsts(HumanTask, HumanTask.created_at), firsts(GateDecision, GateDecision.decided_at)).subquery()
    first = (select(marks.c.iid, marks.c.stage, func.min(marks.c.at).label("entered"))
             .group_by(marks.c.iid, marks.c.stage).subquery())
    rank = case({st: i for i, st in enumerate(STAGES)}, value=first.c.stage, else_=len(STAGES))
    entered = _epoch(first.c.entered, dialect)
    nxt = func.lead(entered).over(partition_by=first.c.iid, order_by=(first.c.entered, rank))
    ordered = select(first.c.iid, first.c.stage, entered.label("e"), nxt.label("n")).subquery()
    left = func.coalesce(ordered.c.n, _epoch(Instance.ended_at, dialect))
    done = left.is_not(None)
    if scope.since is not None:
        done = and_(done, left >= _seconds(scope.since))
    if scope.until is not None:
        done = and_(done, left < _seconds(scope.until))
    q = (select(ordered.c.stage, ordered.c.iid, ordered.c.e, left - ordered.c.e)
         .join(Instance, Instance.id == ordered.c.iid)
         .where(or_(done, and_(left.is_(None), Instance.status == "running"))))
    return s.execute(restrict(q, scope, Instance.process_id, Instance.version)).all()


def stage_times(rows: list[tuple], now: datetime) -> tuple[list[dict], list[tuple]]:
    """Median and p90 per stage, and the stalled stays (stage, deal, entered, days, p90)."""
    done, current = defaultdict(list), defaultdict(list)
    for stage, iid, entered, seconds in rows:
        (done[stage].append(seconds / DAY) if seconds is not None else current[stage].append((iid, entered)))
    now_s = _seconds(now)
    out, stalled = [], []
    for stage in sorted(set(done) | set(current), key=lambda st: (stage_rank(st), st)):
        p90 = percentile(done[stage], 0.9)
        late = [(stage, iid, entered, (now_s - entered) / DAY, p90) for iid, entered in current[stage]
                if p90 is not None and (now_s - entered) / DAY > p90]
        out.append({"stage": stage, "stays": len(done[stage]), "median_days": rounded(percentile(done[stage], 0.5)),
                    "p90_days": rounded(p90), "mean_days": rounded(sum(done[stage]) / len(done[stage]))
                    if done[stage] else None, "open": len(current[stage]), "stalled": len(late)})
        stalled += late
    return out, stalled
