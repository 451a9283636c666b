"""Driving SpiffWorkflow: run engine steps, observe gateways and decisions, report human tasks.

Everything that touches live workflow objects is here (and in parsing/serialization);
services.py only sees the plain data this module returns.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import definitions, sandbox
from .compaction import compact
from .decision_eval import DecisionFailed
from .decision_graph import decide_for_task
from .decision_task import decision_key, is_decision
from .sandbox_limits import limit_of
from .timekeeping import clock_in_use
from workflows.service_tasks import HANDLERS as SERVICE_HANDLERS
from workflows.vocabulary import GATE_OUTCOMES


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs diagram expressions and scripts in the sandbox, with the sales helpers in scope."""

    def evaluate(self, expression, context, external_context=None):
        extra = {**self.globals, **(external_context or {})}
        return sandbox.evaluate(expression, context, extra)

    def execute(self, script, context, external_context=None):
        extra = {**self.globals, **(external_context or {})}
        sandbox.execute(script, context, extra)
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are not supported yet")


def make_script_engine(helpers: dict) -> PythonScriptEngine:
    """The script engine every workflow runs with."""
    return PythonScriptEngine(environment=SandboxedEnvironment(dict(helpers)))


def evaluator(script_engine):
    """evaluate(expression, context): the script engine's sandboxed evaluation, with the helpers in scope."""
    return script_engine.environment.evaluate


def helper_names(script_engine) -> set[str]:
    """The names of the helper functions diagram expressions may call."""
    return set(script_engine.environment.globals)


def merge_outputs(data: dict, outputs: dict) -> None:
    """Set a decision's outputs in the data; a nested output ('item.y') goes inside its field."""
    for key, value in outputs.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merge_outputs(data[key], value)
        else:
            data[key] = value


def describe(exc: BaseException) -> str:
    """One line saying what went wrong: the library's message, its cause and its hints."""
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    inner = exc.__cause__ or exc.__context__
    if inner is not None and str(inner) and str(inner) not in message:
        message += f": {inner}"
    for note in getattr(exc, "__notes__", []):
        if note not in message:
            message += f" ({note})"
    return message


