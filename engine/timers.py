"""The timer use case: fire every timer that is due, each exactly once."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from .instances import _incident, _save
from .models import Instance, ProcessVersion, Timer
from .runtime import EngineFailure, Runner

TIMER_ACTOR = "timer"


def due_instances(sg, limit: int = 100) -> list[int]:
    """Instances with at least one timer due by the clock, oldest due first."""
    with sg.uow(write=False) as uow:
        rows = uow.session.execute(
            select(Timer.instance_id, Timer.due_at).where(Timer.state == "waiting", Timer.due_at <= sg.now())
            .order_by(Timer.due_at).limit(limit * 4)).all()
    seen = []
    for instance_id, _due in rows:
        if instance_id not in seen:
            seen.append(instance_id)
    return seen[:limit]


def fire_due_timers(sg, limit: int = 100) -> dict:
    """One worker pass: advance every instance that has a due timer. Returns counts."""
    fired = failed = skipped = 0
    for instance_id in due_instances(sg, limit):
        try:
            fired += _fire_instance(sg, instance_id)
        except StaleDataError:
            skipped += 1  # another worker or a user step got there first; next pass re-checks
        except EngineFailure:
            failed += 1
    return {"fired": fired, "failed": failed, "skipped": skipped}


def _fire_instance(sg, instance_id: int) -> int:
    with sg.uow() as uow:
        s = uow.session
        instance = s.get(Instance, instance_id)
        if instance is None or instance.status != "running":
            return 0
        pv = s.get(ProcessVersion, instance.process_version_id)
        spec, subs = sg.specs.spec_for(pv.id, lambda: pv.spec)
        runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
        try:
            log = runner.advance()
        except EngineFailure as failure:
            uow.session.rollback()
            _incident(sg, TIMER_ACTOR, instance_id, pv, failure)
            _mark_failed(sg, instance_id)
            raise
        _save(sg, s, instance, pv, runner, log, TIMER_ACTOR, sg.now())
        uow.commit()
        return sum(1 for e in log.events if e["kind"] == "timer_fired")


def _mark_failed(sg, instance_id: int) -> None:
    # A timer whose step fails would fail again on every pass; park it for a person to look at.
    with sg.uow() as uow:
        for t in uow.session.execute(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting",
                                                         Timer.due_at <= sg.now())).scalars():
            t.state = "failed"
        uow.commit()
