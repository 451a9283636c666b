"""Use cases on external tasks as Camunda 7's workers see them: fetch and lock, extend, unlock, fail, retry.

A worker acts as a user holding the `integration` role (WORKER_ROLE): it may fetch and finish
the external tasks of every topic, and nothing else unless it holds other roles. Completing a
task and throwing a BPMN error are engine steps: see external_steps.py.
"""
from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import and_, or_, select

from engine import audit
from engine.actors import load_user, require_any_role, roles_of
from engine.assignment import headed_departments
from engine.bpmn import definitions
from engine.bpmn.external_runtime import fetched_inputs
from engine.bpmn.runtime import Runner
from engine.clock import iso
from engine.errors import NotFound, Refused
from engine.readonly import audited_refusals, forbid_auditor, is_auditor
from engine.services import outbox
from engine.services.external_sync import wake_after_commit
from engine.store.models import ExternalTask, Incident, Instance

WORKER_ROLE = "integration"
MAX_TASKS = 100


class LockHeld(Refused):
    """The task is locked by another worker, or the caller's lock on it has expired (Camunda answers 500)."""


def require_worker_user(s, actor: str, what: str):
    """The acting user, refused unless they hold the worker role (and are no auditor)."""
    user = load_user(s, actor)
    forbid_auditor(user, what)
    require_any_role(user, [WORKER_ROLE], what)
    return user


def task_row(s, task_id: str, lock: bool = False) -> ExternalTask:
    """The external task with that id, else NotFound in Camunda's words (a finished task no longer exists)."""
    q = select(ExternalTask).where(ExternalTask.id == str(task_id))
    row = s.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if row is None or row.state != "ready":
        raise NotFound(f"External task with id {task_id} does not exist"
                       + (f" (it was {row.state} at {iso(row.completed_at)})" if row is not None else ""))
    return row


def check_lock_owner(row: ExternalTask, worker_id: str, action: str) -> None:
    """Camunda's rule: only the worker that holds the task's most recent lock may finish it."""
    if row.worker_id != worker_id:
        raise LockHeld(f"External Task {row.id} cannot be {action} by worker '{worker_id}'. It is locked by "
                       f"worker '{row.worker_id}'." if row.worker_id else
                       f"External Task {row.id} cannot be {action} by worker '{worker_id}': it is not locked; "
                       "fetch and lock it first")


def _fetchable(now):
    t = ExternalTask
    return (t.state == "ready", or_(t.retries.is_(None), t.retries > 0),
            or_(t.lock_expires_at.is_(None), t.lock_expires_at <= now), or_(t.retry_at.is_(None), t.retry_at <= now))


def lock_duration(ms, name: str) -> timedelta:
    """Milliseconds from a request as a duration (at most ten years); ValueError unless a positive whole number."""
    if isinstance(ms, bool) or not isinstance(ms, int) or ms <= 0:
        raise ValueError(f"{name} must be a positive number of milliseconds")
    return timedelta(milliseconds=min(ms, 10 * 365 * 24 * 3600 * 1000))


@audited_refusals
def fetch_and_lock(sg, actor: str, worker_id: str, topics: list[dict], max_tasks: int,
                   use_priority: bool = False) -> list[dict]:
    """Lock up to `max_tasks` fetchable tasks of the topics for the worker; returns them with their deal's data.

    topics: [{"topic", "lock" (a timedelta), "variables" (names, or None: all), "business_key", "process_keys"}];
    a topic's business key and process keys narrow it to the deals that have them.
    On PostgreSQL rows other fetches hold are skipped (SKIP LOCKED); SQLite has one writer at a time."""
    if max_tasks <= 0:
        return []
    by_topic = {t["topic"]: t for t in topics}
    with sg.uow() as uow:
        s = uow.session
        require_worker_user(s, actor, "fetch external tasks")
        now = sg.now()
        q = select(ExternalTask).where(*_fetchable(now), or_(*(_of_topic(t) for t in by_topic.values())))
        q = q.order_by(*((ExternalTask.priority.desc(),) if use_priority else ()), ExternalTask.created_at,
                       ExternalTask.id).limit(min(max_tasks, MAX_TASKS))
        if s.bind.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        locked = []
        for row in s.execute(q).scalars():
            topic = by_topic[row.topic]
            instance = s.get(Instance, row.instance_id)
            row.worker_id, row.locked_by = worker_id, actor
            row.lock_expires_at = now + topic["lock"]
            audit.record(s, now, actor, "external_task_locked", instance_id=row.instance_id,
                         process_id=row.process_id, version=row.version, element_id=row.element_id,
                         details={"task_id": row.id, "topic": row.topic, "worker_id": worker_id,
                                  "lock_expires_at": iso(row.lock_expires_at)})
            names = topic.get("variables")
            data = {**(instance.data or {}), **_inputs(sg, s, instance, row)}
            locked.append({"row": _plain(row), "instance": {"id": instance.id, "title": instance.title,
                                                             "business_key": instance.business_key},
                           "variables": {k: v for k, v in data.items() if names is None or k in names}})
        uow.commit()
    return locked


