"""Turn a set of BPMN/DMN documents into runnable specs, or a list of located problems."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn import (camunda_compat, definitions, diagram_model, juel_xml, validation, variable_reads, xml_ids,
                         xmlsafe)
from engine.bpmn.dmn import model as dmn_model
from engine import limits
from engine.bpmn.data_fields import decision_outputs, fields_before
from engine.bpmn.dmn.checks import names_problems
from engine.bpmn.dmn.graph import required_closure
from engine.bpmn.dmn.model import logic_of
from engine.bpmn.dmn.task import Parser
from engine.errors import Problem


@dataclass
class Document:
    """One file of a deployment, safely parsed."""

    file_name: str
    content: bytes
    kind: str  # bpmn | dmn
    root: object
    sha256: str
    deployed: bool = False  # already stored; loaded only to resolve references
    processes: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # what deploys but the engine leaves out


def read_document(file_name: str, content: bytes, deployed: bool = False,
                  default_language: str = dmn_model.DEFAULT_LANGUAGE) -> Document | Problem:
    """Parse one file, or say why it cannot be read (DMN cells declaring no language are in
    `default_language`: FEEL, or what a stored file was deployed with)."""
    try:
        root = xmlsafe.parse(content)
    except xmlsafe.UnsafeXml as exc:
        return Problem(file_name, str(exc), line=exc.line)
    kind = diagram_model.document_kind(root)
    if kind is None:
        return Problem(file_name, "not a BPMN 2.0 or DMN document (root element must be bpmn:definitions or dmn:definitions)")
    doc = Document(file_name, content, kind, root, hashlib.sha256(content).hexdigest(), deployed)
    if kind == "bpmn":
        doc.warnings = camunda_compat.read_as_camunda(root, file_name)
        diagram_model.quote_iso_timers(root)
        juel_xml.translate_document(root)
        doc.processes = diagram_model.bpmn_models(root, file_name)
        diagram_model.detach_start_timers(root)
    else:
        doc.decisions = dmn_model.dmn_decisions(root, file_name, default_language)
    return doc


def read_stored(src, deployed: bool = True) -> Document | Problem:
    """A stored file (a `sources` row) read as it was deployed: DMN cells that declare no language
    in the language recorded with it, Python for files stored before that was recorded."""
    return read_document(src.file_name, src.content, deployed, src.dmn_language or dmn_model.LEGACY_LANGUAGE)


@dataclass
class ParsedProcess:
    """A process ready to store: spec objects, plain model and what it was built from."""

    process_id: str
    name: str | None
    document: Document
    spec: object
    subprocess_specs: dict
    model: dict
    source_shas: list[str]


_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")
_KNOWN_PREFIXES = {diagram_model.CAMUNDA_NS: "camunda", diagram_model.BPMN_NS: "bpmn"}
_TOO_DEEP = ("the flow is too long for the engine's parser, which follows sequence flows one by one "
             "and ran out of depth here; split the process into called processes")


def _message(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if isinstance(exc, RecursionError) or "RecursionError" in text:
        return _TOO_DEEP
    # SpiffWorkflow sometimes puts an lxml element's repr in its message; name the tag instead.
    text = _ELEMENT_REPR.sub(lambda m: f"<{m.group(1)}>", text).strip()
    if text.endswith("for tasks of type"):  # SpiffWorkflow forgets to say which type
        text += " " + (getattr(exc, "tag", "") or "this element")
    return text



def _add_unless_said(problems: list[Problem], found: Problem) -> None:
    """Add what SpiffWorkflow's parser found, unless the checks already said it (our own parser
    classes raise the checks' messages too)."""
    if not any((p.file, p.element_id, p.reason) == (found.file, found.element_id, found.reason) for p in problems):
        problems.append(found)

def _problem_from_spiff(exc: Exception, default_file: str) -> Problem:
    if isinstance(exc, ValidationException):
        return Problem(exc.file_name or default_file, _message(exc),
                       exc.id or None, exc.name or None, exc.line_number or None)
    if isinstance(exc, SpiffWorkflowException):
        spec = getattr(exc, "task_spec", None)
        return Problem(default_file, _message(exc),
                       getattr(spec, "bpmn_id", None), getattr(spec, "bpmn_name", None))
    if isinstance(exc, KeyError) and exc.args and str(exc.args[0]).startswith("{"):
        ns, _, attr = str(exc.args[0])[1:].partition("}")
        prefix = _KNOWN_PREFIXES.get(ns, ns)
        return Problem(default_file, f"a required attribute {prefix}:{attr} is missing on an element of this file")
    if isinstance(exc, RecursionError):
        return Problem(default_file, _TOO_DEEP)
    return Problem(default_file, f"the engine's BPMN parser could not read this file ({type(exc).__name__}: {exc})")


