"""The sales catalog as shipped: gate outcomes, sign-offs, separation of duties, SLA escalation, look-back."""
from datetime import datetime, timezone

import pytest

from engine.queries import records as queries
from engine.clock import FrozenClock
from engine.errors import FormInvalid, Refused
from engine.queries.inbox import inbox
from workflows.metrics import cost_per_acquisition
from engine.services.timers import fire_due_timers
from tests.drive import DELIVERY_OK, DISCOVERY, LOOK_BACK, PRICING_OK, QUALITY_OK, Driver
from tests.snapshot import stored

THURSDAY_9AM = datetime(2027, 1, 7, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg, clock=FrozenClock(THURSDAY_9AM))


def _gates(drive, iid):
    return [(g["gate"], g["outcome"]) for g in queries.gate_decisions(drive.sg, instance_id=iid)]


def _review(drive, iid, decision, **extra):
    return drive.work(iid, "Task_DiscoveryGateReview", "lena", discovery_decision=decision,
                      discovery_note=extra.pop("note", f"decided {decision}"), **extra)


def test_discovery_gate_kill_ends_the_deal_and_records_who_and_why(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    r = _review(drive, iid, "kill", note="no budget owner found")
    assert r["status"] == "completed" and r["ended_at_element"] == "EndEvent_DiscoveryKilled"
    gate = queries.gate_decisions(drive.sg, instance_id=iid, gate="discovery")[0]
    assert gate["outcome"] == "kill" and gate["stage"] == "Discovery" and gate["version"] == 1
    assert gate["reason"] == "no budget owner found"
    assert gate["decided_by"]["kind"] == "person" and gate["decided_by"]["user"] == "lena"
    assert gate["inputs"] == {"discovery_decision": "kill"}


def test_discovery_recycle_sends_the_deal_back_with_the_note(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    _review(drive, iid, "recycle", note="talk to the CFO first")
    assert set(drive.ready(iid)) == {"Task_Discovery"}
    assert drive.show(iid)["data"]["discovery_note"] == "talk to the CFO first"
    drive.work(iid, "Task_Discovery", "sam", **{**DISCOVERY, "recycle_note": "met the CFO"})
    _review(drive, iid, "go")
    assert _gates(drive, iid) == [("qualification", "go"), ("discovery", "recycle"), ("discovery", "go")]
    assert set(drive.ready(iid)) == {"Task_PrepareProposal"}


def test_hold_needs_a_period_then_waits_on_a_timer_and_comes_back_for_review(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    with pytest.raises(FormInvalid) as exc:
        _review(drive, iid, "hold")
    assert exc.value.errors == {"hold_days": "is required when discovery_decision == 'hold'"}
    _review(drive, iid, "hold", hold_days=14)
    assert drive.ready(iid) == {}, "nothing to do while the deal is on hold"
    assert drive.show(iid)["status"] == "running"

    drive.sg.clock.advance(days=13)
    assert fire_due_timers(drive.fresh())["fired"] == 0
    assert drive.ready(iid) == {}
    drive.sg.clock.advance(days=1, minutes=1)
    assert fire_due_timers(drive.fresh())["fired"] == 1
    assert set(drive.ready(iid)) == {"Task_DiscoveryGateReview"}
    assert fire_due_timers(drive.fresh())["fired"] == 0, "a timer fires once"
    fired = [e for e in drive.history(iid) if e["kind"] == "timer_fired"]
    assert [(e["element_id"], e["actor"]) for e in fired] == [("Timer_Hold", "engine")]
    _review(drive, iid, "go")
    assert _gates(drive, iid) == [("qualification", "go"), ("discovery", "hold"), ("discovery", "go")]


def test_low_margin_needs_cfo_approval_before_finance_signs_off(drive):
    iid = drive.to_sign_offs(margin_pct=10)
    ready = drive.ready(iid)
    assert set(ready) == {"Task_CfoApproval", "Task_SignOffDelivery", "Task_SignOffQuality"}
    assert ready["Task_CfoApproval"]["role"] == "finance head"
    decision = [e for e in drive.history(iid) if e["kind"] == "decision_evaluated"][-1]
    assert decision["details"]["decision"] == "pricing"
    assert decision["details"]["outputs"] == {"approval_level": "cfo",
                                              "approval_reason": "margin 10% is below the 15% floor"}
    with pytest.raises(Refused):
        drive.work(iid, "Task_CfoApproval", "fiona", cfo_approved=True)
    drive.work(iid, "Task_CfoApproval", "carl", cfo_approved=True, cfo_comment="strategic")
    assert "Task_SignOffPricing" in drive.ready(iid)


def test_large_deal_also_needs_the_cfo(drive):
    iid = drive.to_sign_offs(price=2_500_000)
    assert "Task_CfoApproval" in drive.ready(iid)


def test_whoever_prepared_the_proposal_may_not_sign_it_off(drive, staff):
    staff({"max": ["Sales", "Finance", "Supply", "Quality"]})
    iid = drive.to_sign_offs(preparer="max")
    for element, data in (("Task_SignOffPricing", PRICING_OK), ("Task_SignOffDelivery", DELIVERY_OK),
                          ("Task_SignOffQuality", QUALITY_OK)):
        before = stored(drive.sg)
        with pytest.raises(Refused, match=r"separation of duties: max completed 'Prepare proposal' on this deal"):
            drive.work(iid, element, "max", **data)
        assert stored(drive.sg) == before
    other = drive.to_sign_offs(preparer="sam")
    drive.work(other, "Task_SignOffPricing", "max", **PRICING_OK)  # max did not prepare this one


def test_late_sign_offs_escalate_to_department_heads_and_stay_open(drive):
    iid = drive.to_sign_offs()
    drive.work(iid, "Task_SignOffQuality", "quinn", **QUALITY_OK)  # on time: no escalation
    due = {t["element_id"]: t["due_at"] for t in queries.ready_tasks(drive.sg, instance_id=iid)}
    # Thursday 9:00 + 3 business days = Tuesday 9:00 (the weekend does not count).
    assert due["Task_SignOffPricing"] == "2027-01-12T09:00:00.000000Z"
    assert not any(t["overdue"] for t in inbox(drive.sg, "fiona")["tasks"])

    drive.sg.clock.advance(days=5, minutes=1)
    assert fire_due_timers(drive.fresh())["fired"] == 2
    ready = drive.ready(iid)
    assert {"Task_SignOffPricing", "Task_SignOffDelivery", "Task_EscalatePricing", "Task_EscalateDelivery"} == set(ready)
    assert ready["Task_EscalatePricing"]["role"] == "finance head"
    assert ready["Task_EscalateDelivery"]["role"] == "supply head"
    assert [t["overdue"] for t in inbox(drive.sg, "fiona")["tasks"]] == [True]
    assert fire_due_timers(drive.fresh())["fired"] == 0, "each timer fires exactly once"

    drive.work(iid, "Task_EscalatePricing", "carl", escalation_action="called the analyst")
    drive.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
    drive.work(iid, "Task_SignOffDelivery", "pete", **DELIVERY_OK)
    # The delivery escalation ends with the sign-off it chased (the pricing one was handled by carl).
    assert {"Task_ProposalGateReview"} == set(drive.ready(iid))
    cancelled = [e for e in drive.history(iid) if e["kind"] == "task_cancelled"]
    assert [(e["element_id"], e["details"]["escalates"], e["details"]["escalated_task_state"]) for e in cancelled] == [
        ("Task_EscalateDelivery", "Task_SignOffDelivery", "completed")]
    kinds = [(e["kind"], e["element_id"]) for e in drive.history(iid) if e["kind"] == "timer_fired"]
    assert sorted(kinds) == [("timer_fired", "Timer_DeliverySla"), ("timer_fired", "Timer_PricingSla")]


def test_timers_due_while_no_worker_ran_fire_once_on_the_next_pass(drive):
    deals = [drive.to_sign_offs() for _ in range(2)]
    drive.sg.clock.advance(days=30)
    assert fire_due_timers(drive.fresh())["fired"] == 6
    assert fire_due_timers(drive.fresh())["fired"] == 0
    for iid in deals:
        assert {"Task_EscalatePricing", "Task_EscalateDelivery", "Task_EscalateQuality"} <= set(drive.ready(iid))


def test_lost_needs_a_loss_reason_and_won_a_final_price(drive):
    iid = drive.to_negotiation()
    with pytest.raises(FormInvalid) as exc:
        drive.work(iid, "Task_Negotiate", "sam", outcome="lost")
    assert exc.value.errors == {"loss_reason": "is required when outcome == 'lost'"}
    with pytest.raises(FormInvalid) as exc:
        drive.work(iid, "Task_Negotiate", "sam", outcome="won")
    assert exc.value.errors == {"final_price": "is required when outcome == 'won'"}


def test_look_back_is_required_after_won_and_lost_and_feeds_cpa(drive):
    for outcome, cost in (("won", 20000), ("lost", 12000), ("won", 16000)):
        iid = drive.to_negotiation()
        extra = {"final_price": 400000} if outcome == "won" else {"loss_reason": "budget cut"}
        drive.work(iid, "Task_Negotiate", "sam", outcome=outcome, **extra)
        with pytest.raises(FormInvalid) as exc:
            drive.work(iid, "Task_LookBack", "lena", lessons_learned="short")
        assert set(exc.value.errors) == {"lessons_learned", "acquisition_cost"}
        drive.work(iid, "Task_LookBack", "lena", **{**LOOK_BACK, "acquisition_cost": cost})
    killed = drive.start(annual_revenue_musd=10)["id"]  # no look-back for a deal killed at a gate
    assert drive.show(killed)["status"] == "completed"
    assert cost_per_acquisition(drive.sg) == {"closed": 3, "won": 2, "total_acquisition_cost": 48000, "cpa": 24000.0}


@pytest.mark.parametrize("discount, approver, element", [(8, "lena", "Task_LeadershipApproval"),
                                                          (25, "fiona", "Task_FinanceApproval")])
@pytest.mark.parametrize("approved, end, outcome", [(True, "EndEvent_DiscountApproved", "go"),
                                                     (False, "EndEvent_DiscountRejected", "kill")])
def test_discount_approval_routes_by_size_and_records_its_gate(drive, discount, approver, element, approved, end,
                                                               outcome):
    deal = drive.start(process_id="discount_approval", deal_name="Acme pumps", list_price=100000,
                       discount_pct=discount, justification="competitor quote in hand")
    assert [t["element_id"] for t in deal["ready_tasks"]] == [element]
    r = drive.work(deal["id"], element, approver, approved=approved, approval_note="checked against policy")
    assert r["status"] == "completed" and r["ended_at_element"] == end
    gate = queries.gate_decisions(drive.sg, instance_id=deal["id"])[0]
    assert (gate["gate"], gate["outcome"], gate["reason"]) == ("discount", outcome, "checked against policy")


def test_every_label_of_the_shipped_diagrams_is_wide_enough_to_read_on_one_line():
    """At least 30 wide and as wide as its longest word: narrower DI bounds wrap a label such as the
    proposal gate's "go" one letter per line in modelers that lay labels out in their bounds."""
    from xml.etree import ElementTree

    from tests.conftest import DIAGRAMS
    di, dc = "{http://www.omg.org/spec/BPMN/20100524/DI}", "{http://www.omg.org/spec/DD/20100524/DC}"
    narrow = []
    for path in sorted(DIAGRAMS.glob("*.bpmn")):
        root = ElementTree.parse(path).getroot()
        names = {el.get("id"): el.get("name") or "" for el in root.iter() if el.get("id")}
        for shape in [*root.iter(di + "BPMNShape"), *root.iter(di + "BPMNEdge")]:
            bounds = shape.find(f"{di}BPMNLabel/{dc}Bounds")
            name = names.get(shape.get("bpmnElement"), "")
            longest_word = max((len(w) for w in name.split()), default=0)
            if bounds is not None and float(bounds.get("width")) < max(30, 6 * longest_word):
                narrow.append((path.name, shape.get("bpmnElement"), name, bounds.get("width")))
    assert narrow == []
