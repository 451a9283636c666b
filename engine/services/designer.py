"""Use cases of the process designer: the catalog of versions, drafts, validation, deploy, diff.

Designers may change things; auditors may read versions, sources and diffs. Everything else
is refused before any data is read.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from engine import audit, domain
from engine.services import deployment
from engine.bpmn import lint, parsing
from engine.actors import load_user, require_any_role
from engine.clock import iso
from engine.errors import Conflict, InvalidDiagram, NotFound, Problem, Refused
from engine.readonly import audited_refusals, forbid_auditor
from engine.store.models import DecisionVersion, Draft, Instance, ProcessVersion, Source, User, UserRole
from engine.roles import AUDITOR_ROLE, DESIGNER_ROLE

READERS = [DESIGNER_ROLE, AUDITOR_ROLE]
KINDS = {"bpmn": "process", "dmn": "decision"}
# What a change of an element or flow means to the people who run it; the diagram layout is not.
COMPARED = ("type", "name", "lane", "roles", "parent", "properties", "default_flow", "form", "decision_ref",
            "topic", "called_element", "attached_to", "cancel_activity", "script", "timer",
            "event_definitions", "source", "target", "condition")


class CommentMissing(Refused):
    """A deploy from the designer must say what changed."""


def _require(uow, actor: str, roles: list[str], what: str) -> None:
    user = load_user(uow.session, actor)
    if roles == [DESIGNER_ROLE]:  # a change: an auditor's attempt is refused and audited
        forbid_auditor(user, what)
    require_any_role(user, roles, what)


def catalog(sg, actor: str) -> dict:
    """Every process and decision table with its versions (newest first) and the open drafts."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, READERS, "see the process designer")
        s = uow.session
        running = dict(s.execute(select(Instance.process_version_id, func.count()).where(
            Instance.status == "running").group_by(Instance.process_version_id)).all())
        processes = _by_id(s.execute(select(ProcessVersion).order_by(
            ProcessVersion.process_id, ProcessVersion.version.desc())).scalars(), "process_id",
            lambda pv: {"running": running.get(pv.id, 0)})
        decisions = _by_id(s.execute(select(DecisionVersion).order_by(
            DecisionVersion.decision_id, DecisionVersion.version.desc())).scalars(), "decision_id", lambda dv: {})
        drafts = [_draft_row(d) for d in s.execute(select(Draft).order_by(Draft.saved_at.desc())).scalars()]
    return {"processes": processes, "decisions": decisions, "drafts": drafts}


def _by_id(rows, ident: str, extra) -> list[dict]:
    """Version rows grouped by process or decision id, in the order given."""
    out: dict = {}
    for row in rows:
        key = getattr(row, ident)
        entry = out.setdefault(key, {"id": key, "name": row.name or key, "versions": []})
        entry["versions"].append({"version": row.version, "deployed_at": iso(row.deployed_at),
                                  "deployed_by": row.deployed_by, "comment": row.comment, **extra(row)})
    return list(out.values())


def _draft_row(d: Draft) -> dict:
    return {"kind": d.kind, "key": d.key, "name": d.name or d.key, "file_name": d.file_name,
            "base_version": d.base_version, "saved_by": d.saved_by, "saved_at": iso(d.saved_at)}


def _version_row(s, kind: str, key: str, version: int | None):
    model = ProcessVersion if kind == "bpmn" else DecisionVersion
    ident = model.process_id if kind == "bpmn" else model.decision_id
    q = select(model).where(ident == key)
    q = q.where(model.version == version) if version is not None else q.order_by(model.version.desc()).limit(1)
    row = s.execute(q).scalars().first()
    if row is None:
        raise NotFound(f"no {'version ' + str(version) + ' of ' if version else ''}{KINDS[kind]} '{key}'")
    return row


def source(sg, actor: str, kind: str, key: str, version: int | None = None) -> dict:
    """A deployed version's file (the newest when version is None): file name, version, content."""
    _check_kind(kind)
    with sg.uow(write=False) as uow:
        _require(uow, actor, READERS, "read diagram sources")
        row = _version_row(uow.session, kind, key, version)
        src = uow.session.get(Source, row.bpmn_sha256 if kind == "bpmn" else row.dmn_sha256)
        return {"kind": kind, "key": key, "version": row.version, "file_name": src.file_name, "content": src.content}


def draft(sg, actor: str, kind: str, key: str) -> dict | None:
    """The saved draft of a process or decision, with its content; None when there is none."""
    _check_kind(kind)
    with sg.uow(write=False) as uow:
        _require(uow, actor, [DESIGNER_ROLE], "open drafts")
        d = uow.session.execute(select(Draft).where(Draft.kind == kind, Draft.key == key)).scalar_one_or_none()
        return None if d is None else {**_draft_row(d), "content": d.content}


