"""The path each deal took, as recorded and as the diagram draws it: only the flows the engine ran.

Every end of diagrams/opportunity.bpmn is driven as users would (state restored at every task);
the recorded gateway passes and the trail the audit page draws (elements and flows) must be
exactly the way the deal went. Small diagrams cover what the catalog does not: several flows of
an exclusive or inclusive gateway into one element.
"""
import pytest

from engine.queries import views
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from engine.services.messages import correlate_message
from engine.services.timers import fire_due_timers
from tests.diagram_factory import definitions
from tests.drive import (DELIVERY_OK, DISCOVERY, DISCOVERY_GO, GATE_GO, LOOK_BACK, PRICING_OK, QUALITY_OK, Driver,
                         close, review, sign_offs_and_gate)
from web.history import describe

START = ({"StartEvent_Opportunity", "Task_CheckQualification", "Gateway_Qualification"},
         {"Flow_StartToCheck", "Flow_CheckToGateway"})
DISCOVERY_ROUND = ({"Gateway_DiscoveryMerge", "Task_Discovery", "Gateway_DiscoveryReviewMerge",
                    "Task_DiscoveryGateReview", "Gateway_Discovery"},
                   {"Flow_Qualified", "Flow_DiscoveryMergeToTask", "Flow_DiscoveryToReviewMerge",
                    "Flow_ReviewMergeToReview", "Flow_DiscoveryReviewToGate"})
SIGN_OFFS = ({"Task_PrepareProposal", "Task_ErpListPrice", "Task_PricingPolicy", "Gateway_SignOffSplit", "Gateway_ApprovalLevel",
              "Gateway_PricingMerge", "Task_SignOffPricing", "Task_SignOffDelivery", "Task_SignOffQuality",
              "Gateway_SignOffJoin", "Task_ProposalGateReview", "Gateway_Proposal"},
             {"Flow_DiscoveryGo", "Flow_ProposalToErp", "Flow_ErpToPolicy", "Flow_ProposalToSplit", "Flow_SplitToPricing",
              "Flow_PricingMergeToSignOff", "Flow_SplitToDelivery", "Flow_SplitToQuality", "Flow_PricingToJoin",
              "Flow_DeliveryToJoin", "Flow_QualityToJoin", "Flow_JoinToReview", "Flow_ReviewToGate"})
BY_FINANCE = (set(), {"Flow_ApprovalFinance"})
BY_CFO = ({"Task_CfoApproval"}, {"Flow_ApprovalCfo", "Flow_CfoToMerge"})
NEGOTIATION = ({"Task_ContractReview", "Task_Negotiate", "Gateway_Outcome", "Gateway_CloseMerge", "Task_LookBack",
                "Gateway_ClosedAs"},
               {"Flow_ProposalGo", "Flow_ContractToNegotiate", "Flow_NegotiateToOutcome", "Flow_CloseMergeToLookBack",
                "Flow_LookBackToClosedAs"})


def path(*parts, elements=(), flows=()):
    """The union of path segments plus the given elements and flows."""
    return (set().union(*(p[0] for p in parts), elements), set().union(*(p[1] for p in parts), flows))


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg)


def killed_at_qualification(drive):
    return drive.start(annual_revenue_musd=30)["id"], path(START, elements={"EndEvent_Disqualified"},
                                                           flows={"Flow_Disqualified"}), {}


