"""Call activities that pass data as Camunda 7 says: camunda:in and camunda:out mappings.

`<camunda:in source="a" target="b"/>` gives the called process `b` from the caller's `a`;
`sourceExpression="${..}"` computes it (JUEL, translated into checked Python, or Python) on the
caller's data; `variables="all"` passes everything. camunda:out does the same on the way back,
on the called process's data, into the caller's (which keeps what it had). A call activity with no
mappings passes all data both ways, as Stagegate always did. The deal's business key is the
called process's too (it runs inside the same deal), so `businessKey="#{execution.processBusinessKey}"`
is honoured by what it already is.
"""
from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.serializer.default.task_spec import SubWorkflowConverter
from SpiffWorkflow.bpmn.specs.defaults import CallActivity
from SpiffWorkflow.bpmn.parser.task_parsers import CallActivityParser

from engine.bpmn.call_io import MappingError, read_mappings

def _mapped(task, mappings: list, data: dict) -> dict:
    """The variables `mappings` make from `data` (a missing source is null, as in Camunda)."""
    out = {}
    for m in mappings:
        if m.get("all"):
            out.update(deepcopy(data))
        elif m.get("expression") is not None:
            out[m["target"]] = task.workflow.script_engine.environment.evaluate(m["expression"], data)
        else:
            out[m["target"]] = deepcopy(data.get(m["source"]))
    return out


class MappedCallActivity(CallActivity):
    """A call activity passing only what its camunda:in/out mappings say (everything, without any)."""

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, mappings=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.mappings = mappings or {"in": [], "out": []}

    def copy_data(self, my_task, subworkflow):
        if not self.mappings["in"] and not self.mappings["out"]:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**_mapped(my_task, self.mappings["in"], my_task.data))

    def update_data(self, my_task, subworkflow):
        if not self.mappings["in"] and not self.mappings["out"]:
            return super().update_data(my_task, subworkflow)
        my_task.data.update(_mapped(my_task, self.mappings["out"], subworkflow.last_task.data))


class MappedCallActivityParser(CallActivityParser):
    """Reads the mappings; deploy's checks (engine/bpmn/validation.py) report the ones refused first."""

    def create_task(self):
        task = super().create_task()
        try:
            task.mappings = read_mappings(self.node)
        except MappingError as exc:
            self.raise_validation_exception(str(exc))
        return task


class MappedCallActivityConverter(SubWorkflowConverter):
    """Stores a MappedCallActivity with its mappings."""

    def to_dict(self, spec):
        return {**super().to_dict(spec), "mappings": spec.mappings}
