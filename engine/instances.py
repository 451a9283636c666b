"""Use cases on process instances: start one, complete a human task."""
from __future__ import annotations

import hashlib
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import audit, definitions, forms, open_tasks, outcomes, variables
from .actors import load_user, require_any_role
from .assignment import index_keys, require_worker
from .clock import iso
from .deal_record import record_step
from .errors import Conflict, FormInvalid, KeyReused, NotFound, Refused, StepFailed
from .models import GateDecision, HumanTask, IdempotencyKey, Incident, Instance, ProcessVersion, TaskRole, Timer
from .readonly import audited_refusals, forbid_auditor
from .runtime import EngineFailure, Runner, new_workflow, plain
from .sandbox_limits import LimitExceeded
from .timer_rows import element_of as _element_of, parse_instant, sync_timers

MAX_RETRIES = 5


def _latest_version(s, process_id: str) -> ProcessVersion:
    pv = s.execute(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                   .order_by(ProcessVersion.version.desc()).limit(1)).scalar_one_or_none()
    if pv is None:
        raise NotFound(f"no process '{process_id}' is deployed")
    return pv


def _start_event(model: dict) -> dict:
    starts = [e for e in model["elements"].values() if e["type"] == "startEvent" and e["parent"] is None]
    return starts[0] if starts else {}


def _title(model: dict, data: dict, instance_id: int, business_key: str | None) -> str:
    for field in model.get("start_form", []):
        if field.get("type") in (None, "string") and isinstance(data.get(field["id"]), str) and data[field["id"]]:
            return data[field["id"]][:255]
    return f"{model.get('name') or model['process_id']} {business_key or f'#{instance_id}'}"[:255]


@audited_refusals
def start_instance(sg, process_id: str, actor: str, data: dict | None = None,
                   idempotency_key: str | None = None, business_key: str | None = None) -> dict:
    """Start the newest version of a process with the start form's data (variables, if it has no
    form), and the caller's business key for the deal, if given.

    With an idempotency key, a repeated request (same actor, key and content) returns the
    first request's result, marked "replayed", instead of starting a second deal; the same
    key with other content is refused with KeyReused.
    """
    key = variables.business_key(business_key)
    if idempotency_key is None:
        return _start_once(sg, process_id, actor, data, None, key)
    if not idempotency_key.strip() or len(idempotency_key) > 255:
        raise FormInvalid({"idempotency_key": "must be 1 to 255 characters"})
    request = [process_id, data or {}] + ([key] if key else [])
    once = (idempotency_key, hashlib.sha256(audit.canonical(request).encode()).hexdigest())
    try:
        return _start_once(sg, process_id, actor, data, once, key)
    except IntegrityError:
        # A concurrent request with the same key committed first (its row won the primary
        # key); this one rolled back whole, so there is still one deal. Answer with that one's.
        return _start_once(sg, process_id, actor, data, once, key)


def _replay(s, actor: str, once) -> dict | None:
    row = s.get(IdempotencyKey, (actor, once[0]))
    if row is None:
        return None
    if row.request_hash != once[1]:
        raise KeyReused(f"the idempotency key '{once[0]}' was already used for a different request "
                        f"(it started deal #{row.instance_id}); use a new key for a new deal")
    return {**row.result, "replayed": True}


def _start_once(sg, process_id, actor, data, once, business_key) -> dict:
    with sg.uow() as uow:
        s = uow.session
        user = load_user(s, actor)
        forbid_auditor(user, f"start '{process_id}'", process_id=process_id)
        if once and (first := _replay(s, actor, once)) is not None:
            return first
        row = _latest_version(s, process_id)
        pv = sg.specs.version(row.id, lambda: row)
        start = _start_event(pv.model)
        require_any_role(user, start.get("roles", []), f"start '{pv.name or process_id}'")
        values = _validated(sg, uow, actor, None, pv, start, pv.model.get("start_form", []), data)
        spec, subs = sg.specs.spec_for(pv.id, lambda: row.spec)
        runner = Runner(new_workflow(spec, subs, sg.script_engine, values), pv.model, sg.clock)
        now = sg.now()
        instance = Instance(process_version_id=pv.id, process_id=pv.process_id, version=pv.version,
                            business_key=business_key, status="running", data={}, state={}, started_at=now,
                            started_by=actor)
        s.add(instance)
        s.flush()
        if once:
            # Written (and flushed) first, so a concurrent twin waits here and then fails on the key.
            key_row = IdempotencyKey(actor=actor, key=once[0], request_hash=once[1], instance_id=instance.id,
                                     result={}, created_at=now)
            s.add(key_row)
            s.flush()
        audit.record(s, now, actor, "instance_started", instance_id=instance.id, process_id=pv.process_id,
                     version=pv.version, element_id=start.get("id"),
                     details={"data": values, **({"business_key": business_key} if business_key else {})})
        try:
            log = runner.advance()
        except EngineFailure as failure:
            uow.session.rollback()
            raise _incident(sg, actor, None, pv, failure) from None
        instance.title = _title(pv.model, values, instance.id, business_key)
        result = _instance_summary(s, instance, _save(sg, s, instance, pv, runner, log, actor, now))
        if once:
            key_row.result = result
            result = {**result, "replayed": False}
        uow.commit()
    return result