def template(sg, actor: str) -> bytes:
    """The "new process" diagram the domain provides (the sales domain's: a lane per sales role, start and end)."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, [DESIGNER_ROLE], "draw new processes")
    template = domain.current().new_process_template
    if template is None:
        raise NotFound("this installation has no template for a new process")
    return template.read_bytes()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NotFound(f"no diagram kind '{kind}' (bpmn or dmn)")


def _identify(file_name: str, content: bytes) -> tuple[str, str, str | None]:
    """(kind, key, name) of the process or decision a file defines, or InvalidDiagram."""
    doc = parsing.read_document(file_name, content)
    if isinstance(doc, Problem):
        raise InvalidDiagram([doc])
    if doc.kind == "bpmn":
        found = [p for p in doc.processes if p["executable"]] or doc.processes
        if not found or not found[0]["process_id"]:
            raise InvalidDiagram([Problem(file_name, "no process with an id in this file")])
        return "bpmn", found[0]["process_id"], found[0]["name"]
    if not doc.decisions or not doc.decisions[0]["id"]:
        raise InvalidDiagram([Problem(file_name, "no decision with an id in this DMN file")])
    return "dmn", doc.decisions[0]["id"], doc.decisions[0]["name"]


def validate(sg, actor: str, file_name: str, content: bytes) -> list[dict]:
    """Every problem with a diagram: deploy's refusals ("error") and the designer's lint ("warning")."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, [DESIGNER_ROLE], "validate diagrams")
        known_roles = set(uow.session.execute(select(UserRole.role).distinct()).scalars())
        known_users = set(uow.session.execute(select(User.name).where(User.active.is_(True))).scalars())
    warnings: list[Problem] = []
    errors = deployment.check(sg, [(file_name, content)], warnings)
    out = [{**p.as_dict(), "severity": "error"} for p in errors] + [{**p.as_dict(), "severity": "warning"}
                                                                     for p in warnings]
    doc = parsing.read_document(file_name, content)
    if not isinstance(doc, Problem):
        for model in doc.processes:
            if model["executable"]:
                out += [{**p.as_dict(), "severity": "warning"} for p in lint.lint_design(model, known_roles, known_users)]
    return out


@audited_refusals
def save_draft(sg, actor: str, file_name: str, content: bytes, base_version: int | None = None) -> dict:
    """Keep a diagram without deploying it; replaces the earlier draft of the same process or decision."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, [DESIGNER_ROLE], "save drafts")
    kind, key, name = _identify(file_name, content)
    with sg.uow() as uow:
        s = uow.session
        d = s.execute(select(Draft).where(Draft.kind == kind, Draft.key == key)).scalar_one_or_none()
        if d is None:
            d = Draft(kind=kind, key=key)
            s.add(d)
        d.name, d.file_name, d.content, d.base_version = name, diagram_file_name(key, kind), content, base_version
        d.saved_by, d.saved_at = actor, sg.now()
        audit.record(s, d.saved_at, actor, "draft_saved", process_id=key if kind == "bpmn" else None,
                     element_id=key, details={"kind": kind, "key": key, "base_version": base_version,
                                              "bytes": len(content)})
        row = _draft_row(d)
        uow.commit()
    return row


def diagram_file_name(key: str, kind: str, version: int | None = None) -> str:
    """A file name for a process's or table's diagram (e.g. for a download): only letters, digits, -_."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[:200] or "diagram"
    return f"{safe}{'' if version is None else f'-v{version}'}.{kind}"


@audited_refusals
def discard_draft(sg, actor: str, kind: str, key: str) -> bool:
    """Throw a draft away; False when there was none."""
    _check_kind(kind)
    with sg.uow() as uow:
        _require(uow, actor, [DESIGNER_ROLE], "discard drafts")
        s = uow.session
        d = s.execute(select(Draft).where(Draft.kind == kind, Draft.key == key)).scalar_one_or_none()
        if d is None:
            return False
        s.delete(d)
        audit.record(s, sg.now(), actor, "draft_discarded", element_id=key, details={"kind": kind, "key": key})
        uow.commit()
    return True


@audited_refusals
def deploy(sg, actor: str, file_name: str, content: bytes, comment: str | None,
           base_version: int | None = None) -> list[dict]:
    """Deploy a diagram from the editor with a comment; its draft goes in the same transaction.

    With base_version (the version the editor opened), a version deployed meanwhile by someone
    else is a Conflict rather than silently replaced.
    """
    with sg.uow(write=False) as uow:  # refused before the file is even read
        _require(uow, actor, [DESIGNER_ROLE], "deploy diagrams")
    comment = (comment or "").strip() or None
    if comment is None:
        raise CommentMissing("say what changed: a deploy from the designer needs a comment")
    kind, key, _ = _identify(file_name, content)

    def drop_draft(s, results):
        mine = next((r for r in results if r["id"] == key and r["kind"] == KINDS[kind]), None)
        if base_version is not None and mine and mine["changed"] and mine["version"] - 1 > base_version:
            other = _version_row(s, kind, key, mine["version"] - 1)
            raise Conflict(f"{key} version {other.version} was deployed by {other.deployed_by} at "
                           f"{iso(other.deployed_at)}, after you opened version {base_version}; nothing was "
                           "deployed. Save your draft, open the newest version and make your change there.")
        s.execute(Draft.__table__.delete().where(Draft.kind == kind, Draft.key == key))

    return deployment.deploy(sg, [(diagram_file_name(key, kind), content)], actor, comment, also=drop_draft)


