"""Saving one step of an instance (a start, a completion, a fired timer) in the step's transaction:
the engine's new state, the inbox rows, the gate decisions, the timers and the audit events.

save_step reads as the sequence of what a step writes; each part below does one of them."""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple
from datetime import datetime, timezone

from engine import audit, domain, outcomes
from engine.assignment import task_keys
from engine.bpmn import definitions
from engine.bpmn.external_runtime import waiting_for_workers
from engine.bpmn.failures import EngineFailure
from engine.clock import iso
from engine.errors import StepFailed
from engine.services import outbox
from engine.services.external_sync import sync_external_tasks
from engine.services.task_opening import assign_on_open, due_instant
from engine.store import deal_rows, open_tasks
from engine.store.models import GateDecision, HumanTask, Incident, TaskRole, Timer
from engine.store.prepared import insert_rows

TASKS, TIMERS = HumanTask.__table__, Timer.__table__


def save_step(sg, s, instance, pv, runner, log, actor, now, done=None) -> StepTasks:
    """Write the engine's new state, the inbox rows and the audit events of the step (`instance`: the
    deal's record, deal_rows.Record; `done`: the task record the step completed, already marked so).

    Returns the deal's open human tasks: those that were open before and still are, and those the step opened."""
    model = pv.model
    if s.new or s.dirty or s.deleted:
        s.flush()  # what the use case changed through the ORM first (an external task it completed): read below
    ready, timers = runner.ready_human_tasks(), runner.waiting_timers()
    timer_rows, fired = _timer_rows(s, instance, pv, runner, timers)
    waiting = waiting_for_workers(runner)  # the external tasks ready for a worker
    previous_stage = _store_instance(sg, s, instance, runner, log, model, ready, now)
    _record_engine_events(s, instance, log, actor, now)
    counts = Counter()  # the inbox's counts, changed by the tasks this step closes and opens
    rows = deal_rows.open_and_named(s, TASKS, "ready", instance, {t["id"] for t in ready})
    if done is not None:
        rows[done.id] = done
    still_open = _close_tasks(s, instance, rows, ready, log, actor, now, done, counts)
    new_tasks = _open_new_tasks(s, instance, model, rows, ready, timers, now, counts, actor)
    _record_gate_decisions(s, instance, log, now)
    end = model["elements"].get(log.ended_at_element or "", {})
    ending = _ending(s, instance, runner, log, end)
    entered = [g.get("stage") for g in log.gate_decisions] + [ht.stage for ht in new_tasks]
    _tell_observers(s, domain.Step(instance, previous_stage, entered, now, ending, tuple(new_tasks),
                                   tuple(log.gate_decisions), model, deal_rows.starting(instance)))
    if getattr(pv, "has_external_tasks", True):  # else it never has rows to read or write: skip the query
        sync_external_tasks(s, instance, waiting, now, actor)
    _sync_timers(s, instance, timers, timer_rows, fired, model, now, actor)
    if instance.status == "completed":
        _record_end(s, instance, log, actor, now, end, ending)
    open_tasks.apply(s, counts)  # last: see open_tasks on lock order
    instance.starting = False  # its rows are written: a later step of the transaction reads them
    return StepTasks(still_open, new_tasks)


class Settled(NamedTuple):
    """A step's engine outcome as stored: the deal's data and its compacted engine state."""

    data: dict
    state: dict


def settle(sg, runner) -> Settled:
    """The deal's data and compacted, serialized engine state once the step's engine work is done,
    worked out once per runner: a completion does it before it takes the write lock, so that the lock
    is held for the writes alone. Nothing may run on the runner after."""
    if runner.settled is None:
        data = runner.data()  # before compaction: the data is the last finished task's
        runner.compact()
        runner.settled = Settled(data, sg.specs.dump_state(runner.workflow))
    return runner.settled


class StepTasks(NamedTuple):
    """The deal's open human tasks after a step (deal_rows.Record)."""

    still_open: list  # open before the step, and still open
    opened: list  # opened by the step

    @property
    def open(self) -> list:
        return self.still_open + self.opened


def _timer_rows(s, instance, pv, runner, timers) -> tuple[dict, set]:
    """The waiting timer rows and any row of a timer the engine still waits on (a parked "failed"
    one), and which waiting ones fired (the runner remembers those compaction dropped)."""
    rows = deal_rows.open_and_named(s, TIMERS, "waiting", instance, {t["id"] for t in timers}) \
        if _has_timers(pv) else {}
    fired = {tid for tid, row in rows.items() if row.state == "waiting" and runner.timer_fired(tid, row.element_id)}
    return rows, fired