class EngineFailure(Exception):
    """A step could not be taken; carries where, the data the element saw, and the sandbox limit
    that stopped it (if one did: memory, cpu, wall, size, steps)."""

    def __init__(self, message: str, element_id: str | None, element_name: str | None, data: dict,
                 limit: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.element_name = element_name
        self.data = data
        self.limit = limit


# What the code at an element is, for a message saying the sandbox stopped it.
_CODE_AT = {"scriptTask": "the script", "businessRuleTask": "the decision table", "exclusiveGateway": "a condition",
            "inclusiveGateway": "a condition", "boundaryEvent": "the timer expression",
            "intermediateCatchEvent": "the timer expression", "userTask": "an expression",
            "startEvent": "an expression"}


def failure(exc: BaseException, el: dict, data: dict) -> EngineFailure:
    """The EngineFailure for what the engine raised at element `el`."""
    hit = limit_of(exc)
    if hit is not None:
        what = _CODE_AT.get(el.get("type"), "the diagram's code")
        return EngineFailure(f"{what} was stopped: {hit.message}", el.get("id"), el.get("name"), data, hit.limit)
    message = describe(exc) if isinstance(exc, SpiffWorkflowException) else f"{type(exc).__name__}: {exc}"
    return EngineFailure(message, el.get("id"), el.get("name"), data)


@dataclass
class StepLog:
    """What happened during one advance of the engine, as plain data for the audit."""

    events: list[dict] = field(default_factory=list)
    gate_decisions: list[dict] = field(default_factory=list)
    ended_at_element: str | None = None
    # Human tasks the engine withdrew in this step, by task id: why (e.g. the task an escalation chased ended).
    withdrawn: dict[str, dict] = field(default_factory=dict)


def _bpmn_id(task) -> str | None:
    return _spec_id(task.task_spec)


def _spec_id(spec) -> str | None:
    """The diagram element a task spec stands for."""
    if getattr(spec, "bpmn_id", None):
        return spec.bpmn_id
    if "." in spec.name:  # e.g. "Task_X.BoundaryEventSplit" stands for Task_X on the diagram
        return spec.name.rsplit(".", 1)[0]
    return None


def _all_tasks(workflow: BpmnWorkflow):
    # Walks the task dictionaries, not the tree: the tree iterator stops at depth 1,000,
    # which long loops reach, and would then miss ready work.
    yield from workflow.tasks.values()
    for sp in workflow.subprocesses.values():
        yield from sp.tasks.values()


def plain(value):
    """Task data as JSON-ready plain values (dates as ISO text, sets as lists)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def flow_outcome(flow: dict) -> str | None:
    """The gate outcome a sequence flow stands for: its `outcome` property or the first word of its name."""
    word = ((flow.get("properties") or {}).get("outcome") or flow.get("name") or "").strip().lower()
    word = word.split()[0] if word else ""
    return word if word in GATE_OUTCOMES else None


def _taken_flows(task, outgoing: list[dict], default: str | None) -> list[str]:
    """Ids of the flows out of a branching gateway that the engine took, in diagram order.

    Each task the gateway made (not the predicted ones) is one flow taken into its element.
    Where several flows lead to that element (won and lost both into one merge), the task
    cannot say which: the conditions of those flows tell, as the library evaluated them."""
    made = Counter(_bpmn_id(c) for c in task.children if not c.has_state(TaskState.PREDICTED_MASK))
    taken: list[str] = []
    for target, tokens in made.items():
        into = [f for f in outgoing if f["target"] == target]
        taken += [f["id"] for f in (into if len(into) <= tokens else _chosen(task, target, into, default))]
    return [f["id"] for f in outgoing if f["id"] in taken]


def _chosen(task, target: str, into: list[dict], default: str | None) -> list[dict]:
    """Which of the flows into `target` the gateway took: those whose condition holds, in the
    library's order (an exclusive gateway stops at the first), else the default flow."""
    exclusive = not isinstance(task.task_spec, InclusiveGateway)
    open_flows = [f for f in into if f["id"] != default and f["condition"]]
    chosen = []
    for condition, spec_name in task.task_spec.cond_task_specs:
        if condition is None or _spec_id(task.workflow.spec.task_specs[spec_name]) != target:
            continue
        text = (condition.args[0] or "").strip()
        flow = next((f for f in open_flows if f["condition"] == text and f not in chosen), None)
        if flow is not None and condition._matches(task):
            chosen.append(flow)
            if exclusive:
                break
    return chosen or [f for f in into if f["id"] == default]


def _escalates(el: dict) -> str | None:
    """The task an escalation task chases (its `escalates` property, trimmed as deploy reads it), or None."""
    return ((el.get("properties") or {}).get("escalates") or "").strip() or None


def _chased(escalation, element_id: str, owner):
    """The task an escalation chases: the `element_id` task beside the escalation's branch (the task
    whose boundary timer started it, or a parallel branch's); else any open one of that element.
    `owner(task)` names the process defining a task: the chased task is of the escalation's own."""
    mine = owner(escalation)

    def runs(task) -> bool:  # the element's own task, not the library's split or join around it
        return getattr(task.task_spec, "bpmn_id", None) == element_id and owner(task) == mine

    branch = escalation
    while branch.parent is not None:
        for sibling in branch.parent.children:
            if sibling is not branch and runs(sibling):
                return sibling
        branch = branch.parent
    return next((t for t in _all_tasks(escalation.workflow.top_workflow) if runs(t)
                 and t.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)), None)


