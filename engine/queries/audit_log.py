"""Read-only queries for auditors: a deal's full history, the audit log search and export,
deployment history and the chain check. Each returns plain data and refuses non-auditors."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select

from engine import domain
from engine.audit import verify as audit_verify
from engine.queries import views
from engine.queries.inbox import key_prefix
from engine.actors import OPERATOR_PREFIX, load_user
from engine.bpmn.definitions import definition, every_definition
from engine.clock import iso
from engine.errors import FormInvalid, Refused
from engine.limits import MAX_ID, InputRefused, day, shown, text_value, whole_number
from engine.store.models import AuditEvent, DecisionVersion, Instance, ProcessVersion, User
from engine.readonly import is_auditor
from engine.services.sign_in import ANONYMOUS

SYSTEM_ACTORS = ("engine", ANONYMOUS)
PAGE_SIZE = 50
EXPORT_BATCH = 1000
EXPORT_COLUMNS = ("seq", "at", "actor", "on_behalf_of", "kind", "instance_id", "process_id", "version", "element_id",
                  "outcome", "details", "hash")
# Events whose details carry the data a person submitted, and the deal data that came from a rule or handler.
SUBMITTED = {"instance_started", "task_completed"}
COMPUTED = {"decision_evaluated": "outputs", "service_task_run": "outputs", "message_received": "variables"}


def _require_auditor(s, user: str) -> None:
    if not is_auditor(load_user(s, user)):
        raise Refused(f"{user} may not read the audit trail: it needs the role 'auditor'")


# -- one deal ---------------------------------------------------------------------------------

def _fields_by_id(model: dict) -> dict:
    """Every form field of the process by id (start form and task forms), for labels and enum names."""
    out = {f["id"]: f for f in model.get("start_form", [])}
    for m in every_definition(model):
        for el in m["elements"].values():
            for f in el.get("form") or []:
                out.setdefault(f["id"], f)
    return out


def _named_values(values: dict, fields: dict) -> list[dict]:
    return [{"id": k, "label": (fields.get(k) or {}).get("label") or k, "value": v, "field": fields.get(k)}
            for k, v in (values or {}).items()]


def timeline(history: list[dict], model: dict) -> list[dict]:
    """The deal's events in order, each with the element's name, the data submitted with it
    (field: value) and, for decisions and sign-offs, the deal's data as it stood just before."""
    fields = _fields_by_id(model)
    known: dict = {}
    out = []
    for e in history:
        d = e["details"] or {}
        elements = definition(model, d.get("called_process"))["elements"]  # the element's own process
        el = elements.get(e["element_id"] or "", {})
        entry = {**e, "element_name": el.get("name") or d.get("element_name") or e["element_id"],
                 "submitted": [], "data_before": []}
        if e["kind"] in SUBMITTED:
            entry["submitted"] = _named_values(d.get("data"), fields)
        if e["kind"] in ("task_completed", "gate_decided", "decision_evaluated"):
            entry["data_before"] = _named_values(dict(known), fields)
        if e["kind"] == "timer_fired" and d.get("attached_to"):
            entry["attached_to_name"] = elements.get(d["attached_to"], {}).get("name") or d["attached_to"]
        out.append(entry)
        if e["kind"] in SUBMITTED:
            known.update(d.get("data") or {})
        elif e["kind"] in COMPUTED:
            known.update(d.get(COMPUTED[e["kind"]]) or {})
    return out


def deal_history(sg, instance_id: int, user: str) -> dict:
    """A deal's full record for an auditor: the deal page's data plus the annotated timeline."""
    with sg.uow(write=False) as uow:
        s = uow.session
        _require_auditor(s, user)
        inst = s.get(Instance, int(instance_id))
        model = sg.version(s, inst.process_version_id).model if inst is not None else None
    deal = views.deal(sg, instance_id, user)  # NotFound when there is no such deal
    return {**deal, "timeline": timeline(deal["history"], model)}


