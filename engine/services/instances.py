"""Use cases on process instances: start one, complete a human task."""
from __future__ import annotations

import hashlib
from datetime import datetime
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import audit, outcomes
from engine.bpmn import definitions, forms
from engine.services import variables
from engine.actors import load_actor, require_any_role
from engine.assignment import acting_as, require_worker
from engine.clock import iso
from engine.errors import Conflict, FormInvalid, KeyReused, NotFound, Refused
from engine.store import deal_rows
from engine.store.deal_rows import Record
from engine.store.prepared import Prepared
from engine.store.models import HumanTask, IdempotencyKey, Instance, ProcessVersion
from engine.readonly import audited_refusals, forbid_auditor
from engine.bpmn.failures import EngineFailure
from engine.bpmn.runtime import Runner, StepLog
from engine.bpmn.serialization import VersionInfo
from engine.bpmn.tasks import new_workflow
from engine.bpmn.tasks import plain
from engine.bpmn.waits import waiting_on
from engine.services import outbox
from engine.services.steps import record_incident, save_step, settle
from engine.sandbox.limits import LimitExceeded

MAX_RETRIES = 5


_LATEST_VERSION = Prepared(select(ProcessVersion.__table__.c.id).where(ProcessVersion.__table__.c.process_id == bindparam("p"))
                           .order_by(ProcessVersion.__table__.c.version.desc()).limit(1))


def _latest_version_id(s, process_id: str) -> int:
    """The id of the process's newest version (its row, with the large spec and model, only on a cache miss)."""
    found = _LATEST_VERSION.scalar(s, {"p": process_id})
    if found is None:
        raise NotFound(f"no process '{process_id}' is deployed")
    return found


def _start_event(model: dict) -> dict:
    starts = [e for e in model["elements"].values() if e["type"] == "startEvent" and e["parent"] is None]
    starts.sort(key=lambda e: bool(e.get("message")))  # a plain start first: a message starts the others
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
        user = load_actor(s, actor)
        forbid_auditor(user, f"start '{process_id}'", process_id=process_id)
        if once and (first := _replay(s, actor, once)) is not None:
            return first
        pv_id = _latest_version_id(s, process_id)
        pv = sg.version(s, pv_id)
        start = _start_event(pv.model)
        if "messageEventDefinition" in start.get("event_definitions", []):
            raise Refused(f"'{pv.name or process_id}' starts when the message "
                          f"'{(start.get('message') or {}).get('name')}' arrives; send it (POST /api/v1/messages "
                          "or `stagegate message`) instead of starting the deal by hand")
        require_any_role(user, start.get("roles", []), f"start '{pv.name or process_id}'")
        values = _validated(sg, uow, actor, None, pv, start, pv.model.get("start_form", []), data)
        if start.get("initiator"):
            values[start["initiator"]] = actor  # camunda:initiator: the variable naming who started the deal
        spec, subs = sg.spec(s, pv.id)
        runner = Runner(new_workflow(spec, subs, sg.script_engine, values), pv.model, sg.clock)
        now = sg.now()
        instance = deal_rows.new_deal(s, process_version_id=pv.id, process_id=pv.process_id, version=pv.version,
                                      business_key=business_key, status="running", data={}, state={},
                                      started_at=now, started_by=actor)
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
            raise record_incident(sg, actor, None, pv, failure) from None
        instance.title = _title(pv.model, values, instance.id, business_key)
        outbox.emit(s, "deal.started", now, instance, started_by=actor, data=values)
        result = instance_summary(s, instance, save_step(sg, s, instance, pv, runner, log, actor, now).open)
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


class _Worked(NamedTuple):
    """A completion worked out on a snapshot, to be written."""
    ht: Record
    user: SimpleNamespace
    instance: Record
    pv: VersionInfo
    values: dict
    runner: Runner
    log: StepLog
    now: datetime


def _complete_once(sg, task_id, actor, data) -> dict:
    # The checks and the engine's work run on a snapshot, outside the write lock, so several workers
    # do them at once. The writes follow on that same snapshot when no other writer has committed since
    # it was taken (SQLite); else in a transaction of their own, which first checks that neither the
    # task nor the deal changed since (else StaleDataError, and complete_task runs it all again).
    with sg.uow(write=False) as reading:
        step = _work_out(sg, reading, task_id, actor, data)
        settle(sg, step.runner)  # the new state serialized here, outside the write lock (SQLite's one writer)
        if reading.upgrade():
            return _write_completion(sg, reading, actor, step)
    with sg.uow() as uow:
        if uow.session.get_bind().dialect.name != "sqlite":
            deal_rows.lock_deal(uow.session, step.instance.id)  # steps on one deal queue up here
        _check_unchanged(uow.session, step.ht)
        return _write_completion(sg, uow, actor, step)


def _write_completion(sg, uow, actor, step: _Worked) -> dict:
    """The completion's writes, committed, and what happens next; the task and the deal are as read."""
    s = uow.session
    ht, user, instance, pv, values, runner, log, now = step
    audit.record(s, now, actor, "task_completed", instance_id=instance.id, process_id=instance.process_id,
                 version=instance.version, element_id=ht.element_id,
                 details={"task_id": ht.id, "task_name": ht.name, **acting_as(user, ht), "data": values,
                          **({"called_process": ht.called_process} if ht.called_process else {})})
    ht.state, ht.completed_at, ht.completed_by = "completed", now, actor
    outbox.emit(s, "task.completed", now, instance, task=outbox.task_of(ht), completed_by=actor, data=values)
    tasks = save_step(sg, s, instance, pv, runner, log, actor, now, done=ht)  # the deal's version checked first
    result = instance_summary(s, instance, tasks.open)
    # What happens next, as plain data: the tasks this step opened and those still open (in the
    # diagram's order), and what else the deal waits for.
    in_diagram = sorted(result["ready_tasks"], key=lambda t: _diagram_line(pv.model, t["element_id"]))
    still_open = {t.id for t in tasks.still_open}
    result["opened"] = [t for t in in_diagram if t["id"] not in still_open]
    result["still_open"] = [t for t in in_diagram if t["id"] in still_open]
    result["waiting"] = [] if instance.status == "completed" else waiting_on(runner, pv.model)
    uow.commit()
    return result