class Runner:
    """Advances one workflow and reports what happened, in the terms of our model."""

    def __init__(self, workflow: BpmnWorkflow, model: dict, clock):
        self.workflow = workflow
        self.model = model
        self.clock = clock
        self.log = StepLog()
        # Who or what set each data key during this step: the gate records who decided.
        self.origins: dict[str, dict] = {}
        self._current = None  # the engine task being run, to say where a failure happened
        self._unmatched: list[str] = []  # decisions that matched no rule this step (a gateway may then fail)
        self._owners: dict = {}  # sub-workflow's parent task id -> the called process defining its tasks
        # Whether any process of this version has an escalation task (an `escalates` property).
        self._escalates = any(_escalates(el) for m in definitions.every_definition(model)
                              for el in m["elements"].values())

    # -- observation -------------------------------------------------------
    def called_process(self, task) -> str | None:
        """The called process whose definition `task` belongs to; None for the deal's own process.

        A task of a called process runs in a sub-workflow started by a call activity; an
        embedded sub-process also runs in a sub-workflow, but of its container's definition."""
        wf = task.workflow
        if wf.parent_task_id is None:
            return None
        if wf.parent_task_id not in self._owners:
            parent = wf.top_workflow.get_task_from_id(wf.parent_task_id)
            owner = self.called_process(parent)
            el = definitions.element(self.model, owner, _bpmn_id(parent))
            self._owners[wf.parent_task_id] = el.get("called_element") if el.get("type") == "callActivity" else owner
        return self._owners[wf.parent_task_id]

    def _element(self, task) -> dict:
        return definitions.element(self.model, self.called_process(task), _bpmn_id(task))

    def _where(self, task) -> dict:
        """Event details saying which called process an element belongs to (none for the deal's own)."""
        owner = self.called_process(task)
        return {} if owner is None else {"called_process": owner}

    def _table(self, task_spec) -> dict | None:
        kind, key = decision_key(task_spec)
        tables = self.model.get("decision_tables") or {}
        if kind == "decision":
            return tables.get(key)
        return next((t for t in tables.values() if t.get("id") == key), None)

    def _decide(self, task) -> None:
        """Decide a business rule task's table on the task's data, set its outputs and complete the task."""
        el = self._element(task)
        where = (el.get("id") or _bpmn_id(task), el.get("name") or getattr(task.task_spec, "bpmn_name", None))
        table = self._table(task.task_spec)
        if table is None:
            raise EngineFailure(f"this version has no decision table for business rule task {where[0]} "
                                f"({' '.join(decision_key(task.task_spec))})", *where, plain(task.data))
        logics = {**(self.model.get("decision_tables") or {}), table["decision"]: table}
        try:
            result = decide_for_task(logics, table["decision"], el, task.data, evaluator(task.workflow.script_engine))
        except DecisionFailed as exc:
            if limit_of(exc) is not None:  # the sandbox stopped a cell: say which limit
                raise failure(exc, {**el, "type": "businessRuleTask"}, plain(task.data)) from None
            raise EngineFailure(str(exc), *where, plain(task.data)) from None
        if not result["results"]:
            self._unmatched.append(f"decision '{table['decision']}' at {where[0]} matched no rule")
        if el.get("result_variable"):
            task.data.update(result["outputs"])  # the mapped result replaces the variable whole
        else:
            merge_outputs(task.data, result["outputs"])
        origin = {"kind": "rule", "decision": table["decision"], "element_id": where[0],
                  "rules": [r["id"] for r in result["rules"]], "description": result["description"]}
        for key in result["outputs"]:
            self.origins[key] = origin
        self.log.events.append({
            "kind": "decision_evaluated",
            "element_id": where[0],
            "details": {
                **self._where(task),
                "element_name": where[1],
                "decision": table["decision"],
                "table": table["id"],
                "hit_policy": table.get("hit_policy"),
                **({"required": [{"decision": r["decision"], "matched_rules": r["rules"], "outputs": plain(r["outputs"])}
                                 for r in result["required"]]} if result["required"] else {}),
                **({"aggregation": table["aggregation"]} if table.get("aggregation") else {}),
                "inputs": plain(result["inputs"]),
                "matched_rules": result["rules"],
                "outputs": plain(result["outputs"]),
            },
        })
        task.complete()

    def _serve(self, task) -> None:
        """Run a service task's handler on a copy of the data and merge what it returns."""
        el = self._element(task)
        handler = SERVICE_HANDLERS.get(el.get("topic"))
        if handler is None:
            raise EngineFailure(f"no handler for service task topic '{el.get('topic')}'", el.get("id"), el.get("name"),
                                plain(task.data))
        try:
            outputs = handler(plain(task.data))
        except Exception as exc:  # noqa: BLE001 - a failing handler is an incident at this task
            raise EngineFailure(f"service task handler '{el.get('topic')}' failed: {type(exc).__name__}: {exc}",
                                el.get("id"), el.get("name"), plain(task.data)) from None
        task.data.update(outputs or {})
        self.log.events.append({"kind": "service_task_run", "element_id": el.get("id"), "details": {
            **self._where(task), "element_name": el.get("name"), "topic": el.get("topic"), "outputs": plain(outputs or {})}})
        task.complete()

    def _did_run(self, task) -> None:
        el = self._element(task)
        kind = el.get("type")
        if kind in ("exclusiveGateway", "inclusiveGateway") and len(el.get("outgoing", [])) > 1:
            self._gateway_passed(task, el)  # merges (one way out) decide nothing
        elif kind == "endEvent" and el.get("parent") is None and self.called_process(task) is None:
            self.log.ended_at_element = el["id"]
        elif kind in ("boundaryEvent", "intermediateCatchEvent") and "timerEventDefinition" in el.get(
                "event_definitions", []):
            self.log.events.append({"kind": "timer_fired", "element_id": el["id"], "details": {
                **self._where(task), "element_name": el.get("name"), "attached_to": el.get("attached_to"),
                "interrupting": el.get("cancel_activity", True) if kind == "boundaryEvent" else None}})

    def _gateway_passed(self, task, el) -> None:
        flows = definitions.definition(self.model, self.called_process(task))["flows"]
        outgoing = [flows[f] for f in el.get("outgoing", [])]
        taken = _taken_flows(task, outgoing, el.get("default_flow"))
        read = {}
        for f in outgoing:
            if f["condition"]:
                for name in sandbox.names_read(f["condition"]):
                    read[name] = plain(task.data.get(name))
        details = {
            **self._where(task),
            "element_name": el.get("name"),
            "flows_taken": [{"id": fid, "name": flows[fid]["name"], "target": flows[fid]["target"],
                             "condition": flows[fid]["condition"], "default": fid == el.get("default_flow")}
                            for fid in taken],
            "values_read": read,
        }
        props = el.get("properties", {})
        if props.get("gate"):
            details.update(self._gate_decision(el, props, [flows[f] for f in taken], read, task.data))
            self.log.gate_decisions.append({"element_id": el["id"], **details})
        self.log.events.append({"kind": "gate_decided" if props.get("gate") else "gateway_passed",
                                "element_id": el["id"], "details": details})

    def _gate_decision(self, el, props, taken, read, data) -> dict:
        outcome = None
        for flow in taken:
            outcome = flow_outcome(flow) or outcome
        deciders = [self.origins[k] for k in read if k in self.origins]
        decided_by = deciders[0] if deciders else {"kind": "data", "keys": sorted(read)}
        reason_field = props.get("reason")
        reason = data.get(reason_field) if reason_field else None
        if reason is None and decided_by.get("kind") == "rule":
            reason = decided_by.get("description")
        return {"gate": props["gate"], "stage": props.get("stage"), "gatekeeper": props.get("gatekeeper"),
                "outcome": outcome or "unlabelled", "decided_by": decided_by,
                "reason": plain(reason) if reason is not None else None}

    # -- driving -----------------------------------------------------------
    def advance(self) -> StepLog:
        """Run every ready engine task (and due timers) until only human work or waiting remains."""
        try:
            with clock_in_use(self.clock):
                while True:
                    while self._engine_pass():
                        pass
                    self.workflow.refresh_timers()
                    if self._close_escalations():
                        continue  # the withdrawn branch may have been all that kept the deal open
                    if not any(t.state == TaskState.READY and not t.task_spec.manual
                               for t in _all_tasks(self.workflow)):
                        break
        except EngineFailure:
            raise
        except SpiffWorkflowException as exc:
            task = getattr(exc, "task", None) or self._current
            el = self._element(task) if task is not None else {}
            el = el if el.get("id") else {**el, "id": _bpmn_id(task) if task else None}
            found = failure(exc, el, plain(task.data) if task is not None else {})
            if self._unmatched and el.get("type") in ("exclusiveGateway", "inclusiveGateway"):
                found = EngineFailure(f"{found.message} ({'; '.join(self._unmatched)}, so it set nothing)",
                                      found.element_id, found.element_name, found.data, found.limit)
            raise found from None
        except Exception as exc:  # noqa: BLE001 - anything else is still an incident, not a crash
            el = self._element(self._current) if self._current is not None else {}
            raise failure(exc, el, plain(self._current.data) if self._current is not None else {}) from None
        return self.log

    def _close_escalations(self) -> int:
        """Cancel each open escalation whose chased task has ended (completed or cancelled); returns how many."""
        if not self._escalates:
            return 0
        closed = 0
        for t in list(_all_tasks(self.workflow)):
            if t.state != TaskState.READY or not t.task_spec.manual:
                continue
            chases = _escalates(self._element(t))
            if chases is None:
                continue
            chased = _chased(t, chases, self.called_process)
            if chased is not None and not chased.has_state(TaskState.FINISHED_MASK):
                continue
            t.cancel()
            # Joins waiting for the withdrawn branch (the end join, a parallel join) look again, as
            # they do when a task completes; a cancel does not tell them.
            for waiting in [w for w in t.workflow.tasks.values() if w.state == TaskState.WAITING]:
                waiting.task_spec._update(waiting)
            closed += 1
            target = definitions.element(self.model, self.called_process(t), chases)
            self.log.withdrawn[str(t.id)] = {
                "reason": "escalation_closed", "escalates": chases, "escalates_name": target.get("name"),
                "escalated_task_id": str(chased.id) if chased is not None else None,
                "escalated_task_state": "cancelled" if chased is not None and chased.state == TaskState.CANCELLED
                else "completed" if chased is not None else "ended"}
        return closed

    def _engine_pass(self) -> bool:
        # Mirrors BpmnWorkflow._do_engine_steps, with ready tasks found without the depth limit.
        wf = self.workflow
        ran = False

        def update(w) -> int:
            count = 0
            for task in [t for t in w.tasks.values() if t.state == TaskState.READY]:
                if task.state == TaskState.READY and not task.task_spec.manual:
                    self._current = task
                    if is_decision(task.task_spec):
                        self._decide(task)
                    elif self._element(task).get("type") == "serviceTask":
                        self._serve(task)
                    else:
                        task.run()
                    self._did_run(task)
                    count += 1
            return count

        active = wf.get_active_subprocesses()
        for sp in sorted(active, key=lambda v: v.depth, reverse=True):
            while update(sp) > 0:
                ran = True
            if sp.parent_task_id is not None:
                parent = wf.get_task_from_id(sp.parent_task_id)
                parent.task_spec._update(parent)
        ran = update(wf) > 0 or ran or len(wf.get_active_subprocesses()) > len(active)
        return ran

    def complete(self, task_id, data: dict, actor: str) -> None:
        """Run one human task with the submitted data merged into its data."""
        task = self.task(task_id)
        el = self._element(task)
        task.data.update(data)
        origin = {"kind": "person", "user": actor, "element_id": el.get("id"), "task": el.get("name")}
        for key in data:
            self.origins[key] = origin
        try:
            with clock_in_use(self.clock):
                task.run()
        except Exception as exc:  # noqa: BLE001 - whatever the library raises becomes an incident
            raise failure(exc, el, plain(task.data)) from None

    def compact(self) -> None:
        """Drop the finished history from the live state (the audit trail keeps it)."""
        compact(self.workflow)

    # -- reading -----------------------------------------------------------
    def task(self, task_id):
        for t in _all_tasks(self.workflow):
            if str(t.id) == str(task_id):
                return t
        return None

    def ready_human_tasks(self) -> list[dict]:
        """Human tasks ready to be worked, as plain data."""
        out = []
        for t in _all_tasks(self.workflow):
            if t.state == TaskState.READY and t.task_spec.manual:
                out.append({"id": str(t.id), "element_id": _bpmn_id(t), "called_process": self.called_process(t)})
        return out

    def task_finished(self, task_id) -> bool:
        """True if the task ran to completion (as opposed to being cancelled or gone)."""
        t = self.task(task_id)
        return t is not None and t.state == TaskState.COMPLETED

    def waiting_timers(self) -> list[dict]:
        """Timers the instance waits on, with the instant each is due (UTC ISO text)."""
        out = []
        for t in _all_tasks(self.workflow):
            definition = getattr(t.task_spec, "event_definition", None)
            if t.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
                continue
            value = t._get_internal_data("event_value")
            due = value.get("next") if isinstance(value, dict) else value
            if due:
                out.append({"id": str(t.id), "element_id": _bpmn_id(t), "called_process": self.called_process(t),
                            "due_at": due})
        return out

    def is_ready(self, task_id) -> bool:
        t = self.task(task_id)
        return t is not None and t.state == TaskState.READY

    @property
    def completed(self) -> bool:
        return bool(self.workflow.completed)

    def data(self) -> dict:
        """The instance's current data: the last finished task's, merged with open branches'."""
        wf = self.workflow
        if wf.completed and wf.last_task is not None:
            return plain(wf.last_task.data)
        merged = dict(wf.last_task.data) if wf.last_task is not None else dict(wf.data)
        # Open tasks of called processes too (after the caller's): what was entered there counts already.
        for t in _all_tasks(wf):
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                merged.update(t.data)
        merged.pop("data_objects", None)
        return plain(merged)


def new_workflow(spec, subprocess_specs: dict, script_engine, data: dict) -> BpmnWorkflow:
    """A fresh workflow whose start carries the start form's data."""
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    wf.task_tree.data.update(data)
    for t in wf.tasks.values():
        if t.state in (TaskState.READY, TaskState.FUTURE, TaskState.LIKELY):
            t.data.update(data)
    return wf
