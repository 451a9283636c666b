"""Business rule tasks as the engine runs them: a task that names its decision, nothing more.

SpiffWorkflow's own business rule task carries a copy of its DMN table and evaluates it with
its DMN engine, which knows only two hit policies. Ours carries the decision's id; the table
is plain data in the version's model and engine/bpmn/dmn/evaluate.py decides it, called by the
Runner (engine/bpmn/runtime.py), which also completes the task. Versions deployed before keep
SpiffWorkflow's task in their stored specs; the Runner decides those the same way.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.mixins import BpmnSpecMixin
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser as _BpmnReceiveTaskParser
from SpiffWorkflow.bpmn.specs.defaults import ReceiveTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CamundaTaskParser
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin

from engine.bpmn.call_mapping import MappedCallActivity, MappedCallActivityParser


class DecisionTask(BpmnSpecMixin):
    """A business rule task: decided by the Runner, never run by SpiffWorkflow itself."""

    def __init__(self, wf_spec, bpmn_id, decision_ref: str, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.decision_ref = decision_ref

    def _run_hook(self, my_task):
        raise RuntimeError(f"business rule task {self.bpmn_id} must be decided by the engine's Runner")


class DecisionTaskParser(CamundaTaskParser):
    """Reads camunda:decisionRef; the table itself is read by engine/bpmn/diagram_model.py."""

    @staticmethod
    def get_decision_ref(node):
        return node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef")

    def create_task(self):
        ref = self.get_decision_ref(self.node)
        if not ref:
            self.raise_validation_exception("business rule task has no camunda:decisionRef")
        return DecisionTask(self.spec, self.bpmn_id, decision_ref=ref, **self.bpmn_attributes)


class DecisionTaskConverter(BpmnTaskSpecConverter):
    """Stores a DecisionTask as the BPMN defaults plus the decision it names."""

    def to_dict(self, spec):
        return {**self.get_default_attributes(spec), "decision_ref": spec.decision_ref}


class ReceiveTaskParser(CamundaEventDefinitionParser, _BpmnReceiveTaskParser):
    """A receive task whose message is read as Camunda's message events read theirs."""

    def create_task(self):
        return _BpmnReceiveTaskParser.create_task(self)


class Parser(CamundaParser):
    """Camunda's BPMN parser with our business rule tasks (no DMN goes through SpiffWorkflow) and call
    activities honouring camunda:in/out."""

    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
                               full_tag("callActivity"): (MappedCallActivityParser, MappedCallActivity),
                               # Camunda's message definition, as its message events have (the serializer knows it)
                               full_tag("receiveTask"): (ReceiveTaskParser, ReceiveTask)}


def is_decision(task_spec) -> bool:
    """Whether a task spec is a business rule task (ours, or SpiffWorkflow's in older versions)."""
    return isinstance(task_spec, (DecisionTask, BusinessRuleTaskMixin))


def decision_key(task_spec) -> tuple[str, str]:
    """('decision', id) for our tasks; ('table', table id) for SpiffWorkflow's, which keep only their table."""
    if isinstance(task_spec, DecisionTask):
        return "decision", task_spec.decision_ref
    return "table", task_spec.dmnEngine.decision_table.id
