"""The timer start use case: the worker starts a deal each time a timer start event is due.

Each timer start event of a deployed version has a schedule row holding when it next starts a
deal (engine/bpmn/schedules.py reads the timer). Deploying a newer version of the process
replaces the older version's schedule, as in Camunda: only the newest version's timers start
deals. Workers claim a due row by locking it (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
write transaction lets one worker at a time look), and move it to its next due time in the
transaction that starts the deal, so each due time starts exactly one deal however many
workers run. A start that fails is an incident, and its due time is spent all the same.
"""
from __future__ import annotations

from sqlalchemy import select, update

from engine.bpmn import schedules
from engine.bpmn.failures import EngineFailure
from engine.clock import iso, utc
from engine.services import outbox
from engine.services.formless_start import new_deal
from engine.services.steps import record_incident, save_step
from engine.services.timers import TIMER_ACTOR
from engine.store.models import Instance, ProcessVersion, TimerStartSchedule


def timer_starts(model: dict) -> list[dict]:
    """The process's own start events that carry a timer."""
    return [el for el in model["elements"].values()
            if el["type"] == "startEvent" and el.get("parent") is None and el.get("timer")]


def schedule_of(el: dict) -> schedules.Schedule:
    return schedules.read(el["timer"]["kind"], el["timer"].get("written") or el["timer"]["expression"])


def schedule_version(s, pv: ProcessVersion) -> None:
    """In the deploy's transaction: schedule the new version's timer start events, and stop those of
    the process's older versions."""
    s.execute(update(TimerStartSchedule).where(
        TimerStartSchedule.process_id == pv.process_id, TimerStartSchedule.process_version_id != pv.id,
        TimerStartSchedule.state == "waiting").values(state="replaced"))
    for el in timer_starts(pv.model):
        due = schedule_of(el).first_due(utc(pv.deployed_at))
        s.add(TimerStartSchedule(process_version_id=pv.id, element_id=el["id"], process_id=pv.process_id,
                                 state="waiting" if due else "spent", next_due_at=due, started=0))


def start_due_deals(sg, limit: int = 200) -> dict:
    """One worker pass: start a deal for each due timer start event, one transaction each; returns counts."""
    started = failed = 0
    while started + failed < limit:
        try:
            if not _start_next(sg):
                break
            started += 1
        except EngineFailure:
            failed += 1
    return {"started": started, "failed": failed}


def _start_next(sg) -> bool:
    """Start the deal of the earliest due schedule no other worker holds; False when none is due."""
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        row = s.execute(select(TimerStartSchedule).where(
            TimerStartSchedule.state == "waiting", TimerStartSchedule.next_due_at <= now)
            .order_by(TimerStartSchedule.next_due_at, TimerStartSchedule.process_version_id,
                      TimerStartSchedule.element_id).limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
        if row is None:
            return False
        version = s.get(ProcessVersion, row.process_version_id)
        pv = sg.specs.version(version.id, lambda: version)
        el = pv.model["elements"][row.element_id]
        schedule, due = schedule_of(el), utc(row.next_due_at)
        following = schedule.next_due(utc(version.deployed_at), max(now, due))
        timer = {"element_id": el["id"], "element_name": el.get("name"), "kind": el["timer"]["kind"],
                 "text": schedule.text, "due_at": iso(due), "process_version_id": pv.id}
        try:
            instance = _start(sg, s, pv, version, el, timer, now)
        except EngineFailure as failure:
            s.rollback()
            record_incident(sg, TIMER_ACTOR, None, pv, failure)
            _spend(sg, row.process_version_id, row.element_id, due, following)
            raise
        _advance_schedule(row, following, now)
        outbox.emit(s, "deal.started", now, instance, started_by=TIMER_ACTOR, data={}, timer=timer)
        uow.commit()
        return True


def _start(sg, s, pv, version, el, timer, now) -> Instance:
    instance, runner = new_deal(sg, s, pv, lambda: version.spec, TIMER_ACTOR, now, el["id"],
                                {"data": {}, "timer": timer})
    log = runner.advance()
    save_step(sg, s, instance, pv, runner, log, TIMER_ACTOR, now)
    return instance


def _advance_schedule(row: TimerStartSchedule, following, now) -> None:
    row.started += 1
    row.last_started_at = now
    row.next_due_at = following
    row.state = "waiting" if following else "spent"


def _spend(sg, version_id: int, element_id: str, due, following) -> None:
    # The failed start's due time is spent, or every pass would fail it again; the incident says why.
    with sg.uow() as uow:
        row = uow.session.execute(select(TimerStartSchedule).where(
            TimerStartSchedule.process_version_id == version_id, TimerStartSchedule.element_id == element_id)
            .with_for_update()).scalar_one()
        if row.state == "waiting" and utc(row.next_due_at) == due:
            row.next_due_at = following
            row.state = "waiting" if following else "spent"
            uow.commit()