def _inputs(sg, s, instance, row: ExternalTask) -> dict:
    """The task's camunda:inputOutput input parameters (its local variables), read from the deal's engine
    state only for a task that has them."""
    pv = sg.version(s, instance.process_version_id)
    if not (definitions.element(pv.model, row.called_process, row.element_id).get("io") or {}).get("inputs"):
        return {}
    spec, subs = sg.spec(s, pv.id)
    runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
    return fetched_inputs(runner, row.id)


def _of_topic(topic: dict):
    """The SQL condition for one fetched topic: its name, and its process keys and business key if given."""
    conditions = [ExternalTask.topic == topic["topic"]]
    if topic.get("process_keys"):
        conditions.append(ExternalTask.process_id.in_(list(topic["process_keys"])))
    if topic.get("business_key") is not None:
        conditions.append(ExternalTask.instance_id.in_(
            select(Instance.id).where(Instance.business_key == topic["business_key"])))
    return and_(*conditions)


def _plain(row: ExternalTask) -> dict:
    return {"id": row.id, "topic": row.topic, "worker_id": row.worker_id, "instance_id": row.instance_id,
            "process_id": row.process_id, "version": row.version, "element_id": row.element_id, "name": row.name,
            "priority": row.priority, "retries": row.retries, "error_message": row.error_message,
            "error_details": row.error_details, "lock_expires_at": iso(row.lock_expires_at),
            "created_at": iso(row.created_at), "incident_id": row.incident_id, "state": row.state}


def _locked_change(sg, actor: str, task_id: str, what: str, change) -> None:
    """Run `change(s, row, now)` on the task under its row lock as one audited use case."""
    with sg.uow() as uow:
        s = uow.session
        require_worker_user(s, actor, what)
        row = task_row(s, task_id, lock=True)
        now = sg.now()
        kind, details = change(s, row, now)
        audit.record(s, now, actor, kind, instance_id=row.instance_id, process_id=row.process_id,
                     version=row.version, element_id=row.element_id,
                     details={"task_id": row.id, "topic": row.topic, **details})
        uow.commit()


@audited_refusals
def extend_lock(sg, actor: str, task_id: str, worker_id: str, new_duration_ms: int) -> None:
    """Give the worker's unexpired lock `new_duration_ms` more from now."""
    duration = lock_duration(new_duration_ms, "newDuration")

    def change(s, row, now):
        check_lock_owner(row, worker_id, "extended")
        if row.lock_expires_at is None or _aware(row.lock_expires_at) <= now:
            raise LockHeld(f"Cannot extend a lock that expired: the lock of external task {row.id} has expired")
        row.lock_expires_at = now + duration
        return "external_task_lock_extended", {"worker_id": worker_id, "lock_expires_at": iso(row.lock_expires_at)}
    _locked_change(sg, actor, task_id, "extend an external task's lock", change)


