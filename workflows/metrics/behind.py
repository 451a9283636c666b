"""The deal ids behind one number of the metrics page, read for that number alone from the deal
record (gate decisions, stage stays, closed-deal outcomes) instead of rebuilding every figure.

Keys are those of figures.py's groups (the tests check both give the same deals); a key whose
figure the page would not show for the scope (a gate no deal passed, say) is NotFound."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from workflows.vocabulary import GATE_OUTCOMES

from engine.errors import NotFound
from engine.store.models import DealOutcome, GateDecision, Instance, StageStay
from workflows.metrics import summary
from workflows.metrics.figures import FATES
from workflows.metrics.scope import Scope, restrict

OUTCOME_KEYS = ("closed", *FATES, "decided", "costed")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def ids_behind(s, scope: Scope, key: str, now: datetime) -> list[int]:
    """Sorted ids of the deals counted in the number `key` (e.g. 'funnel/discovery/kill')."""
    family, _, rest = key.partition("/")
    if family == "funnel":
        gate, _, measure = rest.rpartition("/")
        return _funnel(s, scope, gate, measure, key)
    if key == "stalled" or (family in ("stage", "open", "stalled") and rest):
        return _stage(s, scope, family, rest or None, now, key)
    if key in OUTCOME_KEYS:
        return _outcomes(s, scope, key)
    if family in ("started", *FATES) and MONTH.match(rest):
        return _month(s, scope, family, rest, key)
    raise _missing(key)


def _missing(key: str) -> NotFound:
    return NotFound(f"no figure '{key}' in the metrics for this scope")


def _ids(s, q) -> list[int]:
    return sorted(s.scalars(q))


def _funnel(s, scope, gate, measure, key) -> list[int]:
    g = GateDecision
    passes = restrict(select(g.instance_id).distinct().where(g.gate == gate), scope, g.process_id, g.version,
                      g.decided_at)
    if measure not in ("entered", *GATE_OUTCOMES, "other") or s.scalar(passes.limit(1)) is None:
        raise _missing(key)
    if measure in GATE_OUTCOMES:
        passes = passes.where(g.outcome == measure)
    elif measure == "other":
        passes = passes.where(g.outcome.not_in(GATE_OUTCOMES))
    return _ids(s, passes)


def _stage(s, scope, family, stage, now, key) -> list[int]:
    stats = summary.stage_stats(s, scope)
    current = summary.current_stays(s, scope, s.get_bind().dialect.name)
    if stage is not None and stage not in stats and all(c[0] != stage for c in current):
        raise _missing(key)
    if family == "stalled":
        _rows, late = summary.stage_times(stats, current, now)
        return sorted({iid for st, iid, *_ in late if stage is None or st == stage})
    if family == "open":
        return sorted({iid for st, iid, _entered in current if st == stage})
    st = StageStay
    return _ids(s, restrict(select(st.instance_id).where(st.stage == stage, st.days.is_not(None)), scope,
                            st.process_id, st.version, st.left_at))


def _outcomes(s, scope, key) -> list[int]:
    d = DealOutcome
    q = restrict(select(d.instance_id), scope, d.process_id, d.version, d.ended_at)
    if key in FATES:
        q = q.where(d.fate == key)
    elif key == "decided":
        q = q.where(d.fate.in_(("won", "lost")))
    elif key == "costed":
        q = q.where(d.acquisition_cost.is_not(None))
    return _ids(s, q)


def _month(s, scope, family, month, key) -> list[int]:
    year, number = (int(x) for x in MONTH.match(month).groups())
    if not 1 <= number <= 12:
        raise _missing(key)
    start = datetime(year, number, 1, tzinfo=timezone.utc)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=timezone.utc)
    d = DealOutcome
    started = restrict(select(Instance.id), scope, Instance.process_id, Instance.version, Instance.started_at).where(
        Instance.started_at >= start, Instance.started_at < end)
    closed = restrict(select(d.instance_id), scope, d.process_id, d.version, d.ended_at).where(
        d.ended_at >= start, d.ended_at < end)
    if s.scalar(select(func.count()).select_from(started.union_all(closed).subquery())) == 0:
        raise _missing(key)  # the trend has no such month
    return _ids(s, started if family == "started" else closed.where(d.fate == family))