@audited_refusals
def complete_task(sg, task_id: str, actor: str, data: dict | None = None) -> dict:
    """Complete a ready human task as `actor`; checks state, role and form, in that order."""
    for _attempt in range(MAX_RETRIES):
        try:
            return _complete_once(sg, task_id, actor, data)
        except StaleDataError:
            continue  # another step on this instance committed first; re-check and retry
    raise Conflict("the deal changed too often while saving; please try again")


def _complete_once(sg, task_id, actor, data) -> dict:
    with sg.uow() as uow:
        s = uow.session
        ht = locked_task(s, task_id)
        user = load_user(s, actor)
        forbid_auditor(user, f"complete '{ht.name}'", ht.instance_id, task_id=ht.id)
        if ht.state != "ready":
            raise Conflict(_not_ready_message(ht))
        require_worker(user, ht, f"work on '{ht.name or ht.element_id}'")
        if ht.claimed_by and ht.claimed_by != actor:
            raise Refused(f"'{ht.name}' is claimed by {ht.claimed_by}; only they can complete it "
                          "(or a department head can reassign it)")
        instance = s.get(Instance, ht.instance_id)
        pv = sg.specs.version(instance.process_version_id, lambda: s.get(ProcessVersion, instance.process_version_id))
        _check_separation_of_duties(s, ht, pv.model, actor)
        values = _validated(sg, uow, actor, instance.id, pv, {"id": ht.element_id, "name": ht.name}, ht.form, data)
        spec, subs = sg.specs.spec_for(pv.id, lambda: s.get(ProcessVersion, pv.id).spec)
        runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
        if not runner.is_ready(ht.id):
            # Another completion committed between our two reads; report it as such.
            s.refresh(ht)
            raise Conflict(_not_ready_message(ht) if ht.state != "ready"
                           else f"'{ht.name}' is no longer waiting for input")
        now = sg.now()
        audit.record(s, now, actor, "task_completed", instance_id=instance.id, process_id=instance.process_id,
                     version=instance.version, element_id=ht.element_id,
                     details={"task_id": ht.id, "task_name": ht.name, "role": ht.role, "data": values,
                              **({"called_process": ht.called_process} if ht.called_process else {})})
        try:
            runner.complete(ht.id, values, actor)
            log = runner.advance()
        except EngineFailure as failure:
            uow.session.rollback()
            raise _incident(sg, actor, instance.id, pv, failure) from None
        ht.state, ht.completed_at, ht.completed_by = "completed", now, actor
        result = _instance_summary(s, instance, _save(sg, s, instance, pv, runner, log, actor, now, done=ht.id))
        uow.commit()
    return result


def _validated(sg, uow, actor, instance_id, pv, element: dict, fields: list, data) -> dict:
    """The form's values (the variables, where the element has no form); a required_if condition the
    sandbox had to stop is an incident at the element."""
    if not fields:
        return variables.checked(data)
    try:
        return forms.validate(fields, data)
    except LimitExceeded as hit:
        uow.session.rollback()
        failure = EngineFailure(str(hit), element.get("id"), element.get("name"), plain(dict(data or {})), hit.limit)
        raise _incident(sg, actor, instance_id, pv, failure) from None


def locked_task(s, task_id) -> HumanTask:
    """The task, read after taking its deal's row lock.

    Every step that writes to a deal takes the deal's lock first (the timer worker too, with
    SKIP LOCKED), so steps on one deal queue up, each reads the task as the step before it
    left it (a loser sees "already completed by ..."), and locks are always taken in one
    order: deal, its rows, then the audit chain's head at commit. SQLite has one writer anyway.
    """
    ht = s.get(HumanTask, str(task_id))
    if ht is None:
        raise NotFound(f"no task with id {task_id}")
    s.execute(select(Instance.id).where(Instance.id == ht.instance_id).with_for_update())
    s.refresh(ht)
    return ht