def deploy_preview(sg, actor: str, file_name: str, content: bytes) -> dict:
    """What deploying a decision table from the editor would change, for the designer to confirm:
    whether it differs from the deployed version and, if so, its what-if over the recorded gate
    decisions. InvalidDiagram when deploy would refuse it."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, [DESIGNER_ROLE], "deploy diagrams")
    kind, key, _ = _identify(file_name, content)
    if kind != "dmn":
        return {"kind": kind, "key": key, "changed": True, "what_if": None, "summary": None}
    problems = deployment.check(sg, [(diagram_file_name(key, kind), content)])
    if problems:
        raise InvalidDiagram(problems)
    with sg.uow(write=False) as uow:
        newest = uow.session.execute(select(DecisionVersion).where(DecisionVersion.decision_id == key)
                                     .order_by(DecisionVersion.version.desc()).limit(1)).scalars().first()
        deployed = (newest.version, newest.dmn_sha256) if newest is not None else (None, None)
    if deployed[1] == hashlib.sha256(content).hexdigest():
        return {"kind": kind, "key": key, "version": deployed[0], "changed": False, "what_if": None,
                "summary": f"{key} version {deployed[0]} already has this content; deploying changes nothing."}
    preview = domain.current().decision_preview
    if preview is None:
        return {"kind": kind, "key": key, "version": deployed[0], "changed": True, "what_if": None, "summary": None}
    result, summary = preview(sg, content, diagram_file_name(key, kind))
    return {"kind": kind, "key": key, "version": deployed[0], "changed": True, "summary": summary,
            "what_if": [{"decision": d["decision"], "replayed": d["replayed"], "changed": d["changed"],
                         "transitions": d["transitions"], "failures": len(d["failures"])} for d in result["decisions"]]}


@audited_refusals
def import_file(sg, actor: str, file_name: str, content: bytes) -> dict:
    """An uploaded .bpmn/.dmn file becomes a draft, once deploy would accept it; else InvalidDiagram."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, [DESIGNER_ROLE], "import diagrams")
    if Path(file_name).suffix.lower() not in (".bpmn", ".dmn", ".xml"):
        raise InvalidDiagram([Problem(file_name, "only .bpmn and .dmn files can be imported")])
    problems = deployment.check(sg, [(file_name, content)])
    if problems:
        raise InvalidDiagram(problems)
    return save_draft(sg, actor, file_name, content)


def diff(sg, actor: str, process_id: str, base: int, head: int) -> dict:
    """Elements and flows added, removed and changed (with the fields that changed) from base to head."""
    with sg.uow(write=False) as uow:
        _require(uow, actor, READERS, "compare versions")
        s = uow.session
        a, b = (_version_row(s, "bpmn", process_id, v) for v in (base, head))
        tables = {sha: src.file_name for sha in set(a.dmn_sha256s) ^ set(b.dmn_sha256s)
                  if (src := s.get(Source, sha)) is not None}
        versions = [{"version": v.version, "deployed_by": v.deployed_by, "deployed_at": iso(v.deployed_at),
                     "comment": v.comment} for v in (a, b)]
        old, new = _items(a.model), _items(b.model)
    changes = []
    for ident in sorted(set(old) | set(new), key=lambda i: (i not in new, i)):
        before, after = old.get(ident), new.get(ident)
        if before is None or after is None:
            item = after or before
            changes.append({"id": ident, "kind": "added" if before is None else "removed", "type": item["type"],
                            "name": item.get("name"), "fields": []})
            continue
        fields = [k for k in COMPARED if before.get(k) != after.get(k)]
        if fields:
            changes.append({"id": ident, "kind": "changed", "type": after["type"], "name": after.get("name"),
                            "fields": fields})
    return {"process_id": process_id, "base": versions[0], "head": versions[1], "changes": changes,
            "decision_tables_changed": sorted(set(tables.values()))}


def _items(model: dict) -> dict:
    items = {k: {**v, "line": None} for k, v in model["elements"].items()}
    items.update({k: {**v, "type": "sequenceFlow", "line": None} for k, v in model["flows"].items()})
    return items
