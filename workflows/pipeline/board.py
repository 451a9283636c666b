"""The pipeline board: the open deals a user may see, in columns by stage, with each column's count,
value and forecast (value weighted by the stage's historical conversion to won)."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.actors import load_user
from engine.clock import utc
from engine.queries.views import visible_processes
from engine.store.models import Instance, StageStay
from workflows.metrics import summary
from workflows.metrics.scope import Scope
from workflows.metrics.stats import ratio_pct
from workflows.pipeline.common import (NO_STAGE, VALUE, Filters, choices, deal_row, details, narrowed, open_tasks,
                                       stage_order, stage_p90, visible, with_stay)

CARDS_PER_STAGE = 50  # the longest-waiting deals of a column; the rest are counted and listed on /deals
FORECAST_RULE = ("Forecast: each deal's value × the share of its process's closed deals that passed through "
                 "its stage and were won (from the outcomes recorded when deals closed; no typed-in probability).")


def board(sg, user: str, filters: Filters = Filters(), cards: int | None = None) -> dict:
    """The columns (one per stage, in process order) of open deals matching the filters, with totals;
    at most `cards` deals shown per column (default CARDS_PER_STAGE)."""
    cards = cards or CARDS_PER_STAGE
    now = utc(sg.now())
    processes = visible_processes(sg, user)
    with sg.uow(write=False) as uow:
        s = uow.session
        load_user(s, user)
        offered = choices(s, processes)
        seen = visible(processes, list(offered["names"]), user)
        open_deals = select().where(seen, Instance.status == "running")
        groups = s.execute(narrowed(open_deals.add_columns(Instance.process_id, Instance.stage, func.count().label("n"),
                                                           func.sum(VALUE).label("total")), filters)
                           .group_by(Instance.process_id, Instance.stage)).all()
        # The first `cards` deals of each stage, longest in the stage first: their ids in one windowed
        # read of the few columns it orders on, then their columns by primary key.
        place = func.row_number().over(partition_by=Instance.stage,
                                       order_by=(StageStay.entered_at.asc().nulls_last(), Instance.id))
        ranked = narrowed(with_stay(open_deals.add_columns(Instance.id, place.label("place"))), filters).subquery()
        ids = s.scalars(select(ranked.c.id).where(ranked.c.place <= cards).order_by(ranked.c.place)).all()
        shown = details(s, ids)
        rows = [shown[i] for i in ids]
        on_board = {g.process_id for g in groups}
        p90 = stage_p90(s, on_board)
        rates = {pid: summary.stage_conversion(s, Scope(process_id=pid)) for pid in on_board}
        tasks = open_tasks(s, ids)
    names = offered["names"]
    columns = []
    stages = stage_order(g.stage for g in groups)
    if filters.stage:  # the chosen stage alone, not empty columns around it
        stages = [None if filters.stage == NO_STAGE else filters.stage]
    for stage in stages:
        mine = [g for g in groups if g.stage == stage]
        count = sum(g.n for g in mine)
        value = sum(g.total or 0 for g in mine)
        conversions = [_conversion(g.process_id, rates[g.process_id].get(stage), names) for g in mine]
        known = [(g, c) for g, c in zip(mine, conversions) if c["closed"]]
        columns.append({
            "stage": stage, "count": count, "value": value,
            "forecast": sum((g.total or 0) * c["won"] / c["closed"] for g, c in known) if known else None,
            "conversions": conversions,
            "cards": [deal_row(r, tasks, p90, now) for r in rows if r.stage == stage],
        })
        columns[-1]["more"] = count - len(columns[-1]["cards"])
    return {"columns": columns, "choices": offered,
            "count": sum(c["count"] for c in columns), "value": sum(c["value"] for c in columns),
            "forecast": sum(c["forecast"] or 0 for c in columns), "rule": FORECAST_RULE}


def _conversion(process_id: str, history: tuple[int, int] | None, names: dict) -> dict:
    closed, won = history or (0, 0)
    return {"process_id": process_id, "process": names.get(process_id, process_id), "closed": closed, "won": won,
            "pct": ratio_pct(won, closed)}
