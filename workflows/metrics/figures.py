"""The figures, computed from loaded history rows. Each returns plain data, and registers the
deals behind every number in `groups` (key -> deal ids) so each number can list its deals."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from workflows.vocabulary import GATE_OUTCOMES

from workflows.metrics.history import Deal, GatePass, stage_rank
from workflows.metrics.scope import Scope
from workflows.metrics.stats import mean, percentile, ratio_pct, rounded

DAY = 86400.0
FATES = ("won", "lost", "killed")


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY


def _ids(values) -> list[int]:
    return sorted(set(values))


def funnel(passes: list[GatePass], groups: dict) -> list[dict]:
    """Per gate, in process order: passes entered, each outcome, and go/entered as conversion.

    Every pass counts: a deal recycled once and then passed counts twice as entered."""
    gates: dict[str, dict] = {}
    for p in passes:
        g = gates.setdefault(p.gate, {"gate": p.gate, "stage": p.stage, "entered": [],
                                      **{o: [] for o in GATE_OUTCOMES}, "other": []})
        g["entered"].append(p.instance_id)
        g[p.outcome if p.outcome in GATE_OUTCOMES else "other"].append(p.instance_id)
    rows = []
    first_seen = {gate: i for i, gate in enumerate(gates)}
    for g in sorted(gates.values(), key=lambda g: (stage_rank(g["stage"]), first_seen[g["gate"]])):
        row = {"gate": g["gate"], "stage": g["stage"]}
        for measure in ("entered", *GATE_OUTCOMES, "other"):
            row[measure] = len(g[measure])
            groups[f"funnel/{g['gate']}/{measure}"] = _ids(g[measure])
        row["deals"] = len(set(g["entered"]))
        row["conversion_pct"] = ratio_pct(row["go"], row["entered"])
        rows.append(row)
    return rows


def stays(deals: list[Deal], entries: dict) -> list[dict]:
    """Each deal's stays in its stages: from entering a stage to entering the next (or the end)."""
    out = []
    for d in deals:
        marks = entries.get(d.id, [])
        for i, (entered, stage) in enumerate(marks):
            left = marks[i + 1][0] if i + 1 < len(marks) else (d.ended_at if d.status == "completed" else None)
            out.append({"deal": d, "stage": stage, "entered": entered, "left": left})
    return out


def stage_times(all_stays: list[dict], scope: Scope, now: datetime, groups: dict) -> tuple[list[dict], list[dict]]:
    """Median and p90 days in each stage over the stays that ended in the period; and the open
    deals sitting in a stage longer than that stage's p90 (stalled), longest first."""
    done, current = defaultdict(list), defaultdict(list)
    for s in all_stays:
        if s["left"] is not None and scope.covers(s["left"]):
            done[s["stage"]].append(s)
        elif s["left"] is None and s["deal"].status == "running":
            current[s["stage"]].append(s)
    rows, stalled = [], []
    for stage in sorted(set(done) | set(current), key=lambda st: (stage_rank(st), st)):
        durations = [_days(s["entered"], s["left"]) for s in done[stage]]
        p90 = percentile(durations, 0.9)
        late = [s for s in current[stage] if p90 is not None and _days(s["entered"], now) > p90]
        groups[f"stage/{stage}"] = _ids(s["deal"].id for s in done[stage])
        groups[f"open/{stage}"] = _ids(s["deal"].id for s in current[stage])
        groups[f"stalled/{stage}"] = _ids(s["deal"].id for s in late)
        rows.append({"stage": stage, "stays": len(durations), "median_days": rounded(percentile(durations, 0.5)),
                     "p90_days": rounded(p90), "mean_days": rounded(mean(durations)),
                     "open": len(current[stage]), "stalled": len(late)})
        stalled += [{"id": s["deal"].id, "title": s["deal"].title, "version": s["deal"].version, "stage": stage,
                     "entered_at": s["entered"], "days_in_stage": rounded(_days(s["entered"], now)),
                     "p90_days": rounded(p90)} for s in late]
    stalled.sort(key=lambda r: -r["days_in_stage"])
    groups["stalled"] = _ids(r["id"] for r in stalled)
    return rows, stalled


def outcomes(deals: list[Deal], scope: Scope, groups: dict) -> dict:
    """Deals closed in the period: won, lost, killed, win rate, cycle time, deal size and CPA.

    Win rate is won / (won + lost); cost per acquisition is the acquisition cost recorded on
    the period's closed deals divided by the deals won."""
    closed = [d for d in deals if d.fate in FATES and scope.covers(d.ended_at)]
    by_fate = {f: [d for d in closed if d.fate == f] for f in FATES}
    decided = by_fate["won"] + by_fate["lost"]
    costed = [d for d in closed if d.acquisition_cost is not None]
    sizes = [d.size for d in by_fate["won"] if d.size is not None]
    cost = sum(d.acquisition_cost for d in costed)
    won = len(by_fate["won"])
    groups["closed"] = _ids(d.id for d in closed)
    for f in FATES:
        groups[f] = _ids(d.id for d in by_fate[f])
    groups["decided"] = _ids(d.id for d in decided)
    groups["costed"] = _ids(d.id for d in costed)
    return {"closed": len(closed), "won": won, "lost": len(by_fate["lost"]), "killed": len(by_fate["killed"]),
            "win_rate_pct": ratio_pct(won, len(decided)),
            "avg_cycle_days": rounded(mean([_days(d.started_at, d.ended_at) for d in decided])),
            "avg_deal_size": rounded(mean(sizes)), "won_value": sum(sizes),
            "acquisition_cost": cost, "costed": len(costed), "cpa": round(cost / won, 2) if won else None}


def trend(deals: list[Deal], scope: Scope, groups: dict) -> list[dict]:
    """Per calendar month (UTC): deals started, won, lost and killed, and the month's win rate."""
    months: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [] for k in ("started", *FATES)})
    for d in deals:
        if scope.covers(d.started_at):
            months[d.started_at.strftime("%Y-%m")]["started"].append(d.id)
        if d.fate in FATES and scope.covers(d.ended_at):
            months[d.ended_at.strftime("%Y-%m")][d.fate].append(d.id)
    rows = []
    for month in sorted(months):
        row = {"month": month}
        for k, ids in months[month].items():
            row[k] = len(ids)
            groups[f"{k}/{month}"] = _ids(ids)
        row["win_rate_pct"] = ratio_pct(row["won"], row["won"] + row["lost"])
        rows.append(row)
    return rows