# -- the log across deals ---------------------------------------------------------------------

@dataclass(frozen=True)
class LogFilter:
    """Which audit events to list; None means any."""

    actor: str | None = None
    process_id: str | None = None
    version: int | None = None
    kind: str | None = None
    outcome: str | None = None
    since: date | None = None
    until: date | None = None
    business_key: str | None = None  # events of the deals whose business key starts so

    def as_args(self) -> dict:
        """The filter as query-string values (what a search form would send)."""
        return {k: str(v) for k, v in self.__dict__.items() if v not in (None, "")}


FILTERS = tuple(f.name for f in fields(LogFilter))  # the query-string names of a filter


def log_filter(actor=None, process_id=None, version=None, kind=None, outcome=None, since=None, until=None,
               business_key=None) -> LogFilter:
    """A LogFilter from form text; FormInvalid names each value that cannot be used."""
    errors = {}

    def read(check, name, v, *args):
        try:
            return check(v, name, *args)
        except InputRefused as exc:
            errors[name] = exc.reason

    number = read(whole_number, "version", version, 1)
    if "version" in errors:
        errors["version"] = f"'{shown(version)}' is not a version number (1 to {MAX_ID:,})"
    outcome = read(text_value, "outcome", outcome)
    gate_outcomes = domain.current().gate_outcomes
    if outcome is not None and outcome not in gate_outcomes:
        errors["outcome"] = f"'{outcome}' is not a gate outcome ({', '.join(gate_outcomes)})"
    f = LogFilter(read(text_value, "actor", actor), read(text_value, "process_id", process_id), number,
                  read(text_value, "kind", kind), outcome, read(day, "since", since), read(day, "until", until),
                  read(text_value, "business_key", business_key))
    if f.since and f.until and f.until < f.since:
        errors["until"] = "the end date is before the start date"
    if errors:
        raise FormInvalid(errors)
    return f


def _start_of(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=timezone.utc)


def _filtered(q, f: LogFilter):
    if f.actor is not None:
        q = q.where(by_actor(f.actor))
    for column, value in ((AuditEvent.process_id, f.process_id), (AuditEvent.version, f.version),
                          (AuditEvent.kind, f.kind)):
        if value is not None:
            q = q.where(column == value)
    if f.business_key is not None:
        q = q.where(AuditEvent.instance_id.in_(select(Instance.id).where(key_prefix(f.business_key))))
    if f.outcome:
        q = q.where(AuditEvent.kind == "gate_decided", AuditEvent.details["outcome"].as_string() == f.outcome)
    if f.since:
        q = q.where(AuditEvent.at >= _start_of(f.since))
    if f.until:  # the whole end day
        q = q.where(AuditEvent.at < _start_of(f.until + timedelta(days=1)))
    return q


def by_actor(name: str):
    """Events by `name`, and the engine's steps taken on `name`'s input (both columns indexed)."""
    return or_(AuditEvent.actor == name, AuditEvent.on_behalf_of == name)


def _row(e: AuditEvent) -> dict:
    return {"seq": e.seq, "at": iso(e.at), "actor": e.actor, "on_behalf_of": e.on_behalf_of, "kind": e.kind,
            "instance_id": e.instance_id, "process_id": e.process_id, "version": e.version, "element_id": e.element_id,
            "outcome": (e.details or {}).get("outcome") if e.kind == "gate_decided" else None,
            "details": e.details, "hash": e.hash}


def search(sg, user: str, f: LogFilter, page: int = 1, per_page: int = PAGE_SIZE) -> dict:
    """One page of the events matching `f`, oldest first, with the total count."""
    with sg.uow(write=False) as uow:
        s = uow.session
        _require_auditor(s, user)
        total = s.execute(_filtered(select(func.count()).select_from(AuditEvent), f)).scalar_one()
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        rows = s.execute(_filtered(select(AuditEvent), f).order_by(AuditEvent.seq)
                         .offset((page - 1) * per_page).limit(per_page)).scalars().all()
        return {"rows": [_row(e) for e in rows], "total": total, "page": page, "pages": pages}