def _store_instance(sg, s, instance, runner, log, model, ready, now) -> str | None:
    """The deal's row moved on: its stage, compacted engine state, data and status. Returns the
    stage it was in. Written first, so a lost race fails here, on the version check, before
    anything else of the stale step is written."""
    settled = settle(sg, runner)
    stages = [_element_of(model, t).get("properties", {}).get("stage") for t in ready]
    previous_stage = instance.stage
    instance.stage = next((st for st in stages if st), instance.stage)
    instance.state, instance.data = settled.state, settled.data
    if runner.completed:
        instance.status, instance.ended_at, instance.ended_at_element = "completed", now, log.ended_at_element
    deal_rows.save_deal(s, instance)
    return previous_stage


def _record_engine_events(s, instance, log, actor, now) -> None:
    """What the engine did in the step (gate decisions, service tasks...), on behalf of `actor`."""
    for ev in log.events:
        audit.record(s, now, "engine", ev["kind"], instance_id=instance.id, process_id=instance.process_id,
                     version=instance.version, element_id=ev.get("element_id"),
                     details={**ev["details"], "on_behalf_of": actor})


def _close_tasks(s, instance, rows, ready, log, actor, now, done, counts) -> list:
    """Cancel the open tasks the flow left, write them and the task done, and drop every closed task
    from the inbox's index; returns the tasks still open. `rows`: the open rows and the ones for
    tasks now ready, never the whole history of the deal."""
    ready_ids = {t["id"] for t in ready}
    closed = [row.id for row in rows.values() if row.state != "ready" or row.id not in ready_ids]
    cancelled = [row for row in rows.values() if row.state == "ready" and row.id not in ready_ids]
    for row in cancelled:
        row.state, row.completed_at = "cancelled", now
        # Withdrawn by the engine (an escalation whose task ended), or by the flow (an interrupting event).
        why = log.withdrawn.get(row.id, {"reason": "flow_moved_on"})
        audit.record(s, now, "engine", "task_cancelled", instance_id=instance.id, process_id=instance.process_id,
                     version=instance.version, element_id=row.element_id,
                     details={"task_id": row.id, "task_name": row.name, "role": row.role,
                              "claimed_by": row.claimed_by,
                              **({"called_process": row.called_process} if row.called_process else {}),
                              **why, "on_behalf_of": actor})
    deal_rows.update_rows(s, TASKS, cancelled + ([done] if done is not None else []),
                          ("state", "completed_at", "completed_by"))
    for key in deal_rows.drop_from_inbox(s, closed):  # the inbox's index holds open tasks only
        counts[open_tasks.key_of(*key)] -= 1
    return [row for row in rows.values() if row.state == "ready" and row.id in ready_ids]


def _open_new_tasks(s, instance, model, rows, ready, timers, now, counts, actor) -> list:
    """A row for each task the step made ready, with its inbox index entries and due date."""
    new, index = [], []
    for t in ready:
        if t["id"] in rows:
            continue
        el = _element_of(model, t)  # as the task's own process defines it, a called one included
        sla = [parse_instant(x["due_at"]) for x in timers if x["called_process"] == t["called_process"]
               and _element_of(model, x).get("attached_to") == t["element_id"]]
        who = t.get("who") or {"roles": el.get("roles", []), "candidate_users": el.get("candidate_users", [])}
        sla += [due_instant(who["due"])] if who.get("due") else []  # camunda:dueDate
        ht = deal_rows.new_row(TASKS, id=t["id"], instance_id=instance.id, process_id=instance.process_id,
                                element_id=t["element_id"], name=el.get("name") or t["element_id"],
                                role=(who["roles"] or [""])[0], roles=who["roles"],
                                candidate_users=who["candidate_users"], called_process=t["called_process"],
                                stage=el.get("properties", {}).get("stage"), form=el.get("form", []),
                                state="ready", created_at=now, due_at=min(sla) if sla else None,
                                follow_up_at=due_instant(who["follow_up"]) if who.get("follow_up") else None)
        if who.get("assignee"):
            assign_on_open(s, ht, who["assignee"], now, actor)
        new.append(ht)
        keys = task_keys(ht.roles, ht.candidate_users)
        for key in keys:  # (a task of candidate users only, or open to anyone, has no role: NULL)
            index.append(dict(task_id=ht.id, role=key, process_id=ht.process_id, lane_role=ht.role or None,
                              stage=ht.stage, created_at=ht.created_at, due_at=ht.due_at, shared=len(keys) > 1))
            counts[open_tasks.key_of(key, ht.process_id, ht.role, ht.stage)] += 1
    deal_rows.insert_rows(s, TASKS, new)
    deal_rows.insert_rows(s, TaskRole.__table__, index)  # after the tasks they reference
    return new


