"""Versions deployed before decision tables were our own plain data keep running and deciding.

Such a version's stored spec holds SpiffWorkflow's business rule tasks (each with its copy of
the table) and its model has no decision tables. The tests store a version exactly that way, as
the earlier deploy did, and drive deals through it: new starts, and a deal that was already
running when the engine changed, saved and restored at every step.
"""
from __future__ import annotations

import pytest
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from sqlalchemy import select

from engine.queries import records as queries
from engine.store.models import ProcessVersion
from tests.conftest import DIAGRAMS
from tests.drive import PROPOSAL, Driver


def store_as_before(sg) -> None:
    """Rewrite opportunity v1 as the earlier deploy stored it: SpiffWorkflow's own specs, no tables."""
    parser = CamundaParser()
    parser.add_bpmn_file(str(DIAGRAMS / "opportunity.bpmn"))
    for dmn in sorted(DIAGRAMS.glob("*.dmn")):
        parser.add_dmn_file(str(dmn))
    dumped = sg.specs.dump_spec(parser.get_spec("opportunity"), parser.get_subprocess_specs("opportunity"))
    with sg.uow() as uow:
        pv = uow.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == "opportunity")).scalar_one()
        pv.spec = dumped
        pv.model = {k: v for k, v in pv.model.items() if k != "decision_tables"}
        uow.commit()
    assert "decision_table" in str(dumped["spec"]["task_specs"]["Task_CheckQualification"])


@pytest.fixture
def legacy(make_sg, catalog):
    driver = Driver(make_sg)
    store_as_before(driver.sg)
    return driver


def test_a_deal_started_on_an_old_version_is_qualified_by_its_table(legacy):
    killed = legacy.start(annual_revenue_musd=30)
    assert killed["status"] == "completed"
    [gate] = queries.gate_decisions(legacy.sg, instance_id=killed["id"])
    assert (gate["outcome"], gate["reason"]) == ("kill", "annual revenue $30MM is below $50MM")
    assert gate["decided_by"]["rules"] == ["Rule_RevenueTooLow"]
    passed = legacy.start()["id"]
    assert set(legacy.ready(passed)) == {"Task_Discovery"}
    assert legacy.show(passed)["data"]["qualified"] is True


@pytest.mark.parametrize("margin, level, next_tasks", [
    (31, "finance", {"Task_SignOffPricing", "Task_SignOffDelivery", "Task_SignOffQuality"}),
    (10, "cfo", {"Task_CfoApproval"}),
])
def test_a_running_deal_on_an_old_version_decides_its_pricing_as_before(legacy, margin, level, next_tasks):
    iid = legacy.to_proposal()  # running on the old spec before the pricing decision
    legacy.work(iid, "Task_PrepareProposal", "sam", **{**PROPOSAL, "margin_pct": margin})
    data = legacy.show(iid)["data"]
    assert data["approval_level"] == level
    assert next_tasks <= set(legacy.ready(iid))
    event = [e for e in legacy.history(iid) if e["kind"] == "decision_evaluated"][-1]
    assert event["details"]["decision"] == "pricing" and event["details"]["hit_policy"] == "UNIQUE"
    assert event["details"]["inputs"] == {"Gross margin (%)": margin, "Quoted price ($)": PROPOSAL["price"]}