@audited_refusals
def lock(sg, actor: str, task_id: str, worker_id: str, lock_duration_ms: int) -> None:
    """Lock one task by id for the worker (free, expired, or already its own)."""
    duration = lock_duration(lock_duration_ms, "lockDuration")

    def change(s, row, now):
        held = row.lock_expires_at is not None and _aware(row.lock_expires_at) > now
        if held and row.worker_id != worker_id:
            raise LockHeld(f"External Task {row.id} is already locked by worker '{row.worker_id}'")
        row.worker_id, row.locked_by, row.lock_expires_at = worker_id, actor, now + duration
        return "external_task_locked", {"worker_id": worker_id, "lock_expires_at": iso(row.lock_expires_at)}
    _locked_change(sg, actor, task_id, "lock an external task", change)


@audited_refusals
def unlock(sg, actor: str, task_id: str) -> None:
    """Release the task's lock at once: any worker may fetch it again."""
    def change(s, row, now):
        previous = row.worker_id
        row.worker_id, row.locked_by, row.lock_expires_at = None, None, None
        wake_after_commit(s)
        return "external_task_unlocked", {"worker_id": previous}
    _locked_change(sg, actor, task_id, "unlock an external task", change)


@audited_refusals
def report_failure(sg, actor: str, task_id: str, worker_id: str, message: str | None, details: str | None,
                   retries: int, retry_timeout_ms: int | None) -> None:
    """The worker could not do the task: keep its error, set its retries, free it after `retry_timeout_ms`.

    At 0 retries the task is not fetched again and an incident opens on the deal, until a person
    sets retries again (set_retries)."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError("retries must be a whole number, 0 or more")
    wait = lock_duration(retry_timeout_ms, "retryTimeout") if retry_timeout_ms else None

    def change(s, row, now):
        check_lock_owner(row, worker_id, "failed")
        row.error_message, row.error_details, row.retries = message, details, retries
        row.lock_expires_at, row.retry_at = None, (now + wait) if wait else None
        opened = None
        if retries == 0:
            opened = _open_incident(s, row, now, actor, message)
        else:
            wake_after_commit(s)
        return "external_task_failed", {"worker_id": worker_id, "error_message": message, "retries": retries,
                                        "retry_at": iso(row.retry_at), **({"incident_id": opened} if opened else {})}
    _locked_change(sg, actor, task_id, "report an external task's failure", change)


def _open_incident(s, row: ExternalTask, now, actor: str, message: str | None) -> int:
    inc = Incident(at=now, instance_id=row.instance_id, process_id=row.process_id, element_id=row.element_id,
                   element_name=row.name, data={"external_task_id": row.id, "topic": row.topic},
                   message=f"external task '{row.name or row.element_id}' (topic {row.topic}) has no retries left: "
                           f"{message or 'the worker gave no error message'}", actor=actor)
    s.add(inc)
    s.flush()
    row.incident_id = inc.id
    audit.record(s, now, actor, "incident", instance_id=row.instance_id, process_id=row.process_id,
                 version=row.version, element_id=row.element_id,
                 details={"incident_id": inc.id, "element_name": row.name, "message": inc.message,
                          "external_task_id": row.id})
    # Webhook subscribers hear of it as of any incident, in the same transaction.
    outbox.emit(s, "incident.opened", now, s.get(Instance, row.instance_id),
                incident={"id": inc.id, "process_id": row.process_id, "element_id": row.element_id,
                          "element_name": row.name, "message": inc.message})
    return inc.id


def open_incident_for(sg, actor: str, task_id: str, message: str) -> None:
    """In a transaction of its own (the failed step rolled back): the task gets 0 retries and an incident."""
    with sg.uow() as uow:
        s = uow.session
        row = task_row(s, task_id, lock=True)
        now = sg.now()
        row.retries, row.error_message, row.lock_expires_at = 0, message, None
        _open_incident(s, row, now, actor, message)
        uow.commit()


def _may_retry(user) -> bool:
    return WORKER_ROLE in roles_of(user) or bool(headed_departments(user))


def may_retry(sg, actor: str) -> bool:
    """Whether `actor` may give external tasks retries again (the worker role, or a department head)."""
    with sg.uow(write=False) as uow:
        user = load_user(uow.session, actor)
        return _may_retry(user) and not is_auditor(user)


@audited_refusals
def set_retries(sg, actor: str, task_id: str, retries: int, instance_id: int | None = None) -> None:
    """A person (or worker) gives the task retries again: it can be fetched, and its incident is resolved."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError("retries must be a whole number, 0 or more")
    with sg.uow() as uow:
        s = uow.session
        user = load_user(s, actor)
        forbid_auditor(user, "set an external task's retries", instance_id)
        row = task_row(s, task_id, lock=True)
        if instance_id is not None and row.instance_id != instance_id:
            raise NotFound(f"deal #{instance_id} has no external task {task_id}")
        if not _may_retry(user):
            raise Refused(f"{actor} may not retry external tasks: it needs the role '{WORKER_ROLE}' or the head "
                          "of a department")
        now = sg.now()
        row.retries, row.retry_at = retries, None
        resolved = None
        if retries > 0 and row.incident_id is not None:
            inc = s.get(Incident, row.incident_id)
            if inc is not None and inc.resolved_at is None:
                inc.resolved_at, resolved = now, inc.id
            row.incident_id = None
            wake_after_commit(s)
        audit.record(s, now, actor, "external_task_retries_set", instance_id=row.instance_id,
                     process_id=row.process_id, version=row.version, element_id=row.element_id,
                     details={"task_id": row.id, "topic": row.topic, "retries": retries,
                              **({"incident_resolved": resolved} if resolved else {})})
        uow.commit()