def _check_separation_of_duties(s, ht: HumanTask, model: dict, actor: str) -> None:
    """Refuse when the diagram says this task must be worked by someone else than `actor`."""
    el = definitions.element(model, ht.called_process, ht.element_id)
    others = [x.strip() for x in (el.get("properties", {}).get("separate_from") or "").split(",") if x.strip()]
    if not others:
        return
    # The ids name elements of the task's own process: a called process's or the deal's.
    done = s.execute(select(HumanTask).where(HumanTask.instance_id == ht.instance_id,
                                             HumanTask.element_id.in_(others), HumanTask.defined_by(ht.called_process),
                                             HumanTask.completed_by == actor)).scalars().first()
    if done is not None:
        raise Refused(f"separation of duties: {actor} completed '{done.name}' on this deal, "
                      f"so someone else must do '{ht.name}'")


def _not_ready_message(ht: HumanTask) -> str:
    if ht.state == "completed":
        return f"'{ht.name}' was already completed by {ht.completed_by} at {ht.completed_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"'{ht.name}' is no longer open (it was {ht.state})"


def _save(sg, s, instance, pv, runner, log, actor, now, done: str | None = None) -> list[HumanTask]:
    """Write the engine's new state, the inbox rows and the audit events of the step (`done`: the task completed).

    Returns the instance's open human tasks."""
    model = pv.model
    ready = runner.ready_human_tasks()
    timers = runner.waiting_timers()
    # The waiting rows and any row of a timer the engine still waits on (a parked "failed" one).
    timer_rows = _open_rows(s, Timer, instance.id, Timer.state == "waiting", {t["id"] for t in timers}) \
        if _has_timers(pv) else {}
    # Read from the full tree before compaction drops what finished in this step.
    fired = {tid for tid, row in timer_rows.items() if row.state == "waiting" and runner.task_finished(tid)}
    data = runner.data()
    runner.compact()
    stages = [_element_of(model, t).get("properties", {}).get("stage") for t in ready]
    previous_stage = instance.stage
    instance.stage = next((st for st in stages if st), instance.stage)
    instance.state = sg.specs.dump_state(runner.workflow)
    instance.data = data
    if runner.completed:
        instance.status, instance.ended_at, instance.ended_at_element = "completed", now, log.ended_at_element
    # Flushing the instance first makes a lost race fail here, on the version check,
    # before anything else of the stale step is written.
    s.flush()
    for ev in log.events:
        audit.record(s, now, "engine", ev["kind"], instance_id=instance.id, process_id=instance.process_id,
                     version=instance.version, element_id=ev.get("element_id"),
                     details={**ev["details"], "on_behalf_of": actor})
    ready_ids = {t["id"] for t in ready}
    # Only the open rows and the ones for tasks now ready: never the whole history of the deal.
    rows = _open_rows(s, HumanTask, instance.id, HumanTask.state == "ready", ready_ids)
    closed = [row.id for row in rows.values() if row.state != "ready" or row.id not in ready_ids]
    closed += [done] if done else []
    for row in rows.values():
        if row.state == "ready" and row.id not in ready_ids:
            row.state, row.completed_at = "cancelled", now
            # Withdrawn by the engine (an escalation whose task ended), or by the flow (an interrupting event).
            why = log.withdrawn.get(row.id, {"reason": "flow_moved_on"})
            audit.record(s, now, "engine", "task_cancelled", instance_id=instance.id, process_id=instance.process_id,
                         version=instance.version, element_id=row.element_id,
                         details={"task_id": row.id, "task_name": row.name, "role": row.role,
                                  "claimed_by": row.claimed_by,
                                  **({"called_process": row.called_process} if row.called_process else {}),
                                  **why, "on_behalf_of": actor})
    counts = Counter()  # the inbox's counts, changed by the tasks this step closes and opens
    if closed:  # the inbox's index holds open tasks only
        for key in s.execute(delete(TaskRole).where(TaskRole.task_id.in_(closed)).returning(
                TaskRole.role, TaskRole.process_id, TaskRole.lane_role, TaskRole.stage)):
            counts[open_tasks.key_of(*key)] -= 1
    still_open = [row for row in rows.values() if row.state == "ready" and row.id in ready_ids]
    entered = [g.get("stage") for g in log.gate_decisions]
    for t in ready:
        if t["id"] in rows:
            continue
        el = _element_of(model, t)  # as the task's own process defines it, a called one included
        sla = [parse_instant(x["due_at"]) for x in timers if x["called_process"] == t["called_process"]
               and _element_of(model, x).get("attached_to") == t["element_id"]]
        ht = HumanTask(id=t["id"], instance_id=instance.id, process_id=instance.process_id,
                       element_id=t["element_id"], name=el.get("name") or t["element_id"],
                       role=(el.get("roles") or [""])[0], roles=el.get("roles", []),
                       candidate_users=el.get("candidate_users", []), called_process=t["called_process"],
                       stage=el.get("properties", {}).get("stage"), form=el.get("form", []),
                       state="ready", created_at=now, due_at=min(sla) if sla else None)
        s.add(ht)
        still_open.append(ht)
        entered.append(ht.stage)
        keys = index_keys(ht.roles, ht.candidate_users)
        for key in keys:  # (a task of candidate users only has no role: NULL, as a task without stage)
            s.add(TaskRole(task_id=ht.id, role=key, process_id=ht.process_id, lane_role=ht.role or None,
                           stage=ht.stage, created_at=ht.created_at, due_at=ht.due_at, shared=len(keys) > 1))
            counts[open_tasks.key_of(key, ht.process_id, ht.role, ht.stage)] += 1
    for g in log.gate_decisions:
        s.add(GateDecision(instance_id=instance.id, process_id=instance.process_id, version=instance.version,
                           gate=g["gate"], element_id=g["element_id"], stage=g.get("stage"), outcome=g["outcome"],
                           inputs=g["values_read"], decided_by=g["decided_by"], reason=_text(g.get("reason")),
                           decided_at=now))
    end = model["elements"].get(log.ended_at_element or "", {})
    # How the deal ended, from its last gate decision and the end event reached (none while it runs).
    ending = outcomes.derive(instance.status, end, outcomes.last_gate(s, instance.id, log.gate_decisions)) \
        if runner.completed else None
    record_step(s, instance, previous_stage, entered, now, ending)
    sync_timers(s, instance, timers, timer_rows, fired, model, now, actor)
    if runner.completed:
        audit.record(s, now, "engine", "instance_ended", instance_id=instance.id, process_id=instance.process_id,
                     version=instance.version, element_id=log.ended_at_element,
                     details={"end_event": end.get("name"), "data": instance.data, "on_behalf_of": actor,
                              "outcome": {k: v for k, v in ending.items() if v is not None}})
    open_tasks.apply(s, counts)  # last: see open_tasks on lock order
    s.flush()
    return still_open


