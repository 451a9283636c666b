"""Engine state in and out of the database: specs stored once per version, instances as state only."""
from __future__ import annotations

from collections import OrderedDict
from copy import deepcopy
from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnSubWorkflowConverter, BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from engine.bpmn import task_codec
from engine.bpmn.call_mapping import MappedCallActivity, MappedCallActivityConverter
from engine.bpmn.dmn.task import DecisionTask, DecisionTaskConverter
from engine.bpmn.definitions import every_definition
from engine.bpmn.version_models import runnable_model


class _TaskTree:
    """The task tree of a workflow or sub-workflow through engine/bpmn/task_codec.py (SpiffWorkflow 3.2's
    WorkflowConverter.to_dict and from_dict, their tasks written and read directly)."""

    def _common_to_dict(self, workflow) -> dict:
        registry = self.registry
        return {
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": task_codec.tasks_to_dict(registry, workflow.tasks) if self._direct
            else self.mapping_to_dict(workflow.tasks),
            "root": str(workflow.task_tree.id),
        }

    def _restore_tree(self, workflow, dct) -> None:
        workflow.tasks = task_codec.tasks_from_dict(self.registry, dct["tasks"], workflow) if self._direct \
            else self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)

    @cached_property
    def _direct(self) -> bool:  # asked once the registry holds every converter
        return task_codec.applies(self.registry)


class _StateOnlyWorkflowConverter(_TaskTree, BpmnWorkflowConverter):
    """Writes a workflow without its spec; restores it against a spec the caller supplies."""

    def to_dict(self, workflow):
        dct = self._common_to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        self._restore_tree(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _SubWorkflowConverter(_TaskTree, BpmnSubWorkflowConverter):
    """A called process's or sub-process's workflow, its tasks as the top workflow's."""

    def to_dict(self, workflow):
        dct = self._common_to_dict(workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct

    def from_dict(self, dct, task, top_workflow):
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        self._restore_tree(subprocess, dct)
        return subprocess


def _make_serializer(direct: bool = True) -> BpmnWorkflowSerializer:
    """The serializer of specs and state; direct=False keeps the library's own task conversion (tests
    hold task_codec to it)."""
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _StateOnlyWorkflowConverter
    config[BpmnSubWorkflow] = _SubWorkflowConverter
    config[ServiceTask] = BpmnTaskSpecConverter  # run by our handlers (runtime.py), so no extra state
    config[MappedCallActivity] = MappedCallActivityConverter  # camunda:in/out; older versions keep CallActivity
    config[DecisionTask] = DecisionTaskConverter  # decided by engine/bpmn/dmn/evaluate.py; older versions keep
    # SpiffWorkflow's BusinessRuleTask (CAMUNDA_CONFIG's converter), so their stored specs still restore
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    if not direct:
        for typename in ("BpmnWorkflow", "BpmnSubWorkflow"):
            task_codec.converter_of(serializer.registry, typename)._direct = False
    return serializer


@dataclass(frozen=True)
class VersionInfo:
    """What a step needs of a deployed version besides its spec (versions never change once deployed)."""

    id: int
    process_id: str
    version: int
    name: str | None
    model: dict

    @cached_property  # read on every step; the model never changes
    def has_timers(self) -> bool:
        return any("timerEventDefinition" in e.get("event_definitions", [])
                   for m in every_definition(self.model) for e in m["elements"].values())

    @cached_property
    def has_external_tasks(self) -> bool:
        """False when no service or send task could wait for a worker, so no step opens an external task."""
        return any(e.get("type") in ("serviceTask", "sendTask")
                   for m in every_definition(self.model) for e in m["elements"].values())


class SpecStore:
    """Serializes specs and instance state; keeps restored specs and version models in memory per version."""

    def __init__(self, cache_size: int = 64, direct: bool = True):
        self._serializer = _make_serializer(direct)
        self._cache: OrderedDict[int, tuple] = OrderedDict()
        self._versions: OrderedDict[int, VersionInfo] = OrderedDict()
        self._cache_size = cache_size

    def version(self, version_id: int, load_row) -> VersionInfo:
        """The version's id, process, number and model (with its decision tables); `load_row()` (the
        ProcessVersion) only on a miss."""
        hit = self._versions.get(version_id)
        if hit is None:
            pv = load_row()
            hit = VersionInfo(pv.id, pv.process_id, pv.version, pv.name, runnable_model(pv))
            self._versions[version_id] = hit
            if len(self._versions) > self._cache_size:
                self._versions.popitem(last=False)
        return hit

    def dump_spec(self, spec, subprocess_specs: dict) -> dict:
        """The JSON-ready form of a parsed process and the processes it calls."""
        return {
            "serializer_version": VERSION,
            "spec": self._serializer.to_dict(spec),
            "subprocess_specs": {k: self._serializer.to_dict(v) for k, v in subprocess_specs.items()},
        }

    def spec_for(self, version_id: int, load_dumped) -> tuple:
        """The restored (spec, subprocess_specs) of a version, restored once per process.

        `load_dumped()` fetches the stored spec; it is called only on a cache miss."""
        hit = self._cache.get(version_id)
        if hit is not None:
            self._cache.move_to_end(version_id)
            return hit
        dumped = deepcopy(load_dumped())  # restore() consumes the dict it is given
        spec = self._serializer.from_dict(dumped["spec"])
        subs = {k: self._serializer.from_dict(v) for k, v in dumped["subprocess_specs"].items()}
        self._cache[version_id] = (spec, subs)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return spec, subs

    def dump_state(self, workflow: BpmnWorkflow) -> dict:
        """The instance's state, without the spec."""
        return self._serializer.to_dict(workflow)

    def load_state(self, state: dict, spec, subprocess_specs: dict, script_engine) -> BpmnWorkflow:
        """A live workflow from stored state and its version's spec."""
        # restore() pops keys from the top level and from "subprocesses" only; copying those
        # two levels is enough, and much cheaper than a deep copy of a long history.
        dct = dict(state)
        dct["subprocesses"] = dict(state.get("subprocesses", {}))
        dct["spec"] = spec
        dct["subprocess_specs"] = subprocess_specs
        workflow = self._serializer.from_dict(dct)
        workflow.script_engine = script_engine
        return workflow