def _locate(problem: Problem, docs: list[Document]) -> Problem:
    """Add the line of the named element (SpiffWorkflow does not report lines from lxml trees)."""
    if problem.line is None and problem.element_id:
        for doc in docs:
            if doc.file_name == problem.file:
                found = doc.root.xpath("//*[@id=$id]", id=problem.element_id)
                if found:
                    problem.line = found[0].sourceline
    return problem


def parse_batch(docs: list[Document], helpers=frozenset()) -> tuple[list[ParsedProcess], list[Problem]]:
    """Parse and check all documents together; the new ones must all pass for any to deploy.

    Returns what parsed and every problem found; with any problem, nothing of the batch may deploy.

    `helpers` are the names of the functions diagrams may call (decision cells may read them)."""
    problems: list[Problem] = []
    decisions = {d["id"]: (doc, d) for doc in docs for d in doc.decisions}
    processes = {p["process_id"]: (doc, p) for doc in docs for p in doc.processes}
    new_docs = [d for d in docs if not d.deployed]
    faulty: set = set()

    for doc in new_docs:
        problems.extend(xml_ids.lint_ids(doc.root, doc.file_name))
        if doc.kind == "dmn" and not doc.decisions:
            problems.append(Problem(doc.file_name, "no decision in this DMN file"))
        siblings = {d["id"]: d for d in doc.decisions}
        for decision in doc.decisions:
            found = validation.lint_decision(decision, siblings)
            if found:
                faulty.add(decision["id"])
            problems.extend(found)
        if doc.kind == "bpmn":
            problems.extend(validation.lint_document(doc.root, doc.file_name))
            executable = [p for p in doc.processes if p["executable"]]
            if not executable:
                problems.append(Problem(doc.file_name, "no executable process in this file "
                                        "(set isExecutable=\"true\" on the process to run)"))
            for model in executable:
                problems.extend(validation.lint_process(model, set(decisions), set(processes)))
                doc.warnings.extend(validation.anyone_warnings(model))
                doc.warnings.extend(variable_reads.condition_warnings(
                    {pid: m for pid, (_, m) in processes.items()}, model,
                    {did: d["table"] for did, (_, d) in decisions.items() if d["table"] is not None}, set(helpers)))
                problems.extend(limits.lint_form_limits(model))
                cycle = validation.call_cycle(model, {pid: m for pid, (_, m) in processes.items()})
                if cycle:
                    problems.append(Problem(doc.file_name, "process calls itself ("
                                            + " -> ".join(cycle) + "); recursive call activities would "
                                            "never finish starting and are not supported",
                                            model["process_id"], model["name"], model.get("line")))
    problems.extend(_decision_names(decisions, processes, set(helpers), faulty))

    # One pass: SpiffWorkflow's parser reads the files even when the checks above found problems,
    # so a refusal lists what it finds too; only a file it would hang on is kept from it.
    parser, unread = Parser(), set()
    for doc in docs:
        if doc.kind != "bpmn":
            continue  # decision tables are plain data (diagram_model), decided by engine/bpmn/dmn/evaluate.py
        if any(validation.hangs_parser(m) for m in doc.processes):
            unread.add(doc.file_name)
            continue
        try:
            parser.add_bpmn_xml(doc.root, filename=doc.file_name)
        except Exception as exc:  # noqa: BLE001 - any parser failure is a refusal, never a crash
            unread.add(doc.file_name)
            _add_unless_said(problems, _locate(_problem_from_spiff(exc, doc.file_name), docs))

    parsed = []
    for doc in (d for d in new_docs if d.file_name not in unread):
        for model in (p for p in doc.processes if p["executable"]):
            pid = model["process_id"]
            if validation.calls_unknown(model, set(processes)):
                continue  # already refused by name; the parser would only say it again
            try:
                spec = parser.get_spec(pid)
                subs = parser.get_subprocess_specs(pid)
                BpmnWorkflow(spec, subs)  # proves the spec can be instantiated
            except Exception as exc:  # noqa: BLE001
                _add_unless_said(problems, _locate(_problem_from_spiff(exc, doc.file_name), docs))
                continue
            shas, tables = _dependencies(model, processes, decisions)
            # Stored with its decision tables and the models of the processes it calls, as they
            # are now, like its spec.
            stored = definitions.with_called({**model, "decision_tables": tables},
                                             {p: m for p, (_, m) in processes.items()})
            parsed.append(ParsedProcess(pid, model["name"], doc, spec, subs, stored, shas))
    return parsed, _without_repeats(problems)