def _record_gate_decisions(s, instance, log, now) -> None:
    if log.gate_decisions:
        insert_rows(s, GateDecision.__table__, [
            dict(instance_id=instance.id, process_id=instance.process_id, version=instance.version, gate=g["gate"],
                 element_id=g["element_id"], stage=g.get("stage"), outcome=g["outcome"], inputs=g["values_read"],
                 decided_by=g["decided_by"], reason=_text(g.get("reason")), decided_at=now)
            for g in log.gate_decisions])


def _ending(s, instance, runner, log, end: dict) -> dict | None:
    """How the instance ended, from its last gate decision and the end event reached (None while it runs)."""
    if instance.status != "completed":  # (the engine's own check walks every task: asked once, in _store_instance)
        return None
    return outcomes.derive(instance.status, end, outcomes.last_gate(s, instance.id, log.gate_decisions))


def _tell_observers(s, step: domain.Step) -> None:
    """The step observers the composition root installed (the outbox, the sales domain's deal record),
    in the step's transaction."""
    for observe in domain.current().step_observers:
        observe(s, step)


def _record_end(s, instance, log, actor, now, end: dict, ending: dict) -> None:
    audit.record(s, now, "engine", "instance_ended", instance_id=instance.id, process_id=instance.process_id,
                 version=instance.version, element_id=log.ended_at_element,
                 details={"end_event": end.get("name"), "data": instance.data, "on_behalf_of": actor,
                          "outcome": {k: v for k, v in ending.items() if v is not None}})


def _has_timers(pv) -> bool:
    # A version without timer events never has timer rows: skip the query.
    return getattr(pv, "has_timers", True)


def _text(value):
    return None if value is None else str(value)


def _element_of(model: dict, item: dict) -> dict:
    """The element of a ready task or waiting timer, from the process that defines it."""
    return definitions.element(model, item["called_process"], item["element_id"])


def _sync_timers(s, instance, timers, rows, fired, model, now, actor) -> None:
    """Timer rows in step with the engine; `fired` are the waiting rows whose timer ran."""
    waiting = {t["id"]: t for t in timers}
    moved = []
    for row in rows.values():
        if row.state == "waiting" and row.id not in waiting:
            # Gone from the engine's wait list: it fired, or the task it guarded finished first.
            row.state, row.fired_at = ("fired", now) if row.id in fired else ("cancelled", None)
            moved.append(row)
        elif row.state == "waiting" and iso(parse_instant(waiting[row.id]["due_at"])) != iso(row.due_at):
            # A cycle (R3/PT10M) fired and waits for its next turn: the same timer, due again later.
            audit.record(s, now, "engine", "timer_fired", instance_id=instance.id, process_id=instance.process_id,
                         version=instance.version, element_id=row.element_id,
                         details={"timer_id": row.id, "due_at": iso(row.due_at), "next_due_at": waiting[row.id]["due_at"],
                                  "on_behalf_of": actor})
            row.due_at, row.fired_at = parse_instant(waiting[row.id]["due_at"]), now
            moved.append(row)
    deal_rows.update_rows(s, TIMERS, moved, ("state", "due_at", "fired_at"))
    deal_rows.insert_rows(s, TIMERS, [
        deal_rows.new_row(TIMERS, id=t["id"], instance_id=instance.id, element_id=t["element_id"],
                          name=_element_of(model, t).get("name"), due_at=parse_instant(t["due_at"]),
                          state="waiting", created_at=now)
        for t in waiting.values() if t["id"] not in rows])


def parse_instant(text: str) -> datetime:
    """A stored ISO instant as an aware UTC datetime (naive means UTC)."""
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def record_incident(sg, actor, instance_id, pv, failure: EngineFailure) -> StepFailed:
    """Record an incident in its own transaction (the step itself was rolled back)."""
    with sg.uow() as uow:
        s = uow.session
        now = sg.now()
        inc = Incident(at=now, instance_id=instance_id, process_id=pv.process_id, element_id=failure.element_id,
                       element_name=failure.element_name, message=failure.message, data=failure.data, actor=actor)
        s.add(inc)
        s.flush()
        audit.record(s, now, actor, "incident", instance_id=instance_id, process_id=pv.process_id,
                     version=pv.version, element_id=failure.element_id,
                     details={"incident_id": inc.id, "element_name": failure.element_name,
                              "message": failure.message, "data": failure.data,
                              **({"limit": failure.limit} if failure.limit else {})})
        _emit_incident(s, now, deal_rows.deal(s, instance_id) if instance_id else None, inc, pv, failure)
        uow.commit()
        return StepFailed(failure.message, failure.element_id, failure.element_name, inc.id, failure.limit)




def _emit_incident(s, now, instance, inc: Incident, pv, failure: EngineFailure) -> None:
    """The incident.opened event, in the incident's own transaction."""
    outbox.emit(s, "incident.opened", now, instance,
                incident={"id": inc.id, "process_id": pv.process_id, "element_id": failure.element_id,
                          "element_name": failure.element_name, "message": failure.message})
