"""Refusals: wrong role, bad data, double and racing completion. A refusal stores nothing."""
import threading

import pytest

from engine.queries import records as queries
from engine.errors import Conflict, FormInvalid, NotFound, Refused
from engine.services.instances import complete_task, start_instance
from tests.drive import DELIVERY_OK, DISCOVERY, GOOD_PROSPECT, PRICING_OK, PROPOSAL, QUALITY_OK, Driver
from tests.snapshot import stored


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg)


def _task(drive, iid, element_id):
    return drive.ready(iid)[element_id]["id"]


def test_user_without_the_lane_role_is_refused_and_nothing_changes(drive):
    iid = drive.to_proposal()
    before = stored(drive.sg)
    with pytest.raises(Refused, match="fiona may not work on 'Prepare proposal': it needs the role 'sales'"):
        complete_task(drive.sg, _task(drive, iid, "Task_PrepareProposal"), "fiona", PROPOSAL)
    assert stored(drive.sg) == before


def test_role_is_matched_case_insensitively(drive, staff):
    staff({"tom": ["  SALES "]})
    deal = drive.start(user="tom")
    r = complete_task(drive.sg, _task(drive, deal["id"], "Task_Discovery"), "tom", DISCOVERY)
    assert [t["element_id"] for t in r["ready_tasks"]] == ["Task_DiscoveryGateReview"]


def test_finance_cannot_start_an_opportunity(drive):
    before = stored(drive.sg)
    with pytest.raises(Refused, match="needs the role 'sales'"):
        start_instance(drive.sg, "opportunity", "fiona", GOOD_PROSPECT)
    assert stored(drive.sg) == before


@pytest.mark.parametrize("data, errors", [
    ({**PROPOSAL, "price": "a lot"}, {"price": "must be a whole number"}),
    ({**PROPOSAL, "price": 0}, {"price": "must be at least 1"}),
    ({**PROPOSAL, "margin_pct": 101}, {"margin_pct": "must be at most 100"}),
    ({**PROPOSAL, "requested_delivery_date": "next week"}, {"requested_delivery_date": "must be a date (YYYY-MM-DD)"}),
    ({k: v for k, v in PROPOSAL.items() if k != "price"}, {"price": "is required"}),
    ({**PROPOSAL, "discount": 5}, {"discount": "is not a field of this form"}),
    ({**PROPOSAL, "proposal_summary": "x" * 2001}, {"proposal_summary": "must be at most 2000 characters"}),
])
def test_bad_form_values_are_refused_field_by_field(drive, data, errors):
    iid = drive.to_proposal()
    before = stored(drive.sg)
    with pytest.raises(FormInvalid) as exc:
        complete_task(drive.sg, _task(drive, iid, "Task_PrepareProposal"), "sam", data)
    assert exc.value.errors == errors
    assert stored(drive.sg) == before


def test_enum_and_boolean_fields_refuse_values_outside_their_domain(drive):
    iid = drive.to_proposal_gate()
    task_id = _task(drive, iid, "Task_ProposalGateReview")
    with pytest.raises(FormInvalid) as exc:
        complete_task(drive.sg, task_id, "lena", {"proposal_decision": "maybe", "proposal_rationale": "fine"})
    assert exc.value.errors == {"proposal_decision": "must be one of: go, kill"}
    with pytest.raises(FormInvalid) as exc:
        complete_task(drive.sg, task_id, "lena", {"proposal_decision": "go", "proposal_rationale": "ok"})
    assert exc.value.errors == {"proposal_rationale": "must be at least 3 characters"}


def test_bad_start_data_is_refused_and_no_instance_is_created(drive):
    before = stored(drive.sg)
    with pytest.raises(FormInvalid) as exc:
        start_instance(drive.sg, "opportunity", "sam", {**GOOD_PROSPECT, "industry": "mining", "deal_value": -5})
    assert exc.value.errors == {"industry": "must be one of: automotive, aerospace, medical, energy, consumer, other",
                                "deal_value": "must be at least 0"}
    assert stored(drive.sg) == before


def test_unknown_process_task_and_user_are_reported(drive):
    with pytest.raises(NotFound, match="no process 'nope' is deployed"):
        start_instance(drive.sg, "nope", "sam", {})
    with pytest.raises(NotFound, match="no task with id 123"):
        complete_task(drive.sg, "123", "sam", {})
    with pytest.raises(NotFound, match="no active user named 'mallory'"):
        start_instance(drive.sg, "opportunity", "mallory", GOOD_PROSPECT)


def test_double_completion_says_who_completed_it_and_when(drive):
    iid = drive.to_proposal()
    task_id = _task(drive, iid, "Task_PrepareProposal")
    complete_task(drive.sg, task_id, "sam", PROPOSAL)
    before = stored(drive.sg)
    with pytest.raises(Conflict, match=r"'Prepare proposal' was already completed by sam at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"):
        complete_task(drive.sg, task_id, "sally", PROPOSAL)
    assert stored(drive.sg) == before


def test_check_order_is_state_then_role_then_form(drive):
    iid = drive.to_proposal()
    task_id = _task(drive, iid, "Task_PrepareProposal")
    with pytest.raises(Refused, match="may not work"):
        complete_task(drive.sg, task_id, "fiona", {"bogus": 1})  # wrong role beats bad data
    with pytest.raises(FormInvalid):
        complete_task(drive.sg, task_id, "sam", {"bogus": 1})
    complete_task(drive.sg, task_id, "sam", PROPOSAL)
    with pytest.raises(Conflict, match="already completed"):
        complete_task(drive.sg, task_id, "fiona", {"bogus": 1})  # completed beats wrong role


def _race(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = ("ok", fn(i))
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer got
            results[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_racing_completions_of_one_task_have_exactly_one_winner(drive):
    iid = drive.to_proposal()
    task_id = _task(drive, iid, "Task_PrepareProposal")
    users = ["sam", "sally"] * 3
    results = _race(len(users), lambda i: complete_task(drive.sg, task_id, users[i], PROPOSAL))
    winners = [r for r in results if r[0] == "ok"]
    losers = [r[1] for r in results if r[0] == "error"]
    assert len(winners) == 1
    assert all(isinstance(e, Conflict) and "already completed by" in str(e) for e in losers), losers
    done = [e for e in drive.history(iid) if e["kind"] == "task_completed" and e["element_id"] == "Task_PrepareProposal"]
    assert len(done) == 1
    assert set(drive.ready(iid)) == {"Task_SignOffPricing", "Task_SignOffDelivery", "Task_SignOffQuality"}
    assert queries.verify_audit(drive.sg)["ok"]


def test_racing_parallel_sign_offs_on_one_deal_both_land(drive):
    deals = [drive.to_sign_offs() for _ in range(3)]
    jobs = []
    for iid in deals:
        jobs.append((_task(drive, iid, "Task_SignOffPricing"), "fiona", PRICING_OK))
        jobs.append((_task(drive, iid, "Task_SignOffDelivery"), "pete", DELIVERY_OK))
        jobs.append((_task(drive, iid, "Task_SignOffQuality"), "quinn", QUALITY_OK))
    results = _race(len(jobs), lambda i: complete_task(drive.sg, *jobs[i]))
    assert [r[0] for r in results] == ["ok"] * len(jobs), results
    for iid in deals:
        assert set(drive.ready(iid)) == {"Task_ProposalGateReview"}, "the join fired once, after both"
        data = drive.show(iid)["data"]
        assert data["pricing_approved"] is True and data["delivery_committed"] is True
        assert data["specs_approved"] is True
    assert queries.verify_audit(drive.sg)["ok"]