def _open_rows(s, model, instance_id: int, is_open, ids: set[str]) -> dict:
    """The deal's rows of `model` that are open, and those with the given ids, by id.

    Two index reads, not one query with OR: SQLite would answer that by reading every row of
    the deal, and a deal that has looped for months has tens of thousands of them."""
    rows = {r.id: r for r in s.execute(select(model).where(model.instance_id == instance_id, is_open)).scalars()}
    if ids - rows.keys():
        rows.update((r.id, r) for r in s.execute(select(model).where(
            model.id.in_(ids - rows.keys()), model.instance_id == instance_id)).scalars())
    return rows


def _has_timers(pv) -> bool:
    # A version without timer events never has timer rows: skip the query.
    return getattr(pv, "has_timers", True)


def _text(value):
    return None if value is None else str(value)


def _incident(sg, actor, instance_id, pv, failure: EngineFailure) -> StepFailed:
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
        uow.commit()
        return StepFailed(failure.message, failure.element_id, failure.element_name, inc.id, failure.limit)


def _instance_summary(s, instance: Instance, open_tasks: list[HumanTask]) -> dict:
    ready = sorted(open_tasks, key=lambda t: (iso(t.created_at), t.id))  # SQLite gives naive datetimes
    return {
        "id": instance.id,
        "process_id": instance.process_id,
        "version": instance.version,
        "title": instance.title,
        "business_key": instance.business_key,
        "status": instance.status,
        "stage": instance.stage,
        "ended_at_element": instance.ended_at_element,
        "outcome": outcomes.read(s, [instance])[instance.id],
        "ready_tasks": [{"id": t.id, "element_id": t.element_id, "name": t.name, "role": t.role} for t in ready],
    }