def _work_out(sg, uow, task_id, actor, data) -> _Worked:
    """The completion's checks (state, role, claim, separation of duties, form) and the engine's step,
    on the reading transaction `uow`; an engine failure is recorded as an incident."""
    s = uow.session
    ht = deal_rows.task(s, str(task_id))
    if ht is None:
        raise NotFound(f"no task with id {task_id}")
    user = load_actor(s, actor)
    forbid_auditor(user, f"complete '{ht.name}'", ht.instance_id, task_id=ht.id)
    if ht.state != "ready":
        raise Conflict(_not_ready_message(ht))
    require_worker(user, ht, f"work on '{ht.name or ht.element_id}'")
    if ht.claimed_by and ht.claimed_by != actor:
        raise Refused(f"'{ht.name}' is claimed by {ht.claimed_by}; only they can complete it "
                      "(or a department head can reassign it)")
    instance = deal_rows.deal(s, ht.instance_id)
    pv = sg.version(s, instance.process_version_id)
    _check_separation_of_duties(s, ht, pv.model, actor)
    values = _validated(sg, uow, actor, instance.id, pv, {"id": ht.element_id, "name": ht.name}, ht.form, data)
    spec, subs = sg.spec(s, pv.id)
    runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
    if not runner.is_ready(ht.id):
        _check_unchanged(s, ht)  # completed since it was read (PostgreSQL reads each statement afresh): say by whom
        raise Conflict(f"'{ht.name}' is no longer waiting for input")
    now = sg.now()
    try:
        runner.complete(ht.id, values, actor)
        log = runner.advance()
    except EngineFailure as failure:
        s.rollback()
        raise record_incident(sg, actor, instance.id, pv, failure) from None
    return _Worked(Record(**vars(ht)), user, instance, pv, values, runner, log, now)


def _diagram_line(model: dict, element_id: str) -> int:
    """Where the element stands in its diagram's file (0 when not in the process itself): reading order."""
    return (model["elements"].get(element_id) or {}).get("line") or 0


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
        raise record_incident(sg, actor, instance_id, pv, failure) from None


def _check_unchanged(s, ht) -> None:
    """StaleDataError (complete_task runs the completion again) when the task's row is no longer as read."""
    if deal_rows.task(s, ht.id) != ht:
        raise StaleDataError(f"task {ht.id} changed while it was being completed")


def locked_task(s, task_id) -> deal_rows.Record:
    """The task's record, read after taking its deal's row lock.

    Every step that writes to a deal takes the deal's lock first (the timer worker too, with
    SKIP LOCKED), so steps on one deal queue up, each reads the task as the step before it
    left it (a loser sees "already completed by ..."), and locks are always taken in one
    order: deal, its rows, then the audit chain's head at commit. SQLite has one writer anyway:
    its transaction began with BEGIN IMMEDIATE (or reads one snapshot), so the first read is
    already the locked one and the lock and re-read are skipped there.
    """
    ht = deal_rows.task(s, str(task_id))
    if ht is None:
        raise NotFound(f"no task with id {task_id}")
    if s.get_bind().dialect.name != "sqlite":
        deal_rows.lock_deal(s, ht.instance_id)
        ht = deal_rows.task(s, ht.id)
    return ht


_T = HumanTask.__table__
# The first task of the deal, among elements of one process, that the actor completed (separation of duties).
_DONE_BY = {own: Prepared(select(_T.c.name).where(
    _T.c.instance_id == bindparam("i"), _T.c.element_id.in_(bindparam("els", expanding=True)),
    HumanTask.defined_by(None if own else bindparam("cp")), _T.c.completed_by == bindparam("a")).limit(1))
    for own in (True, False)}


def _check_separation_of_duties(s, ht, model: dict, actor: str) -> None:
    """Refuse when the diagram says this task must be worked by someone else than `actor`."""
    el = definitions.element(model, ht.called_process, ht.element_id)
    others = [x.strip() for x in (el.get("properties", {}).get("separate_from") or "").split(",") if x.strip()]
    if not others:
        return
    # The ids name elements of the task's own process: a called process's or the deal's.
    done = _DONE_BY[ht.called_process is None].scalar(s, {
        "i": ht.instance_id, "els": others, "a": actor, "cp": ht.called_process})
    if done is not None:
        raise Refused(f"separation of duties: {actor} completed '{done}' on this deal, "
                      f"so someone else must do '{ht.name}'")


def _not_ready_message(ht: HumanTask) -> str:
    if ht.state == "completed":
        return f"'{ht.name}' was already completed by {ht.completed_by} at {ht.completed_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"'{ht.name}' is no longer open (it was {ht.state})"


def instance_summary(s, instance: Instance, open_tasks: list[HumanTask]) -> dict:
    """A deal after a step: status, stage, outcome and its ready tasks."""
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
