"""The metrics page's figures in one read, and the deals behind any of its numbers."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from engine.actors import is_operator, load_user, require_any_role
from engine.clock import iso
from engine.store.models import Instance
from workflows.vocabulary import METRICS_ROLES

from workflows.metrics import behind, figures, history, summary
from workflows.metrics.scope import Scope, restrict
from workflows.metrics.stats import rounded

DEALS_PAGE = 100  # deals listed per page behind a number


def require_reader(sg, actor: str) -> None:
    """Refuse unless `actor` may read the metrics (Sales Leadership, auditors, process designers)."""
    if is_operator(actor):
        return
    with sg.uow(write=False) as uow:
        require_any_role(load_user(uow.session, actor), list(METRICS_ROLES), "see the sales metrics")


def report(sg, scope: Scope) -> dict:
    """Funnel, time in stage, stalled deals, outcomes and the monthly trend, aggregated by the database."""
    now = history.utc(sg.now())
    with sg.uow(write=False) as uow:
        s = uow.session
        dialect = s.get_bind().dialect.name
        count = restrict(select(func.count()).select_from(Instance), scope, Instance.process_id, Instance.version)
        stages, late = summary.stage_times(summary.stage_stats(s, scope), summary.current_stays(s, scope, dialect), now)
        closed = summary.closed(s, scope, dialect)
        names = {r[0]: r[1:] for r in s.execute(select(Instance.id, Instance.title, Instance.version)
                                                .where(Instance.id.in_({x[1] for x in late})))} if late else {}
        result = {"scope": scope.as_dict(), "now": iso(now), "deals": s.scalar(count),
                  "funnel": summary.funnel(s, scope), "stages": stages,
                  "stalled": sorted(({"id": iid, "title": names[iid][0], "version": names[iid][1], "stage": stage,
                                      "entered_at": iso(datetime.fromtimestamp(entered, timezone.utc)),
                                      "days_in_stage": rounded(days), "p90_days": rounded(p90)}
                                     for stage, iid, entered, days, p90 in late), key=lambda r: -r["days_in_stage"]),
                  "outcomes": summary.outcomes(closed), "trend": summary.trend(s, scope, dialect, closed)}
    return result


def detail(sg, scope: Scope) -> dict:
    """The same figures computed in Python from per-deal rows, with `groups`: the deal ids behind
    every number (key -> ids), for drill-downs and the CSV export."""
    now = history.utc(sg.now())
    with sg.uow(write=False) as uow:
        s = uow.session
        deals = history.deals(s, scope)
        passes = history.gate_passes(s, scope)
        entries = history.stage_entries(s, scope)
    groups: dict[str, list[int]] = {}
    stages, stalled = figures.stage_times(figures.stays(deals, entries), scope, now, groups)
    for row in stalled:
        row["entered_at"] = iso(row["entered_at"])
    return {"scope": scope.as_dict(), "now": iso(now), "deals": len(deals),
            "funnel": figures.funnel(passes, groups), "stages": stages, "stalled": stalled,
            "outcomes": figures.outcomes(deals, scope, groups), "trend": figures.trend(deals, scope, groups),
            "groups": groups}


def deals_behind(sg, scope: Scope, key: str, page: int = 1, per_page: int = DEALS_PAGE) -> dict:
    """The deals counted in one number of the report (its key, e.g. 'funnel/discovery/kill'), one
    page of them in id order, with their count."""
    now = history.utc(sg.now())
    with sg.uow(write=False) as uow:
        ids = behind.ids_behind(uow.session, scope, key, now)
        pages = max(1, -(-len(ids) // per_page))
        page = min(max(1, page), pages)
        shown = ids[(page - 1) * per_page:page * per_page]
        rows = uow.session.execute(select(Instance.id, Instance.title, Instance.version, Instance.status,
                                          Instance.stage, Instance.started_at, Instance.ended_at,
                                          Instance.data["outcome"].as_string())
                                   .where(Instance.id.in_(shown)).order_by(Instance.id)).all() if shown else []
    return {"key": key, "scope": scope.as_dict(), "count": len(ids), "page": page, "pages": pages,
            "deals": [{"id": r[0], "title": r[1], "version": r[2], "status": r[3], "stage": r[4],
                       "started_at": iso(r[5]), "ended_at": iso(r[6]), "outcome": r[7]} for r in rows]}
