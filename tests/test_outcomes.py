"""How each deal stands, derived from its gate decisions and the end event it reached: open, killed at
which gate and why, what its end event declares (won, lost), or ended; never from a typed-in status."""
import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.errors import InvalidDiagram
from engine.services.instances import start_instance
from engine.store.models import DealOutcome
from tests import diagram_factory
from tests.drive import DISCOVERY, Driver, close, review, sign_offs_and_gate


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg)


def outcome(drive, iid) -> dict:
    shown = queries.instance(drive.sg, iid)["outcome"]
    with drive.sg.uow(write=False) as uow:
        row = uow.session.get(DealOutcome, iid)
        kept = None if row is None else (row.fate, row.gate, row.reason)
    assert kept == (None if shown["kind"] == "open" else (shown["kind"], shown["gate"], shown["reason"])), \
        "the deal record keeps what is shown"
    return shown


def test_a_prospect_the_qualification_gate_kills_is_killed_there_with_the_rules_reason(drive):
    started = drive.start(annual_revenue_musd=30)
    assert started["status"] == "completed"
    assert {k: started["outcome"][k] for k in ("kind", "gate", "stage", "reason", "end_event", "end_event_name")} == {
        "kind": "killed", "gate": "qualification", "stage": "Qualification",
        "reason": "annual revenue $30MM is below $50MM", "end_event": "EndEvent_Disqualified",
        "end_event_name": "Disqualified"}
    assert started["outcome"]["text"] == "killed at the Qualification gate: annual revenue $30MM is below $50MM"
    assert outcome(drive, started["id"]) == started["outcome"]
    ended = [e for e in drive.history(started["id"]) if e["kind"] == "instance_ended"][0]
    assert ended["details"]["outcome"]["kind"] == "killed", "the audit trail says how it ended"


def test_killed_at_discovery_and_at_proposal_name_the_gate_and_the_gatekeepers_words(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    review(drive, iid, "kill")
    assert outcome(drive, iid)["text"] == "killed at the Discovery gate: kill it"
    iid = drive.to_proposal()
    sign_offs_and_gate(drive, iid, decision="kill")
    found = outcome(drive, iid)
    assert (found["kind"], found["gate"], found["reason"]) == ("killed", "proposal", "margin too thin")


@pytest.mark.parametrize("result", ["won", "lost"])
def test_won_and_lost_come_from_the_end_event_reached(drive, result):
    iid = drive.to_proposal()
    sign_offs_and_gate(drive, iid)
    assert outcome(drive, iid)["kind"] == "open"
    close(drive, iid, result)
    found = outcome(drive, iid)
    assert (found["kind"], found["gate"], found["reason"], found["text"]) == (result, None, None, result)
    assert found["end_event_name"] == f"Deal {result}"


def test_a_deal_on_hold_is_open(drive):
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    review(drive, iid, "hold", hold_days=14)
    assert outcome(drive, iid)["kind"] == "open"


def _review_process(yes_outcome: str | None = None) -> bytes:
    """The factory's deal review (no gates): approved or rejected; the approved end may declare an outcome."""
    xml = diagram_factory.process("quick_review")
    if yes_outcome is not None:
        xml = xml.replace('<bpmn:endEvent id="EndEvent_Yes" name="Approved" />',
                          '<bpmn:endEvent id="EndEvent_Yes" name="Approved"><bpmn:extensionElements>'
                          f'<camunda:properties><camunda:property name="outcome" value="{yes_outcome}" />'
                          "</camunda:properties></bpmn:extensionElements></bpmn:endEvent>")
    return xml.encode()


def _review(sg, approved: bool) -> dict:
    from engine.services.instances import complete_task
    deal = start_instance(sg, "quick_review", "sam", {"deal_name": "Quick one"})
    return complete_task(sg, deal["ready_tasks"][0]["id"], "sam", {"approved": approved})


def test_a_process_without_gates_is_open_then_ended_or_what_its_end_event_declares(sg, staff):
    staff()
    deploy(sg, [("review.bpmn", _review_process("Won"))], "cli:test")
    assert start_instance(sg, "quick_review", "sam", {"deal_name": "x"})["outcome"]["kind"] == "open"
    rejected = _review(sg, False)["outcome"]
    assert (rejected["kind"], rejected["end_event_name"], rejected["text"]) == ("ended", "Rejected",
                                                                                 "ended at Rejected")
    approved = _review(sg, True)
    assert approved["outcome"]["kind"] == "won", "declared on the end event, case-folded; no data field says so"
    assert "outcome" not in queries.instance(sg, approved["id"])["data"]
    with sg.uow(write=False) as uow:
        assert uow.session.get(DealOutcome, approved["id"]).fate == "won", "and the metrics count it as won"


@pytest.mark.parametrize("value", ["Closed and won", "open", "a" * 17, "-"])
def test_an_end_event_outcome_that_is_not_one_short_word_is_refused_at_deploy(sg, staff, value):
    staff()
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, [("review.bpmn", _review_process(value))], "cli:test")
    assert [(p.element_id, "must be one short word" in p.reason) for p in exc.value.problems] == [
        ("EndEvent_Yes", True)]
