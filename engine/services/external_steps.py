"""The engine steps a worker causes: completing an external task, and throwing a BPMN error at it.

Each is one transaction like complete_task: the deal's lock, then the task's row, the engine
state, the inbox and external-task rows, and the audit events; a failing step is rolled back
whole and recorded as an incident.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from engine import audit
from engine.bpmn.external_runtime import complete_external, throw_bpmn_error
from engine.bpmn.failures import EngineFailure
from engine.bpmn.runtime import Runner
from engine.errors import Conflict
from engine.readonly import audited_refusals
from engine.services.external_tasks import check_lock_owner, open_incident_for, require_worker_user, task_row
from engine.services.instances import MAX_RETRIES, instance_summary
from engine.services.steps import record_incident, save_step
from engine.store import deal_rows
from engine.store.models import Instance


def _retrying(step):
    for _attempt in range(MAX_RETRIES):
        try:
            return step()
        except StaleDataError:
            continue  # another step on this deal committed first; look again
    raise Conflict("the deal changed too often while saving; please try again")


def _open(sg, s, actor: str, task_id: str, worker_id: str, action: str):
    """The task (under its deal's lock, then its own), its deal, version and a Runner on the deal's state."""
    require_worker_user(s, actor, f"{action} an external task")
    row = task_row(s, task_id)
    s.execute(select(Instance.id).where(Instance.id == row.instance_id).with_for_update())
    row = task_row(s, task_id, lock=True)
    s.refresh(row)
    check_lock_owner(row, worker_id, {"complete": "completed", "throw an error at": "reported"}.get(action, action))
    instance = deal_rows.deal(s, row.instance_id)
    pv = sg.version(s, instance.process_version_id)
    spec, subs = sg.spec(s, pv.id)
    runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
    return row, instance, pv, runner


@audited_refusals
def complete_external_task(sg, actor: str, task_id: str, worker_id: str, variables: dict,
                           local_variables: dict | None = None) -> dict:
    """The worker did the task: its variables join the deal's data and the deal moves on; returns the deal."""
    return _retrying(lambda: _complete_once(sg, actor, task_id, worker_id, variables, local_variables or {}))


def _complete_once(sg, actor, task_id, worker_id, variables, local_variables) -> dict:
    with sg.uow() as uow:
        s = uow.session
        row, instance, pv, runner = _open(sg, s, actor, task_id, worker_id, "complete")
        now = sg.now()
        audit.record(s, now, actor, "external_task_completed", instance_id=instance.id,
                     process_id=instance.process_id, version=instance.version, element_id=row.element_id,
                     details={"task_id": row.id, "topic": row.topic, "worker_id": worker_id, "data": variables,
                              **({"local_data": local_variables} if local_variables else {})})
        try:
            if not complete_external(runner, row.id, variables, actor, local_variables):
                raise Conflict(f"external task {row.id} is no longer waiting in the deal")
            log = runner.advance()
        except EngineFailure as failure:
            uow.session.rollback()
            raise record_incident(sg, actor, instance.id, pv, failure) from None
        row.state, row.completed_at, row.completed_by = "completed", now, actor
        row.lock_expires_at = None
        result = instance_summary(s, instance, save_step(sg, s, instance, pv, runner, log, actor, now).open)
        uow.commit()
    return result


@audited_refusals
def report_bpmn_error(sg, actor: str, task_id: str, worker_id: str, code: str, message: str | None,
                      variables: dict) -> dict:
    """The worker reports a business error: the error boundary event with that code (or none) takes the flow.

    Returns {"caught_by": element id} or, when nothing catches it, {"incident_id": ...}: the step is
    rolled back, the task keeps no retries and an incident opens (as a person must decide)."""
    try:
        return _retrying(lambda: _error_once(sg, actor, task_id, worker_id, code, message, variables))
    except _Uncaught as exc:
        open_incident_for(sg, actor, task_id, exc.failure.message)
        return {"caught_by": None, "message": exc.failure.message}


class _Uncaught(Exception):
    def __init__(self, failure: EngineFailure):
        super().__init__(failure.message)
        self.failure = failure


def _error_once(sg, actor, task_id, worker_id, code, message, variables) -> dict:
    with sg.uow() as uow:
        s = uow.session
        row, instance, pv, runner = _open(sg, s, actor, task_id, worker_id, "throw an error at")
        now = sg.now()
        try:
            caught_by = throw_bpmn_error(runner, row.id, code, message, variables)
        except EngineFailure as failure:
            uow.session.rollback()
            raise _Uncaught(failure) from None
        audit.record(s, now, actor, "external_task_bpmn_error", instance_id=instance.id,
                     process_id=instance.process_id, version=instance.version, element_id=row.element_id,
                     details={"task_id": row.id, "topic": row.topic, "worker_id": worker_id, "error_code": code,
                              "error_message": message, "data": variables, "caught_by": caught_by})
        try:
            log = runner.advance()
        except EngineFailure as failure:
            uow.session.rollback()
            raise record_incident(sg, actor, instance.id, pv, failure) from None
        row.state, row.completed_at, row.completed_by = "error_thrown", now, actor
        row.lock_expires_at, row.error_message = None, message
        save_step(sg, s, instance, pv, runner, log, actor, now)
        uow.commit()
    return {"caught_by": caught_by}