def waiting_for_workers(s, instance_id: int, now) -> list[dict]:
    """Inside a query: the deal's external tasks waiting for a worker (which worker holds each and until when,
    its last error and retries left)."""
    rows = s.execute(select(ExternalTask).where(ExternalTask.instance_id == instance_id, ExternalTask.state == "ready")
                     .order_by(ExternalTask.created_at, ExternalTask.id)).scalars()
    return [{"id": r.id, "name": r.name or r.element_id, "topic": r.topic,
             "locked_by_worker": r.worker_id if r.lock_expires_at and _aware(r.lock_expires_at) > now else None,
             "lock_expires_at": iso(r.lock_expires_at), "retries": r.retries, "error_message": r.error_message}
            for r in rows]


def retry_targets(s, incident_ids: list[int]) -> dict[int, str]:
    """Inside a query: the external task each of these incidents holds up, by incident id."""
    if not incident_ids:
        return {}
    return dict(s.execute(select(ExternalTask.incident_id, ExternalTask.id).where(
        ExternalTask.incident_id.in_(incident_ids), ExternalTask.state == "ready")).all())


def _aware(dt):
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def list_external_tasks(sg, actor: str, **filters) -> list[dict]:
    """External tasks that are waiting (Camunda's GET /external-task), narrowed by the given filters."""
    with sg.uow(write=False) as uow:
        s = uow.session
        require_worker_user(s, actor, "list external tasks")
        q = select(ExternalTask).where(ExternalTask.state == "ready")
        for name, column in (("topic", ExternalTask.topic), ("worker_id", ExternalTask.worker_id),
                             ("instance_id", ExternalTask.instance_id), ("element_id", ExternalTask.element_id)):
            if filters.get(name) is not None:
                q = q.where(column == filters[name])
        rows = s.execute(q.order_by(ExternalTask.created_at, ExternalTask.id).limit(1000)).scalars().all()
        return _with_business_keys(s, [_plain(r) for r in rows])


def get_external_task(sg, actor: str, task_id: str) -> dict:
    """One waiting external task."""
    with sg.uow(write=False) as uow:
        require_worker_user(uow.session, actor, "read external tasks")
        return _with_business_keys(uow.session, [_plain(task_row(uow.session, task_id))])[0]


def _with_business_keys(s, tasks: list[dict]) -> list[dict]:
    """The tasks, each with its deal's business key (Camunda's clients read it from the task)."""
    ids = {t["instance_id"] for t in tasks}
    keys = dict(s.execute(select(Instance.id, Instance.business_key).where(Instance.id.in_(ids))).all()) if ids else {}
    return [{**t, "business_key": keys.get(t["instance_id"])} for t in tasks]
