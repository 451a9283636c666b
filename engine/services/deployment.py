"""The deploy use case: validate BPMN/DMN files and store new versions."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import func, select

from engine import audit
from engine.bpmn import parsing, xmlsafe
from engine.bpmn.dmn import model as dmn_model
from engine.actors import is_operator, load_user, require_any_role
from engine.errors import InvalidDiagram, Problem
from engine.services import start_timers
from engine.store.models import DecisionVersion, ProcessVersion, Source
from engine.readonly import audited_refusals, forbid_auditor
from engine.bpmn.script_engine import helper_names
from engine.roles import DESIGNER_ROLE

# What a folder deploy picks up: Camunda's engine also names its files *.bpmn20.xml and *.dmn11.xml.
FOLDER_SUFFIXES = (".bpmn", ".dmn", ".bpmn20.xml", ".dmn11.xml")


def collect_files(paths) -> list[tuple[str, bytes]]:
    """(name, content) of every diagram file named or found in the given folders."""
    out, problems = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.name.lower().endswith(FOLDER_SUFFIXES) and p.is_file())
            if not found:
                problems.append(Problem(str(path), "folder holds no .bpmn, .dmn, .bpmn20.xml or .dmn11.xml file"))
            for p in found:
                out.append(_read(p, problems))
        elif path.is_file():
            out.append(_read(path, problems))
        else:
            problems.append(Problem(str(path), "no such file or folder"))
    if problems:
        raise InvalidDiagram(problems)
    return [f for f in out if f is not None]


def _read(path: Path, problems: list) -> tuple[str, bytes] | None:
    if path.stat().st_size > xmlsafe.MAX_BYTES:
        problems.append(Problem(str(path), f"file is larger than the {xmlsafe.MAX_BYTES // 1048576} MB limit"))
        return None
    return str(path), path.read_bytes()


@audited_refusals
def deploy(sg, files: list[tuple[str, bytes]], actor: str, comment: str | None = None, also=None) -> list[dict]:
    """Deploy a set of files as a whole: every process gets a new version if its content changed.

    The results list each process and decision, then what deploys with a warning (kind "warning").

    `also(session, results)`, if given, runs in the same transaction before it commits.
    """
    if not is_operator(actor):
        with sg.uow(write=False) as uow:  # who may deploy is checked before reading any file
            user = load_user(uow.session, actor)
            forbid_auditor(user, "deploy diagrams")
            require_any_role(user, [DESIGNER_ROLE], "deploy diagrams")
    read = _read_documents(files)
    with sg.uow() as uow:
        s = uow.session
        docs, parsed, dumps = _prepare(sg, s, read)
        now = sg.now()
        for doc in docs:
            if not doc.deployed and s.get(Source, doc.sha256) is None:
                s.add(Source(sha256=doc.sha256, kind=doc.kind, file_name=Path(doc.file_name).name,
                             content=doc.content, stored_at=now,
                             dmn_language=dmn_model.DEFAULT_LANGUAGE if doc.kind == "dmn" else None))
        s.flush()
        results = (_store_decisions(s, docs, actor, comment, now)
                   + _store_processes(s, parsed, dumps, actor, comment, now)
                   + [{"kind": "warning", **w.as_dict(), "text": str(w)} for d in docs if not d.deployed
                      for w in d.warnings])
        if also is not None:
            also(s, results)
        uow.commit()
    return results


def check(sg, files: list[tuple[str, bytes]], warnings: list | None = None) -> list[Problem]:
    """Every problem deploy would refuse these files for, against what is deployed now; stores nothing.
    `warnings`, if given, gets what deploy would warn about."""
    read, problems = ([], []), []
    try:
        read = _read_documents(files)
        with sg.uow(write=False) as uow:
            _prepare(sg, uow.session, read)
    except InvalidDiagram as exc:
        problems = exc.problems
    if warnings is not None:
        warnings.extend(w for d in read[0] for w in d.warnings)
    return problems


def _read_documents(files) -> tuple[list, list[Problem]]:
    """The readable documents, and the problems of the unreadable ones and of ids defined twice."""
    docs, problems = [], []
    for name, content in files:
        doc = parsing.read_document(name, content)
        (problems if isinstance(doc, Problem) else docs).append(doc)
    return docs, problems + _duplicates(docs)


def _prepare(sg, s, read) -> tuple[list, list, dict]:
    """The documents with their deployed context, parsed and serialized; or InvalidDiagram with
    every problem of the deployment at once."""
    docs, problems = read
    docs = [_as_stored(s, d) for d in docs]
    docs = docs + _deployed_context(s, docs)
    parsed, found = parsing.parse_batch(docs, helper_names(sg.script_engine))
    problems = problems + found
    dumps = {p.process_id: _dump_spec(sg, p, problems) for p in parsed}
    if problems:
        raise InvalidDiagram(problems)
    return docs, parsed, dumps


def _as_stored(s, doc):
    """A DMN file stored before FEEL was the default is read as it was then (Python), so
    deploying it again changes nothing of what it decides."""
    if doc.kind != "dmn":
        return doc
    src = s.get(Source, doc.sha256)
    if src is None or src.dmn_language:
        return doc
    again = parsing.read_stored(src, deployed=False)
    if isinstance(again, Problem):
        return doc
    again.file_name = doc.file_name
    return again


def _duplicates(docs) -> list[Problem]:
    seen, problems = {}, []
    for doc in docs:
        for key in [("process", p["process_id"]) for p in doc.processes] + [("decision", d["id"]) for d in doc.decisions]:
            if key in seen and seen[key] != doc.file_name:
                problems.append(Problem(doc.file_name, f"{key[0]} id '{key[1]}' is also defined in {seen[key]}", key[1]))
            seen.setdefault(key, doc.file_name)
    return problems


def latest_process_versions(s):
    """The newest version row of every process, by process id."""
    newest = select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v")).group_by(
        ProcessVersion.process_id).subquery()
    return s.execute(select(ProcessVersion).join(
        newest, (ProcessVersion.process_id == newest.c.process_id) & (ProcessVersion.version == newest.c.v))
        .order_by(ProcessVersion.process_id)).scalars().all()


def newest_version_ids(s) -> list[tuple[int, str]]:
    """(id, process id) of the newest version of every process, by process id; no spec or model read."""
    rows = _newest(s, ProcessVersion, ProcessVersion.process_id, None, ProcessVersion.id)  # (process, version, id)
    return [(row[2], process_id) for process_id, row in sorted(rows.items())]


def _newest(s, model, ident, ids, *columns) -> dict:
    """(id, version, *columns) of the newest version of each id in `ids` (every id when None), by id;
    only those columns are read, never a version's model or spec."""
    if ids is not None and not ids:
        return {}
    newest = select(ident.label("key"), func.max(model.version).label("v")).group_by(ident)
    newest = (newest.where(ident.in_(sorted(ids))) if ids is not None else newest).subquery()
    rows = s.execute(select(ident, model.version, *columns).join(
        newest, (ident == newest.c.key) & (model.version == newest.c.v))).all()
    return {r[0]: r for r in rows}


