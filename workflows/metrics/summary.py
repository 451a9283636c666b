"""The figures aggregated by the database, for the metrics page on many deals.

figures.py computes the same numbers in Python from the raw history (every deal, task and gate
decision), with the deals behind each number; this module reads the deal record kept at each step
(stage stays, closed-deal outcomes) and covering indexes, and only counts, sums and orders in SQL.
Both are checked against each other in the tests.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import Float, cast, func, literal_column, select

from workflows.vocabulary import GATE_OUTCOMES

from engine.store.models import DealOutcome, GateDecision, Instance, StageStay
from workflows.metrics.figures import DAY, FATES
from workflows.metrics.history import stage_rank
from workflows.metrics.scope import Scope, restrict
from workflows.metrics.stats import ratio_pct, rounded


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
    """Deals closed in the period by month and fate: (month, fate, deals, cost sum, deals with a cost,
    size sum, deals with a size, cycle seconds sum). One pass over the closed deals' outcome rows
    (kept as each deal closes) for both outcomes and trend."""
    d = DealOutcome
    cycle = _epoch(d.ended_at, dialect) - _epoch(d.started_at, dialect)
    q = select(_month(d.ended_at, dialect).label("m"), d.fate, func.count(), func.sum(d.acquisition_cost),
               func.count(d.acquisition_cost), func.sum(d.deal_size), func.count(d.deal_size), func.sum(cycle))
    q = restrict(q, scope, d.process_id, d.version, d.ended_at)
    return s.execute(q.group_by(literal_column("m"), d.fate)).all()


def outcomes(closed_rows: list[tuple]) -> dict:
    """Won, lost, killed, win rate, cycle time, deal size and CPA of the period's closed deals."""
    by = {f: defaultdict(float) for f in FATES}
    for _m, fate, n, cost_sum, costed, size_sum, sized, cycle_sum in closed_rows:
        acc = by[fate]
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
    for m, fate, n, *_sums in closed_rows:
        months[m][fate] += n
    return [{"month": m, **months[m], "win_rate_pct": ratio_pct(months[m]["won"], months[m]["won"] + months[m]["lost"])}
            for m in sorted(months)]


def stage_stats(s, scope: Scope) -> dict[str, tuple]:
    """Per stage, over the stays that ended in the period: (stays, total days, median, p90).

    The order statistics are read in index order (LIMIT 2 OFFSET k per quantile), so no stay is
    loaded or sorted here."""
    st = StageStay
    done = restrict(select().where(st.days.is_not(None)), scope, st.process_id, st.version, st.left_at)
    out = {}
    for stage, n, total in s.execute(done.add_columns(st.stage, func.count(), func.sum(st.days)).group_by(st.stage)):
        quantiles = []
        for q in (0.5, 0.9):
            pos = q * (n - 1)
            xs = s.scalars(done.add_columns(st.days).where(st.stage == stage)
                           .order_by(st.days).limit(2).offset(int(pos))).all()
            quantiles.append(xs[0] + (xs[-1] - xs[0]) * (pos - int(pos)))  # as stats.percentile interpolates
        out[stage] = (n, total, *quantiles)
    return out


def current_stays(s, scope: Scope, dialect: str) -> list[tuple]:
    """(stage, deal, entered epoch) of the running deals' current stays."""
    st = StageStay
    q = (select(st.stage, st.instance_id, _epoch(st.entered_at, dialect)).join(Instance, Instance.id == st.instance_id)
         .where(st.days.is_(None), Instance.status == "running"))
    return s.execute(restrict(q, scope, st.process_id, st.version)).all()


def stage_times(stats: dict[str, tuple], current: list[tuple], now: datetime) -> tuple[list[dict], list[tuple]]:
    """Median and p90 per stage, and the stalled stays (stage, deal, entered, days, p90)."""
    here = defaultdict(list)
    for stage, iid, entered in current:
        here[stage].append((iid, entered))
    now_s = _seconds(now)
    out, stalled = [], []
    for stage in sorted(set(stats) | set(here), key=lambda st: (stage_rank(st), st)):
        n, total, median, p90 = stats.get(stage, (0, None, None, None))
        late = [(stage, iid, entered, (now_s - entered) / DAY, p90) for iid, entered in here[stage]
                if p90 is not None and (now_s - entered) / DAY > p90]
        out.append({"stage": stage, "stays": n, "median_days": rounded(median), "p90_days": rounded(p90),
                    "mean_days": rounded(total / n) if n else None, "open": len(here[stage]), "stalled": len(late)})
        stalled += late
    return out, stalled


def stage_conversion(s, scope: Scope) -> dict[str, tuple[int, int]]:
    """Per stage: (closed deals that passed through it, of which won), from the outcomes recorded
    when each deal closed and its stage stays; closed in the period, if the scope has one. Read from
    the closed deals (their index), each joined to its stays by key: the open deals are not read."""
    st, d = StageStay, DealOutcome
    q = (select(st.stage, func.count(), func.count().filter(d.fate == "won"))
         .select_from(d).join(st, st.instance_id == d.instance_id))
    q = restrict(q, scope, d.process_id, d.version, d.ended_at).group_by(st.stage)
    return {stage: (closed, won) for stage, closed, won in s.execute(q)}