def _without_repeats(problems: list[Problem]) -> list[Problem]:
    """The problems with the parser's restatements of an element's problem dropped (the first says it better)."""
    out, flagged = [], set()
    for p in problems:
        key = (p.file, p.element_id)
        if p.element_id and key in flagged and p.reason[:1].isupper():  # SpiffWorkflow's messages are capitalised
            continue
        flagged.add(key)
        out.append(p)
    return out


def _decision_names(decisions: dict, processes: dict, helpers: set, faulty: set) -> list[Problem]:
    """Names a decision reads that no input column, helper, or process using it can give.

    A new table is checked against every executable process that uses it; a deployed one
    against the new processes that use it (the problem then sits on their business rule task)."""
    tables = {did: logic_of(d) for did, (_, d) in decisions.items() if logic_of(d) is not None}
    models = {pid: m for pid, (_, m) in processes.items()}
    required = {r for logic in tables.values() for r in logic.get("requires") or []}
    problems = []
    for did, (ddoc, decision) in decisions.items():
        if did in faulty or did not in tables:
            continue
        # A required decision decides wherever a decision requiring it does; it reads what they read,
        # and a decision reads the outputs of those it requires.
        users = {d for d in tables if did in required_closure(tables, d)} if did in required else {did}
        given = {n for r in required_closure(tables, did) if r != did for n in decision_outputs(tables[r])}
        usages = [(pdoc, m, el) for pdoc, m in processes.values() if m["executable"]
                  for el in m["elements"].values() if el["type"] == "businessRuleTask" and el.get("decision_ref") in users]
        if not ddoc.deployed and not usages:
            problems += names_problems(decision, None, helpers | given, None)
        for pdoc, model, el in usages:
            if ddoc.deployed and pdoc.deployed:
                continue
            label = f"'{model['process_id']}' at {el['id']}" + (f" ({' '.join(el['name'].split())})" if el.get("name") else "")
            before = fields_before(models, model["process_id"], el["id"], tables)
            if before is None:
                continue  # an external task upstream: its worker may set any field the table reads
            fields = before | given
            found = names_problems(decision, fields, helpers, label)
            if ddoc.deployed:  # the process is what is being deployed: say so on its business rule task
                found = [Problem(model["file"], f"decision '{did}' (deployed): {p.reason}", el["id"], el.get("name"),
                                 el.get("line")) for p in found]
            if variable_reads.accepts_variables(model):  # the names may come with the start: warn, as Camunda runs it
                (pdoc if ddoc.deployed else ddoc).warnings.extend(
                    Problem(p.file, f"{p.reason}; " + variable_reads.SENT_AT_START.format(what="the decision"),
                            p.element_id, p.element_name, p.line, p.cell) for p in found)
                continue
            problems += found
    return problems


def _dependencies(model: dict, processes: dict, decisions: dict) -> tuple[list[str], dict]:
    """Content hashes of every file this process's behaviour depends on, and the decision tables it runs."""
    seen, shas, tables, todo = set(), set(), {}, [model]
    logics = {did: logic_of(d) for did, (_, d) in decisions.items()}
    while todo:
        m = todo.pop()
        if m["process_id"] in seen:
            continue
        seen.add(m["process_id"])
        shas.add(processes[m["process_id"]][0].sha256)
        for el in m["elements"].values():
            if el.get("decision_ref") and el["decision_ref"] in decisions:
                for did in required_closure(logics, el["decision_ref"]):  # with the decisions it requires
                    doc, decision = decisions[did]
                    shas.add(doc.sha256)
                    tables[did] = logic_of(decision)
            if el.get("called_element") and el["called_element"] in processes:
                todo.append(processes[el["called_element"]][1])
    return sorted(shas), tables