def _processes_using(s, decision_ids: set[str], skip: set[str]) -> list[str]:
    """The file of the newest version of every process (other than `skip`) whose newest version
    names one of these deployed decisions."""
    tables = {r.dmn_sha256 for r in _newest(s, DecisionVersion, DecisionVersion.decision_id, decision_ids,
                                             DecisionVersion.dmn_sha256).values()}
    if not tables:  # decisions deployed for the first time: no process can name them yet
        return []
    # A version lists the tables it was built with; only those versions' elements are read.
    built_with = [r for pid, r in _newest(s, ProcessVersion, ProcessVersion.process_id, None, ProcessVersion.id,
                                          ProcessVersion.dmn_sha256s).items()
                  if pid not in skip and tables & set(r.dmn_sha256s or ())]
    if not built_with:
        return []
    rows = s.execute(select(ProcessVersion.bpmn_sha256, ProcessVersion.model)
                     .where(ProcessVersion.id.in_([r.id for r in built_with]))).all()
    return sorted({sha for sha, model in rows
                   if {el.get("decision_ref") for el in model["elements"].values()} & decision_ids})


def _deployed_context(s, docs) -> list:
    """The deployed files the new ones need, and nothing else: the decisions their processes name
    and the processes they call (and in turn what those need), and for a changed decision table
    the processes that use it (they get a new version too, and are checked like new ones)."""
    decisions = {x["id"] for d in docs for x in d.decisions}
    processes = {p["process_id"]: p for d in docs for p in d.processes}
    context, loaded = [], {d.sha256 for d in docs}

    def load(sha, deployed=True):
        if sha in loaded:
            return
        loaded.add(sha)
        src = s.get(Source, sha)
        doc = parsing.read_stored(src, deployed=deployed)
        if isinstance(doc, Problem):
            return
        context.append(doc)
        decisions.update(x["id"] for x in doc.decisions)
        for p in doc.processes:
            processes.setdefault(p["process_id"], p)

    # A changed decision table gives every process that uses it a new version, so new
    # starts run the new criteria while running deals keep theirs.
    for sha in _processes_using(s, decisions, set(processes)):
        load(sha, deployed=False)
    todo = [p for d in docs + context if not d.deployed for p in d.processes]
    seen = set()
    while todo:
        model = todo.pop()
        if model["process_id"] in seen:
            continue
        seen.add(model["process_id"])
        for el in model["elements"].values():
            ref = el.get("decision_ref")
            if ref and ref not in decisions:
                found = _newest(s, DecisionVersion, DecisionVersion.decision_id, {ref}, DecisionVersion.dmn_sha256)
                if ref in found:
                    load(found[ref].dmn_sha256)
            callee = el.get("called_element") if el["type"] == "callActivity" else None
            if callee and callee not in processes:
                found = _newest(s, ProcessVersion, ProcessVersion.process_id, {callee}, ProcessVersion.bpmn_sha256)
                if callee in found:
                    load(found[callee].bpmn_sha256)
            if callee in processes:
                todo.append(processes[callee])
    return context