def killed_at_discovery(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    review(drive, iid, "kill")
    return iid, path(START, DISCOVERY_ROUND, elements={"EndEvent_DiscoveryKilled"}, flows={"Flow_DiscoveryKill"}), {}


def held_then_go_then_killed_at_proposal(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    review(drive, iid, "hold", hold_days=14)
    drive.sg.clock.advance(days=14, minutes=1)
    assert fire_due_timers(drive.fresh())["fired"] == 1
    review(drive, iid, "go")
    sign_offs_and_gate(drive, iid, decision="kill")
    return iid, path(START, DISCOVERY_ROUND, SIGN_OFFS, BY_FINANCE,
                     elements={"Timer_Hold", "EndEvent_ProposalKilled"},
                     flows={"Flow_DiscoveryHold", "Flow_HoldOver", "Flow_ProposalKill"}), \
        {"Task_DiscoveryGateReview": 2, "Gateway_Discovery": 2}


def recycled_then_won_with_the_cfo(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    review(drive, iid, "recycle")
    drive.work(iid, "Task_Discovery", "sally", **DISCOVERY)
    drive.work(iid, "Task_DiscoveryGateReview", "lena", **DISCOVERY_GO)
    sign_offs_and_gate(drive, iid, margin_pct=10)
    close(drive, iid, "won")
    return iid, path(START, DISCOVERY_ROUND, SIGN_OFFS, BY_CFO, NEGOTIATION, elements={"EndEvent_Won"},
                     flows={"Flow_DiscoveryRecycle", "Flow_Won", "Flow_ClosedWon"}), \
        {"Task_Discovery": 2, "Task_DiscoveryGateReview": 2, "Gateway_Discovery": 2}


def _closed(drive, outcome):
    iid = drive.to_proposal()
    sign_offs_and_gate(drive, iid)
    close(drive, iid, outcome)
    word = outcome.capitalize()
    return iid, path(START, DISCOVERY_ROUND, SIGN_OFFS, BY_FINANCE, NEGOTIATION, elements={f"EndEvent_{word}"},
                     flows={f"Flow_{word}", f"Flow_Closed{word}"}), {}


def lost(drive):
    return _closed(drive, "lost")


def won(drive):
    return _closed(drive, "won")


def won_after_late_sign_offs(drive):
    """Every sign-off escalated and done late: each escalation was reached, then closed unworked."""
    iid = drive.to_proposal()
    drive.work(iid, "Task_PrepareProposal", "sam", price=450000, margin_pct=31,
               requested_delivery_date="2027-03-01", proposal_summary="Two pump skids")
    drive.sg.clock.advance(days=6)
    assert fire_due_timers(drive.fresh())["fired"] == 3
    for element, user, data in (("Task_SignOffPricing", "fiona", PRICING_OK), ("Task_SignOffDelivery", "pete",
                                 DELIVERY_OK), ("Task_SignOffQuality", "quinn", QUALITY_OK)):
        drive.work(iid, element, user, **data)
    drive.work(iid, "Task_ProposalGateReview", "lena", **GATE_GO)
    close(drive, iid, "won")
    return iid, path(START, DISCOVERY_ROUND, SIGN_OFFS, BY_FINANCE, NEGOTIATION,
                     elements={"EndEvent_Won", "Timer_PricingSla", "Timer_DeliverySla", "Timer_QualitySla"},
                     flows={"Flow_Won", "Flow_ClosedWon", "Flow_PricingSlaToEscalation",
                            "Flow_DeliverySlaToEscalation", "Flow_QualitySlaToEscalation"}), {}


def won_when_the_contract_is_signed(drive):
    """The e-signature service's "contract signed" closes Legal's review before Legal worked it."""
    iid = drive.to_proposal()
    sign_offs_and_gate(drive, iid)
    correlate_message(drive.fresh(), "contract signed", "lou", business_key=str(iid))
    drive.work(iid, "Task_Negotiate", "sally", outcome="won", final_price=440000)
    drive.work(iid, "Task_LookBack", "lena", **LOOK_BACK)
    elements, flows = path(START, DISCOVERY_ROUND, SIGN_OFFS, BY_FINANCE, NEGOTIATION,
                           elements={"Boundary_ContractSigned", "EndEvent_Won"},
                           flows={"Flow_ContractSigned", "Flow_Won", "Flow_ClosedWon"})
    return iid, (elements - {"Task_ContractReview"}, flows - {"Flow_ContractToNegotiate"}), {}


ESCALATIONS = ["Task_EscalateDelivery", "Task_EscalatePricing", "Task_EscalateQuality"]
CANCELLED = {"won_after_late_sign_offs": ESCALATIONS, "won_when_the_contract_is_signed": ["Task_ContractReview"]}


@pytest.mark.parametrize("scenario", [killed_at_qualification, killed_at_discovery,
                                      held_then_go_then_killed_at_proposal, recycled_then_won_with_the_cfo, lost, won,
                                      won_after_late_sign_offs, won_when_the_contract_is_signed])
def test_every_end_of_the_opportunity_records_exactly_the_path_taken(drive, scenario):
    iid, (elements, flows), counts = scenario(drive)
    assert drive.show(iid)["status"] == "completed"
    trail = views.deal(drive.sg, iid, "ada")["trail"]
    assert set(trail["flows"]) == flows, (set(trail["flows"]) - flows, flows - set(trail["flows"]))
    assert set(trail["visited"]) == elements, (set(trail["visited"]) - elements, elements - set(trail["visited"]))
    assert {k: v for k, v in trail["visited"].items() if v > 1} == counts
    assert trail["current"] == []
    assert trail["cancelled"] == CANCELLED.get(scenario.__name__, [])
    # Each gateway pass names one flow taken: an exclusive gateway never takes two.
    for e in drive.history(iid):
        if e["kind"] in ("gateway_passed", "gate_decided"):
            assert len(e["details"]["flows_taken"]) == 1, describe(e)


def test_a_won_deal_leaves_won_or_lost_by_the_won_flow_only(drive):
    iid, *_ = won(drive)
    passes = [e for e in drive.history(iid) if e["element_id"] == "Gateway_Outcome"]
    assert [describe(e) for e in passes] == ["Won or lost?: won"]
    assert [f["id"] for f in passes[0]["details"]["flows_taken"]] == ["Flow_Won"]


def _merge_diagram(kind: str, default: str | None = None) -> str:
    """A gateway whose flows a and b both lead to task A (through nothing else), and c to task C."""
    flows = [("a", "A", "x >= 1"), ("b", "A", "x >= 2"), ("c", "C", "x >= 3")]
    body = (f'<bpmn:process id="merging_{kind}" isExecutable="true">'
            '<bpmn:laneSet><bpmn:lane id="L" name="Sales"><bpmn:flowNodeRef>S</bpmn:flowNodeRef>'
            '<bpmn:flowNodeRef>A</bpmn:flowNodeRef><bpmn:flowNodeRef>C</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
            '<bpmn:startEvent id="S"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="x" label="x" type="long" /></camunda:formData></bpmn:extensionElements>'
            '</bpmn:startEvent>'
            f'<bpmn:{kind} id="G" name="Which way?"' + (f' default="{default}"' if default else "") + " />"
            '<bpmn:userTask id="A" name="Task A" /><bpmn:userTask id="C" name="Task C" />'
            '<bpmn:sequenceFlow id="start" sourceRef="S" targetRef="G" />')
    for fid, target, condition in flows:
        cond = "" if fid == default else (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
                                          "</bpmn:conditionExpression>")
        body += f'<bpmn:sequenceFlow id="{fid}" name="{fid}" sourceRef="G" targetRef="{target}">{cond}</bpmn:sequenceFlow>'
    return definitions(body + "</bpmn:process>", f"merging_{kind}")


@pytest.mark.parametrize("kind, x, taken", [
    ("exclusiveGateway", 1, ["a"]),  # only a holds
    ("exclusiveGateway", 2, ["a"]),  # a and b hold: an exclusive gateway takes the first
    ("exclusiveGateway", 3, ["a"]),
    ("inclusiveGateway", 1, ["a"]),
    ("inclusiveGateway", 2, ["a", "b"]),  # two tokens into A, none to C
    ("inclusiveGateway", 3, ["a", "b", "c"]),
])
def test_flows_into_one_element_are_told_apart_by_their_conditions(sg, staff, kind, x, taken):
    staff()
    deploy(sg, [("merging.bpmn", _merge_diagram(kind).encode())], "cli:test")
    deal = start_instance(sg, f"merging_{kind}", "sam", {"x": x})
    gateway = [e for e in views.deal(sg, deal["id"], "ada")["history"] if e["element_id"] == "G"]
    assert [[f["id"] for f in e["details"]["flows_taken"]] for e in gateway] == [taken]
    trail = views.deal(sg, deal["id"], "ada")["trail"]
    assert set(trail["flows"]) == {"start", *taken}
    assert sorted(t["element_id"] for t in deal["ready_tasks"]) == sorted({"a": "A", "b": "A", "c": "C"}[f] for f in taken)


def test_the_default_flow_is_recorded_when_no_condition_into_the_same_element_holds(sg, staff):
    staff()
    deploy(sg, [("merging.bpmn", _merge_diagram("exclusiveGateway", default="b").encode())], "cli:test")
    deal = start_instance(sg, "merging_exclusiveGateway", "sam", {"x": 0})
    gateway = [e for e in views.deal(sg, deal["id"], "ada")["history"] if e["element_id"] == "G"]
    assert [[(f["id"], f["default"]) for f in e["details"]["flows_taken"]] for e in gateway] == [[("b", True)]]
