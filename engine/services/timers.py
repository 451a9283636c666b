"""The timer use case: fire every timer that is due, each exactly once, from any number of workers."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from engine.services.steps import record_incident, save_step
from engine.store import deal_rows
from engine.store.models import Instance, Timer
from engine.bpmn.failures import EngineFailure
from engine.bpmn.runtime import Runner

TIMER_ACTOR = "timer"


def fire_due_timers(sg, limit: int = 1000) -> dict:
    """One worker pass: advance each instance with a due timer, one transaction per instance.

    Workers claim a deal by locking its row (FOR UPDATE SKIP LOCKED on PostgreSQL), so two
    workers never fire the same timer and never wait on each other; on SQLite the write
    transaction (BEGIN IMMEDIATE) lets one worker at a time look and fire. A worker that
    dies mid-step commits nothing: its lock goes with its connection and the timer stays
    due for the next pass. Returns counts.
    """
    fired = failed = skipped = 0
    tried: set[int] = set()
    while len(tried) < limit:
        try:
            outcome = _fire_next(sg, tried)
        except StaleDataError:
            skipped += 1  # a user's step on the deal committed first; a later pass re-checks
            continue
        except EngineFailure:
            failed += 1
            continue
        if outcome is None:
            break
        fired += outcome
    return {"fired": fired, "failed": failed, "skipped": skipped}


def _claim_due_instance(s, now, tried: set[int]) -> deal_rows.Record | None:
    """Lock one running deal that has a due timer and no other worker holds, earliest due first."""
    # Only the id goes through the sort: selecting the whole row would make PostgreSQL read
    # every candidate's engine state (tens of kB each) on every claim.
    q = (select(Instance.id).join(Timer, Timer.instance_id == Instance.id)
         .where(Timer.state == "waiting", Timer.due_at <= now, Instance.status == "running")
         .order_by(Timer.due_at, Instance.id).limit(1)
         .with_for_update(of=Instance, skip_locked=True))
    if tried:
        q = q.where(Instance.id.not_in(tried))
    instance_id = s.execute(q).scalar()
    return None if instance_id is None else deal_rows.deal(s, instance_id)


def _fire_next(sg, tried: set[int]) -> int | None:
    """Fire the due timers of one deal; None when no deal is left to try."""
    with sg.uow() as uow:
        s = uow.session
        instance = _claim_due_instance(s, sg.now(), tried)
        if instance is None:
            return None
        tried.add(instance.id)
        pv = sg.version(s, instance.process_version_id)
        spec, subs = sg.spec(s, pv.id)
        runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
        try:
            log = runner.advance()
        except EngineFailure as failure:
            uow.session.rollback()
            record_incident(sg, TIMER_ACTOR, instance.id, pv, failure)
            _mark_failed(sg, instance.id)
            raise
        save_step(sg, s, instance, pv, runner, log, TIMER_ACTOR, sg.now())
        uow.commit()
        return sum(1 for e in log.events if e["kind"] == "timer_fired")


def _mark_failed(sg, instance_id: int) -> None:
    # A timer whose step fails would fail again on every pass; park it for a person to look at.
    with sg.uow() as uow:
        for t in uow.session.execute(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting",
                                                         Timer.due_at <= sg.now())).scalars():
            t.state = "failed"
        uow.commit()
