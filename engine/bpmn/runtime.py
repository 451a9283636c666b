"""Driving SpiffWorkflow: run engine steps, observe gateways and decisions, report human tasks.

Everything that touches live workflow objects is here (and in parsing/serialization);
the services only see the plain data this module returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import domain, sandbox
from engine.bpmn import definitions, io_mapping, who_works
from engine.bpmn.diagram_model import role_key
from engine.bpmn.compaction import compact_noting_ways
from engine.bpmn.dmn.evaluate import DecisionFailed
from engine.bpmn.dmn.graph import decide_for_task
from engine.bpmn.dmn.task import decision_key, is_decision
from engine.sandbox.limits import limit_of
from engine.bpmn import conditions, timekeeping  # noqa: F401 - timers read the step's clock; Camunda's conditions
from engine.clock import clock_in_use
from engine.bpmn.failures import EngineFailure, failure
from engine.bpmn.script_engine import evaluator
from engine.bpmn.tasks import (all_tasks, bpmn_id, chased_task, escalates, flow_outcome, merge_outputs, plain,
                               taken_flows, task_by_id, timer_element)


@dataclass
class StepLog:
    """What happened during one advance of the engine, as plain data for the audit."""

    events: list[dict] = field(default_factory=list)
    gate_decisions: list[dict] = field(default_factory=list)
    ended_at_element: str | None = None
    # Human tasks the engine withdrew in this step, by task id: why (e.g. the task an escalation chased ended).
    withdrawn: dict[str, dict] = field(default_factory=dict)


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
        self._escalates = any(escalates(el) for m in definitions.every_definition(model)
                              for el in m["elements"].values())
        self.settled = None  # the step's stored outcome, once worked out (engine/services/steps.py settle)
        self._dropped_ways: dict[str, set] = {}  # finished tasks compaction dropped: the elements each ran or took

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
            el = definitions.element(self.model, owner, bpmn_id(parent))
            self._owners[wf.parent_task_id] = el.get("called_element") if el.get("type") == "callActivity" else owner
        return self._owners[wf.parent_task_id]

    def _element(self, task) -> dict:
        return definitions.element(self.model, self.called_process(task), bpmn_id(task))

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
        where = (el.get("id") or bpmn_id(task), el.get("name") or getattr(task.task_spec, "bpmn_name", None))
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
        handler = domain.current().service_tasks.get(el.get("topic"))
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

    def waits_for_worker(self, task) -> bool:
        """True for an external task: a service or send task whose topic no built-in handler serves."""
        if not getattr(task.task_spec, "bpmn_id", None):  # the library's split or join around the task
            return False
        el = self._element(task)
        return el.get("type") in ("serviceTask", "sendTask") and el.get("topic") not in domain.current().service_tasks

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
        taken = taken_flows(task, outgoing, el.get("default_flow"))
        read = {}
        for f in outgoing:
            if f["condition"]:
                for name in sandbox.names_read(f["condition"]):
                    read[name] = plain(task.data.get(name))
        details = {
            **self._where(task),
            "element_name": el.get("name"),
            "flows_taken": [{"id": fid, "name": flows[fid]["name"], "target": flows[fid]["target"],
                             "condition": flows[fid]["condition"], "default": fid == el.get("default_flow"),
                             **({"juel": flows[fid]["juel"]} if flows[fid].get("juel") else {})}
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
                    timekeeping.first_interruption_only(all_tasks(self.workflow))
                    if self._close_escalations():
                        continue  # the withdrawn branch may have been all that kept the deal open
                    if not any(t.state == TaskState.READY and not t.task_spec.manual and not self.waits_for_worker(t)
                               for t in all_tasks(self.workflow)):
                        break
                self._decide_who_works()
        except EngineFailure:
            raise
        except SpiffWorkflowException as exc:
            task = getattr(exc, "task", None) or self._current
            el = self._element(task) if task is not None else {}
            el = el if el.get("id") else {**el, "id": bpmn_id(task) if task else None}
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
        for t in list(all_tasks(self.workflow)):
            if t.state != TaskState.READY or not t.task_spec.manual:
                continue
            chases = escalates(self._element(t))
            if chases is None:
                continue
            chased = chased_task(t, chases, self.called_process)
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

    def _decide_who_works(self) -> None:
        """Decide, once, who works each user task that has just opened, and set the input parameters of it and
        of each external task that has (their expressions read the task's data; a worker fetches the latter's)."""
        for t in list(all_tasks(self.workflow)):
            if t.state != TaskState.READY or not (t.task_spec.manual or self.waits_for_worker(t)) \
                    or t._get_internal_data("who") is not None or t._get_internal_data("io_prior") is not None:
                continue
            el, self._current, evaluate = self._element(t), t, evaluator(t.workflow.script_engine)
            if el.get("io") and el.get("type") in ("userTask", "serviceTask", "sendTask"):
                t._set_internal_data(io_prior=io_mapping.open_task(el["io"], t.data, evaluate))
            if el.get("type") == "userTask":
                t._set_internal_data(who=who_works.resolve(el, t.data, evaluate, role_key))

    def _engine_pass(self) -> bool:
        # Mirrors BpmnWorkflow._do_engine_steps, with ready tasks found without the depth limit.
        wf = self.workflow
        ran = False

        def update(w) -> int:
            count = 0
            for task in [t for t in w.tasks.values() if t.state == TaskState.READY]:
                if task.state == TaskState.READY and not task.task_spec.manual and not self.waits_for_worker(task):
                    self._current = task
                    if is_decision(task.task_spec):
                        self._decide(task)
                    elif getattr(task.task_spec, "bpmn_id", None) and self._element(task).get("type") in (
                            "serviceTask", "sendTask"):  # the task itself, not the split around it
                        self._serve(task)
                    else:
                        io_mapping.around_script(task, self._element(task))
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
        who_works.on_completion(el, task.data, actor)
        origin = {"kind": "person", "user": actor, "element_id": el.get("id"), "task": el.get("name")}
        for key in data:
            self.origins[key] = origin
        try:
            with clock_in_use(self.clock):
                if el.get("io"):  # its output parameters, computed on what was submitted
                    io_mapping.complete_task(el["io"], task.data, task._get_internal_data("io_prior"),
                                             evaluator(task.workflow.script_engine))
                if not conditions.interrupted_by_condition(self, task, data):
                    task.run()
        except Exception as exc:  # noqa: BLE001 - whatever the library raises becomes an incident
            raise failure(exc, el, plain(task.data)) from None

    def compact(self) -> None:
        """Drop the finished history from the live state (the audit trail keeps it); the ways the
        dropped finished tasks took are kept aside for timer_fired."""
        self._dropped_ways.update(compact_noting_ways(self.workflow))

    # -- reading -----------------------------------------------------------
    def task(self, task_id):
        return task_by_id(self.workflow, task_id)

    def ready_human_tasks(self) -> list[dict]:
        """Human tasks ready to be worked, as plain data."""
        out = []
        for t in all_tasks(self.workflow):
            if t.state == TaskState.READY and t.task_spec.manual:
                out.append({"id": str(t.id), "element_id": bpmn_id(t), "called_process": self.called_process(t),
                            "who": t._get_internal_data("who")})
        return out

    def timer_fired(self, task_id, element_id: str) -> bool:
        """True if the timer `element_id` waited on by task `task_id` fired: the task ran and, for an
        event-based gateway (which also ends when another of its events comes), took the timer's way."""
        t = self.task(task_id)
        if t is None:
            return element_id in self._dropped_ways.get(str(task_id), ())
        if t.state != TaskState.COMPLETED:
            return False
        return bpmn_id(t) == element_id or any(bpmn_id(c) == element_id for c in t.children)

    def waiting_timers(self) -> list[dict]:
        """Timers the instance waits on, with the instant each is due (UTC ISO text)."""
        out = []
        for t in all_tasks(self.workflow):
            element_id = timer_element(t) if t.state == TaskState.WAITING else None
            if element_id is None:
                continue
            value = t._get_internal_data("event_value")
            due = value.get("next") if isinstance(value, dict) else value
            if due:
                out.append({"id": str(t.id), "element_id": element_id, "called_process": self.called_process(t),
                            "due_at": due})
        return out

    def is_ready(self, task_id) -> bool:
        t = self.task(task_id)
        return t is not None and t.state == TaskState.READY

    @property
    def completed(self) -> bool:
        # A process may end without an end event: its last activity has no outgoing flow (as Camunda ends it).
        return bool(self.workflow.completed or self.workflow.is_completed())

    def data(self) -> dict:
        """The instance's current data: the last finished task's, merged with open branches'."""
        wf = self.workflow
        if wf.completed and wf.last_task is not None:
            return plain(wf.last_task.data)
        merged = dict(wf.last_task.data) if wf.last_task is not None else dict(wf.data)
        # Open tasks of called processes too (after the caller's): what was entered there counts already;
        for t in all_tasks(wf):  # an external task's input parameters are its own (the worker fetches them)
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                merged.update(io_mapping.process_view(t.data, self.waits_for_worker(t) and t._get_internal_data("io_prior")))
        merged.pop("data_objects", None)
        return plain(merged)