def _store_decisions(s, docs, actor, comment, now) -> list[dict]:
    results = []
    latest = _newest(s, DecisionVersion, DecisionVersion.decision_id,
                     {x["id"] for d in docs if not d.deployed for x in d.decisions}, DecisionVersion.dmn_sha256)
    for doc in (d for d in docs if not d.deployed and d.kind == "dmn"):
        for decision in doc.decisions:
            prev = latest.get(decision["id"])
            if prev is not None and prev.dmn_sha256 == doc.sha256:
                results.append({"kind": "decision", "id": decision["id"], "version": prev.version, "changed": False})
                continue
            version = (prev.version if prev else 0) + 1
            s.add(DecisionVersion(decision_id=decision["id"], version=version, name=decision["name"],
                                  dmn_sha256=doc.sha256, deployed_at=now, deployed_by=actor, comment=comment))
            audit.record(s, now, actor, "decision_deployed", element_id=decision["id"],
                         details={"decision": decision["id"], "version": version, "file": doc.file_name,
                                  "sha256": doc.sha256, "comment": comment})
            results.append({"kind": "decision", "id": decision["id"], "version": version, "changed": True})
    return results


def _dump_spec(sg, p, problems: list) -> dict | None:
    """The spec as stored, checked to be plain JSON; else a problem naming the element that is not."""
    try:
        dump = sg.specs.dump_spec(p.spec, p.subprocess_specs)
        json.dumps(dump)
        return dump
    except Exception:  # noqa: BLE001 - locate the task spec the serializer cannot write
        pass
    for spec in [p.spec, *p.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            try:
                json.dumps(sg.specs._serializer.to_dict(task_spec))
            except Exception:  # noqa: BLE001
                bpmn_id = getattr(task_spec, "bpmn_id", None)
                el = p.model["elements"].get(bpmn_id or "", {})
                problems.append(Problem(p.document.file_name, f"element type {el.get('type') or type(task_spec).__name__} "
                                        "is not supported by the engine (its definition cannot be stored)",
                                        bpmn_id, getattr(task_spec, "bpmn_name", None), el.get("line")))
                return None
    problems.append(Problem(p.document.file_name, "the process definition cannot be stored by the engine",
                            p.process_id, p.name))
    return None


def _store_processes(s, parsed, dumps, actor, comment, now) -> list[dict]:
    results = []
    latest = _newest(s, ProcessVersion, ProcessVersion.process_id, {p.process_id for p in parsed},
                     ProcessVersion.content_hash)
    for p in parsed:
        content_hash = hashlib.sha256("\n".join(p.source_shas).encode()).hexdigest()
        prev = latest.get(p.process_id)
        if prev is not None and prev.content_hash == content_hash:
            results.append({"kind": "process", "id": p.process_id, "version": prev.version, "changed": False})
            continue
        version = (prev.version if prev else 0) + 1
        row = ProcessVersion(
            process_id=p.process_id, version=version, name=p.name, content_hash=content_hash,
            bpmn_sha256=p.document.sha256, dmn_sha256s=[sha for sha in p.source_shas if sha != p.document.sha256],
            spec=dumps[p.process_id], model=p.model,
            deployed_at=now, deployed_by=actor, comment=comment)
        s.add(row)
        s.flush()
        start_timers.schedule_version(s, row)
        audit.record(s, now, actor, "deployed", process_id=p.process_id, version=version,
                     details={"file": p.document.file_name, "sha256": p.document.sha256,
                              "sources": p.source_shas, "comment": comment})
        results.append({"kind": "process", "id": p.process_id, "version": version, "changed": True})
    return results
