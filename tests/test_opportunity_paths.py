"""Every path of diagrams/opportunity.bpmn, driven as users would, state restored at every task."""
import pytest

from engine.queries import records as queries
from tests.drive import DELIVERY_OK, LOOK_BACK, PRICING_OK, QUALITY_OK, Driver


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg)


@pytest.mark.parametrize("prospect, reason", [
    ({"annual_revenue_musd": 30}, "annual revenue $30MM is below $50MM"),
    ({"industry": "consumer"}, "industry consumer is not one we serve"),
    ({"budget_confirmed": False}, "budget not confirmed"),
])
def test_prospect_failing_a_must_meet_criterion_is_killed_at_qualification(drive, prospect, reason):
    deal = drive.start(**prospect)
    assert deal["status"] == "completed"
    assert deal["ended_at_element"] == "EndEvent_Disqualified"
    assert deal["ready_tasks"] == []
    shown = drive.show(deal["id"])
    assert shown["data"]["qualified"] is False
    assert shown["data"]["qualification_reason"] == reason
    kinds = [e["kind"] for e in drive.history(deal["id"])]
    assert kinds == ["instance_started", "decision_evaluated", "gate_decided", "instance_ended"]


def test_qualification_decision_and_gate_are_audited_with_inputs_rule_and_flow(drive):
    deal = drive.start(annual_revenue_musd=30)
    events = {e["kind"]: e for e in drive.history(deal["id"])}
    decision = events["decision_evaluated"]
    assert decision["element_id"] == "Task_CheckQualification"
    assert decision["details"]["decision"] == "qualification"
    assert decision["details"]["inputs"]["Annual revenue ($MM)"] == 30
    assert decision["details"]["matched_rules"][0]["id"] == "Rule_RevenueTooLow"
    assert decision["details"]["outputs"] == {"qualified": False,
                                              "qualification_reason": "annual revenue $30MM is below $50MM"}
    gate = events["gate_decided"]
    assert gate["element_id"] == "Gateway_Qualification"
    assert [f["id"] for f in gate["details"]["flows_taken"]] == ["Flow_Disqualified"]
    assert gate["details"]["values_read"] == {"qualified": False}
    assert gate["details"]["outcome"] == "kill" and gate["details"]["gate"] == "qualification"
    assert gate["details"]["reason"] == "annual revenue $30MM is below $50MM"
    assert gate["details"]["decided_by"]["kind"] == "rule"
    assert gate["details"]["decided_by"]["rules"] == ["Rule_RevenueTooLow"]
    assert events["instance_ended"]["element_id"] == "EndEvent_Disqualified"


def test_qualified_deal_goes_to_discovery_with_sales(drive):
    deal = drive.start()
    assert deal["status"] == "running"
    assert [(t["element_id"], t["role"]) for t in deal["ready_tasks"]] == [("Task_Discovery", "sales")]
    assert drive.show(deal["id"])["stage"] == "Discovery"


def test_discovery_go_leads_to_the_proposal(drive):
    iid = drive.to_proposal()
    assert set(drive.ready(iid)) == {"Task_PrepareProposal"}
    assert drive.show(iid)["stage"] == "Proposal"


def test_three_departments_sign_off_in_parallel_in_any_order(drive):
    iid = drive.to_sign_offs()
    assert set(drive.ready(iid)) == {"Task_SignOffPricing", "Task_SignOffDelivery", "Task_SignOffQuality"}
    drive.work(iid, "Task_SignOffQuality", "quinn", **QUALITY_OK)
    drive.work(iid, "Task_SignOffDelivery", "pete", **DELIVERY_OK)
    assert set(drive.ready(iid)) == {"Task_SignOffPricing"}, "the join waits for finance"
    drive.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
    assert set(drive.ready(iid)) == {"Task_ProposalGateReview"}
    data = drive.show(iid)["data"]
    assert data["pricing_approved"] is True and data["committed_delivery_date"] == "2027-03-15"
    assert data["specs_approved"] is True and data["approval_level"] == "finance"


def test_leadership_kills_at_proposal_gate(drive):
    iid = drive.to_proposal_gate()
    r = drive.work(iid, "Task_ProposalGateReview", "lena", proposal_decision="kill",
                   proposal_rationale="margin too thin for the risk")
    assert r["status"] == "completed"
    assert r["ended_at_element"] == "EndEvent_ProposalKilled"
    gate = [e for e in drive.history(iid) if e["kind"] == "gate_decided"][-1]
    assert gate["element_id"] == "Gateway_Proposal"
    assert gate["details"]["flows_taken"][0]["id"] == "Flow_ProposalKill"
    assert gate["details"]["values_read"] == {"proposal_decision": "kill"}
    assert gate["details"]["outcome"] == "kill"
    assert gate["details"]["reason"] == "margin too thin for the risk"
    assert gate["details"]["decided_by"] == {"kind": "person", "user": "lena", "element_id": "Task_ProposalGateReview",
                                             "task": "Proposal gate review"}


@pytest.mark.parametrize("outcome, extra, end", [
    ("won", {"final_price": 440000}, "EndEvent_Won"),
    ("lost", {"loss_reason": "lost on price"}, "EndEvent_Lost"),
])
def test_negotiate_to_won_or_lost_then_look_back(drive, outcome, extra, end):
    iid = drive.to_negotiation()
    assert drive.show(iid)["stage"] == "Negotiation"
    r = drive.work(iid, "Task_Negotiate", "sally", outcome=outcome, **extra)
    assert r["status"] == "running", "the deal stays open for its look-back"
    assert [t["element_id"] for t in r["ready_tasks"]] == ["Task_LookBack"]
    assert drive.show(iid)["stage"] == "Closed"
    r = drive.work(iid, "Task_LookBack", "lena", **LOOK_BACK)
    assert r["status"] == "completed" and r["ended_at_element"] == end
    shown = drive.show(iid)
    assert shown["ended_at_element"] == end and shown["ended_at"] is not None
    assert shown["data"]["acquisition_cost"] == 18000
    completed = [(e["element_id"], e["actor"]) for e in drive.history(iid) if e["kind"] == "task_completed"]
    assert completed == [("Task_Discovery", "sam"), ("Task_DiscoveryGateReview", "lena"),
                         ("Task_PrepareProposal", "sam"), ("Task_SignOffPricing", "fiona"),
                         ("Task_SignOffDelivery", "pete"), ("Task_SignOffQuality", "quinn"),
                         ("Task_ProposalGateReview", "lena"), ("Task_ContractReview", "lou"),
                         ("Task_Negotiate", "sally"), ("Task_LookBack", "lena")]


def test_task_completed_event_carries_the_submitted_data_as_coerced(drive):
    iid = drive.to_proposal()
    drive.work(iid, "Task_PrepareProposal", "sam", price="450000", margin_pct="31",
               requested_delivery_date="01/03/2027")
    ev = [e for e in drive.history(iid) if e["kind"] == "task_completed"][-1]
    assert ev["actor"] == "sam" and ev["element_id"] == "Task_PrepareProposal"
    assert ev["details"]["data"] == {"price": 450000, "margin_pct": 31, "requested_delivery_date": "2027-03-01"}


def test_every_gate_passed_has_a_gate_decision_row(drive):
    iid = drive.to_negotiation()
    gates = [(g["gate"], g["outcome"]) for g in queries.gate_decisions(drive.sg, instance_id=iid)]
    assert gates == [("qualification", "go"), ("discovery", "go"), ("proposal", "go")]
    assert [e["details"]["gate"] for e in drive.history(iid) if e["kind"] == "gate_decided"] == [
        "qualification", "discovery", "proposal"]
