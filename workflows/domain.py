"""The sales domain as the engine takes it (engine/domain.py): gate words, the stop at a gate,
the service-task handlers, the helpers diagrams call, the deal record, the what-if preview and the new-process template."""
from __future__ import annotations

from pathlib import Path

from engine.clock import current_now
from engine.domain import Domain
from workflows import deal_record, metrics, service_tasks, vocabulary
from workflows.calendar import business_days_duration
from workflows.expressions import clamp, percent


def business_days(n):
    """business_days(3) -> the ISO duration to the same time three working days from now."""
    return business_days_duration(n, current_now())


def what_if_preview(sg, content: bytes, file_name: str) -> tuple[dict, str]:
    """What a changed decision table would have decided at the recorded gates, and its summary line."""
    result = metrics.what_if(sg, content, file_name)
    return result, metrics.what_if_summary(result)


SALES = Domain(
    gate_outcomes=vocabulary.GATE_OUTCOMES,
    stop_outcome=vocabulary.STOP_OUTCOME,
    service_tasks=service_tasks.HANDLERS,
    service_outputs=service_tasks.OUTPUTS,
    # Each bounded helper does a bounded amount of work for any small arguments (business_days
    # refuses more than 10,000 days), so an expression the sandbox proves cheap may call it in-process.
    helpers={"percent": percent, "clamp": clamp, "business_days": business_days},
    bounded_helpers=("percent", "clamp", "business_days"),
    department_heads=vocabulary.DEPARTMENT_HEADS,
    step_observers=(deal_record.observe_step,),
    decision_preview=what_if_preview,
    customer_field="customer",
    value_field="deal_value",
    new_process_template=Path(__file__).resolve().with_name("new_process.bpmn"),
)