def choices(sg, user: str) -> dict:
    """The values the search form offers: the users and the system actors (engine, operators, anonymous
    sign-in attempts, the timer worker the engine acted for) as actors, and the processes, versions
    and kinds that occur."""
    with sg.uow(write=False) as uow:
        s = uow.session
        _require_auditor(s, user)

        def values(column, *where):
            return list(s.execute(select(column).distinct().where(column.is_not(None), *where)
                                  .order_by(column)).scalars())
        people = values(User.name)
        # The engine's steps name whose input they acted on (a user, an operator, the timer worker).
        system = set(values(AuditEvent.actor, or_(AuditEvent.actor.in_(SYSTEM_ACTORS),
                                                  AuditEvent.actor.startswith(OPERATOR_PREFIX))))
        system |= set(values(AuditEvent.on_behalf_of)) - set(people)
        return {"actors": people + sorted(system), "processes": values(AuditEvent.process_id),
                "versions": values(AuditEvent.version), "kinds": values(AuditEvent.kind),
                "outcomes": list(domain.current().gate_outcomes)}


def export(sg, user: str, f: LogFilter, batch: int = EXPORT_BATCH):
    """Every event matching `f`, oldest first, as an iterator that reads `batch` rows at a time
    (keyset on seq, each batch in a short transaction of its own): memory stays flat however many
    events match. The access check runs now; the rows are read as the iterator is consumed. The
    export stops at the newest event at the time of the call, so it is one consistent range."""
    with sg.uow(write=False) as uow:
        _require_auditor(uow.session, user)
        upto = uow.session.execute(select(func.max(AuditEvent.seq))).scalar_one() or 0

    def rows():
        last = 0
        while last < upto:
            with sg.uow(write=False) as uow:
                chunk = [_row(e) for e in uow.session.execute(
                    _filtered(select(AuditEvent), f).where(AuditEvent.seq > last, AuditEvent.seq <= upto)
                    .order_by(AuditEvent.seq).limit(batch)).scalars()]
            if not chunk:
                return
            yield from chunk
            last = chunk[-1]["seq"]
    return rows()


# -- deployments and the chain ----------------------------------------------------------------

def deployments(sg, user: str) -> dict:
    """Every deployed process version and decision table version, newest first: who, when, comment."""
    with sg.uow(write=False) as uow:
        s = uow.session
        _require_auditor(s, user)
        processes = s.execute(select(ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.name,
                                     ProcessVersion.deployed_at, ProcessVersion.deployed_by, ProcessVersion.comment)
                              .order_by(ProcessVersion.deployed_at.desc(), ProcessVersion.process_id,
                                        ProcessVersion.version.desc())).all()
        decisions = s.execute(select(DecisionVersion).order_by(
            DecisionVersion.deployed_at.desc(), DecisionVersion.decision_id, DecisionVersion.version.desc())).scalars()
        return {
            "processes": [{"process_id": r.process_id, "version": r.version, "name": r.name,
                           "deployed_at": iso(r.deployed_at), "deployed_by": r.deployed_by, "comment": r.comment,
                           "previous": r.version - 1 if r.version > 1 else None} for r in processes],
            "decisions": [{"decision_id": d.decision_id, "version": d.version, "name": d.name,
                           "deployed_at": iso(d.deployed_at), "deployed_by": d.deployed_by} for d in decisions],
        }


def verify(sg, user: str, checkpoints: list[dict] = ()) -> dict:
    """Run the chain check (and that each checkpoint holds); `summary` says the outcome in a line."""
    with sg.uow(write=False) as uow:
        _require_auditor(uow.session, user)
        result = audit_verify.verify(uow.session, sg.audit_keys, checkpoints)
    return {**result, "summary": audit_verify.describe_ok(result) if result["ok"] else
            audit_verify.describe_break(result)}
