"""The message use case: a message from outside (a signed contract, a paid invoice) reaches the
deal waiting for it, or starts a deal at a message start event, in one transaction.

Correlation, as Camunda's: the deals waiting at a catcher of the message (receive task,
intermediate catch event, event-based gateway's event, boundary event), narrowed by the
business key (here: the deal's number) and by correlation keys (variables the deal's data
must hold with equal values). None waiting: a running start event of that message starts a
deal, under the business key as Camunda does (unless the key is a deal's number), else
NotFound; more than one: Conflict unless `all`. A message id makes a retry return the first
delivery's result instead of delivering twice.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import audit
from engine.actors import load_user, roles_of
from engine.bpmn import definitions
from engine.bpmn.failures import EngineFailure
from engine.bpmn.messages import CATCHING, deliver, waiting_for
from engine.bpmn.runtime import Runner
from engine.errors import Conflict, FormInvalid, KeyReused, NotFound, Refused
from engine.limits import InputRefused, text_value
from engine.readonly import audited_refusals, forbid_auditor
from engine.roles import INTEGRATION_ROLE
from engine.services import outbox
from engine.services.formless_start import new_deal
from engine.services.instances import instance_summary
from engine.services.steps import record_incident, save_step
from engine.services.variables import business_key as checked_key
from engine.store import deal_rows
from engine.store.models import IdempotencyKey, Instance, ProcessVersion

MAX_RETRIES = 5


class Ambiguous(Conflict):
    """Several deals wait for the message (and `all` was not asked), or it starts several processes."""


def catches(model: dict, name: str) -> list[tuple[str | None, dict]]:
    """The elements of a version (its called processes too) that catch the message `name`, with
    the called process defining each (None: the deal's own process)."""
    found = []
    for definition in definitions.every_definition(model):
        owner = None if definition is model else definition["process_id"]
        for el in definition["elements"].values():
            if el.get("type") in CATCHING and (el.get("message") or {}).get("name") == name:
                found.append((owner, el))
    return found


def _starts(model: dict, name: str) -> dict | None:
    """The deal's own top-level message start event for `name`, if this version has one."""
    return next((el for owner, el in catches(model, name)
                 if owner is None and el["type"] == "startEvent" and el.get("parent") is None), None)


@audited_refusals
def correlate_message(sg, name: str, actor: str, business_key: str | None = None,
                      correlation_keys: dict | None = None, variables: dict | None = None,
                      all: bool = False, message_id: str | None = None) -> dict:  # noqa: A002 - Camunda's word
    """Deliver the message `name` with `variables` to the deal(s) waiting for it, or start one.

    Returns {"message", "message_id", "replayed", "correlations": [{"instance_id", "process_id",
    "started", "element_ids", "status", "stage", "ready_tasks", ...}]}."""
    request = _checked(name, business_key, correlation_keys, variables, message_id)
    once = None
    if message_id is not None:
        once = ("message:" + message_id, hashlib.sha256(audit.canonical(
            [name, business_key, correlation_keys or {}, variables or {}, bool(all)]).encode()).hexdigest())
    for _attempt in range(MAX_RETRIES):
        try:
            return _correlate_once(sg, actor, request, bool(all), once)
        except StaleDataError:
            continue  # a user's step on the deal committed first: correlate again on its new state
        except IntegrityError:
            if once is None:
                raise
            continue  # a twin with the same message id committed first: answer with its result
    raise Conflict("the deal changed too often while the message was delivered; please send it again")


def _checked(name, business_key, correlation_keys, variables, message_id) -> dict:
    errors = {}
    for field, value in (("name", name), ("business_key", business_key), ("message_id", message_id)):
        if value is None and field != "name":
            continue
        if not isinstance(value, str) or not value.strip():
            errors[field] = "must be a non-empty string"
            continue
        try:
            text_value(value, field)
        except InputRefused as exc:
            errors[field] = exc.reason
    for field, value in (("correlation_keys", correlation_keys), ("variables", variables)):
        if value is not None and not isinstance(value, dict):
            errors[field] = "must be an object of variable names and values"
    if errors:
        raise FormInvalid(errors)
    return {"name": name, "business_key": business_key, "correlation_keys": correlation_keys or {},
            "variables": variables or {}}


def _correlate_once(sg, actor, request, all_, once) -> dict:
    with sg.uow() as uow:
        s = uow.session
        user = load_user(s, actor)
        forbid_auditor(user, f"send the message '{request['name']}'")
        if once and (first := _replay(s, actor, once)) is not None:
            return first
        now = sg.now()
        waiting = _waiting_deals(sg, s, request)
        if len(waiting) > 1 and not all_:
            raise Ambiguous(f"{len(waiting)} deals wait for the message '{request['name']}' ("
                           + ", ".join(f"#{inst.id}" for inst, *_ in waiting)
                           + "); narrow it with a business key or correlation keys, or send it to all")
        results = [_deliver_to(sg, s, user, request, now, *w, once) for w in waiting]
        if not results:
            results = [_start_by_message(sg, s, user, request, now, once)]
        result = {"message": request["name"], "message_id": once[0].removeprefix("message:") if once else None,
                  "correlations": results}
        if once:
            s.add(IdempotencyKey(actor=actor, key=once[0], request_hash=once[1], result=result, created_at=now,
                                 instance_id=results[0]["instance_id"]))
            s.flush()
        uow.commit()
    return {**result, "replayed": False}


def _replay(s, actor, once) -> dict | None:
    row = s.get(IdempotencyKey, (actor, once[0]))
    if row is None:
        return None
    if row.request_hash != once[1]:
        raise KeyReused(f"the message id '{once[0].removeprefix('message:')}' was already used for a different "
                        "message; give each message its own id")
    return {**row.result, "replayed": True}


def _waiting_deals(sg, s, request) -> list[tuple]:
    """Running deals waiting for the message and matching the keys, locked, each with its runner and
    the tasks waiting: [(instance, version, runner, waiting tasks)]."""
    name, key, wanted = request["name"], request["business_key"], request["correlation_keys"]
    version_ids = s.execute(select(Instance.process_version_id).where(Instance.status == "running")
                            .distinct()).scalars().all()
    versions = [pv for pv in (sg.version(s, vid) for vid in version_ids)
                if any(el["type"] != "startEvent" or el.get("parent") for _o, el in catches(pv.model, name))]
    found = []
    for pv in versions:
        q = select(Instance.id, Instance.data).where(Instance.process_version_id == pv.id, Instance.status == "running")
        if key is not None:
            # Camunda's business key; a deal's number (`#42`, `42`) also addresses that deal.
            number = key.strip().lstrip("#")
            is_number = number.isascii() and number.isdigit() and len(number) < 19  # int() refuses '²'
            q = q.where((Instance.business_key == key) | (Instance.id == int(number)) if is_number
                        else Instance.business_key == key)
        # Narrowed by the keys first, without locks: only the deals that match are locked and read.
        for iid in [i for i, data in s.execute(q.order_by(Instance.id)) if _matches(data, wanted)]:
            s.execute(select(Instance.id).where(Instance.id == iid).with_for_update())
            instance = deal_rows.deal(s, iid)
            if instance.status != "running" or not _matches(instance.data, wanted):
                continue  # changed by a step that committed while we waited for the lock
            spec, subs = sg.spec(s, pv.id)
            runner = Runner(sg.specs.load_state(instance.state, spec, subs, sg.script_engine), pv.model, sg.clock)
            tasks = waiting_for(runner, name)
            if tasks:
                found.append((instance, pv, runner, tasks))
    return found


def _matches(data: dict | None, wanted: dict) -> bool:
    return all((data or {}).get(k) == v for k, v in wanted.items())


def may_send(user, model: dict, waiting: list[dict]) -> None:
    """Refuse unless the user holds the integration role or a role of a waiting element's lane."""
    roles = {r for t in waiting for r in definitions.element(model, t["called_process"], t["element_id"]).get(
        "roles", [])}
    if INTEGRATION_ROLE in roles_of(user) or roles & roles_of(user):
        return
    needed = " or ".join(repr(r) for r in sorted(roles | {INTEGRATION_ROLE}))
    raise Refused(f"{user.name} may not send this message: it needs the role {needed}, and {user.name} holds "
                  f"{', '.join(repr(r) for r in sorted(roles_of(user))) or 'no role'}")


def _deliver_to(sg, s, user, request, now, instance, pv, runner, tasks, once) -> dict:
    may_send(user, pv.model, tasks)
    origin = {"kind": "message", "user": user.name, "message_id": once[0].removeprefix("message:") if once else None}
    audit.record(s, now, user.name, "message_correlated", instance_id=instance.id, process_id=instance.process_id,
                 version=instance.version, element_id=tasks[0]["element_id"],
                 details={"message": request["name"], "message_id": origin["message_id"],
                          "business_key": request["business_key"], "correlation_keys": request["correlation_keys"],
                          "variables": request["variables"], "element_ids": [t["element_id"] for t in tasks]})
    return _advance(sg, s, user, instance, pv, runner, request, origin, now, started=False)


def _start_by_message(sg, s, user, request, now, once) -> dict:
    name, key = request["name"], checked_key(request["business_key"])
    if request["correlation_keys"] or (key is not None and _names_a_deal(s, key)):
        raise NotFound(f"no running deal waits for the message '{name}' with "
                       + ("business key " + repr(key) if key is not None else "those correlation keys")
                       + "; nothing was changed")
    rows = s.execute(select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
                     ).scalars().all()
    latest = {}
    for row in rows:
        latest.setdefault(row.process_id, row)
    starting = [(row, start) for row in latest.values()
                if (start := _starts(sg.specs.version(row.id, lambda row=row: row).model, name)) is not None]
    if not starting:
        raise NotFound(f"no running deal waits for the message '{name}' and no process starts with it; "
                       "nothing was changed")
    if len(starting) > 1:
        raise Ambiguous(f"the message '{name}' starts more than one process ("
                       + ", ".join(row.process_id for row, _ in starting) + "); nothing was changed")
    row, start = starting[0]
    pv = sg.specs.version(row.id, lambda: row)
    may_send(user, pv.model, [{"called_process": None, "element_id": start["id"]}])
    origin = {"kind": "message", "user": user.name, "message_id": once[0].removeprefix("message:") if once else None}
    instance, runner = new_deal(sg, s, pv, lambda: row.spec, user.name, now, start["id"],
                                {"data": request["variables"], "message": name, "message_id": origin["message_id"],
                                 **({"business_key": key} if key else {})}, business_key=key)
    try:
        runner.advance()  # to the start event, which waits for the message
    except EngineFailure as failure:
        s.rollback()
        raise record_incident(sg, user.name, None, pv, failure) from None
    outbox.emit(s, "deal.started", now, instance, started_by=user.name, data=request["variables"],
                message=name)
    return _advance(sg, s, user, instance, pv, runner, request, origin, now, started=True)


def _names_a_deal(s, key: str) -> bool:
    """Whether the business key is a deal's number (`#42`, or `42` when deal 42 exists): that addresses
    a deal, which waits for nothing here, rather than naming a new deal's key."""
    number = key.lstrip("#")
    if not (number.isascii() and number.isdigit()) or len(number) >= 19:
        return False
    return key.startswith("#") or s.get(Instance, int(number)) is not None


def _advance(sg, s, user, instance, pv, runner, request, origin, now, started) -> dict:
    caught = deliver(runner, request["name"], request["variables"], origin)
    try:
        log = runner.advance()
    except EngineFailure as failure:
        s.rollback()
        raise record_incident(sg, user.name, None if started else instance.id, pv, failure) from None
    summary = instance_summary(s, instance, save_step(sg, s, instance, pv, runner, log, user.name, now).open)
    return {"instance_id": instance.id, "started": started, "element_ids": [c["element_id"] for c in caught],
            **{k: v for k, v in summary.items() if k != "id"}}
