"""Messages from outside drive deals: receive tasks, message catch events (behind an event-based
gateway with a timer too), boundary events both ways, and message start events; correlation
by business key or correlation keys; 404 for none waiting, 409 for several; message ids make
retries harmless. Each step runs on a fresh Stagegate, so state goes through the serializer."""
import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidDiagram, KeyReused, NotFound, Refused, StepFailed
from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from engine.services.messages import correlate_message
from engine.services.timers import fire_due_timers
from engine.services.users import add_user
from engine.store.models import Timer
from tests.diagram_factory import definitions
from tests.message_diagrams import MESSAGES, contract, invoice, lead


@pytest.fixture
def world(sg, make_sg, staff):
    staff()
    add_user(sg, "esign", ["Integration"], actor="cli:test")
    deploy(sg, [("contract.bpmn", contract()), ("invoice.bpmn", invoice()), ("lead.bpmn", lead())], actor="dora")

    class World:
        def fresh(self):
            return make_sg(clock=sg.clock)

        def start(self, process_id, user, **data):
            return start_instance(self.fresh(), process_id, user, data)["id"]

        def ready(self, iid):
            return {t["element_id"]: t for t in queries.ready_tasks(self.fresh(), instance_id=iid)}

        def work(self, iid, element_id, user, **data):
            return complete_task(self.fresh(), self.ready(iid)[element_id]["id"], user, data)

        def send(self, name, user="esign", **kw):
            return correlate_message(self.fresh(), name, user, **kw)

        def show(self, iid):
            return queries.instance(self.fresh(), iid)

        def history(self, iid):
            return queries.history(self.fresh(), iid)
    w = World()
    w.sg = sg
    return w


def timer_states(world, iid):
    with world.fresh().uow(write=False) as uow:
        return [(t.element_id, t.state) for t in uow.session.execute(
            select(Timer).where(Timer.instance_id == iid)).scalars()]


def _to_gateway(world, customer="Acme"):
    iid = world.start("contract", "lou", customer=customer)
    world.work(iid, "Send", "lou")
    return iid


def test_a_signed_contract_message_ends_the_wait_at_the_event_gateway_and_its_variables_reach_the_deal(world):
    iid = _to_gateway(world)
    assert world.ready(iid) == {}, "the deal waits for the message or the timer, no task is open"
    result = world.send("contract signed", business_key=str(iid), variables={"signed_by": "Jane Roe"})
    (hit,) = result["correlations"]
    assert (hit["instance_id"], hit["started"], hit["element_ids"], hit["status"]) == (
        iid, False, ["Signed"], "completed")
    deal = world.show(iid)
    assert deal["ended_at_element"] == "EndSigned" and deal["data"]["signed_by"] == "Jane Roe"
    kinds = [(e["kind"], e["actor"]) for e in world.history(iid)]
    assert ("message_correlated", "esign") in kinds and ("message_received", "engine") in kinds
    assert timer_states(world, iid) == [("Late", "cancelled")], "the chase timer lost to the message"
    world.sg.clock.advance(days=6)
    assert fire_due_timers(world.fresh())["fired"] == 0, "the timer of the path not taken is gone"


def test_without_the_message_the_timer_path_chases_after_five_days_and_the_message_then_finds_nobody(world):
    iid = _to_gateway(world)
    world.sg.clock.advance(days=5, minutes=1)
    assert fire_due_timers(world.fresh())["fired"] == 1
    assert set(world.ready(iid)) == {"Chase"} and timer_states(world, iid) == [("Late", "fired")]
    with pytest.raises(NotFound, match="no running deal waits for the message 'contract signed'"):
        world.send("contract signed", business_key=str(iid))


def test_several_waiting_deals_are_a_conflict_unless_all_is_asked_and_correlation_keys_pick_one(world):
    acme, bolt = _to_gateway(world, "Acme"), _to_gateway(world, "Bolt")
    with pytest.raises(Conflict, match=f"2 deals wait .*#{acme}, #{bolt}"):
        world.send("contract signed")
    assert world.show(acme)["status"] == world.show(bolt)["status"] == "running", "nothing was delivered"
    (hit,) = world.send("contract signed", correlation_keys={"customer": "Bolt"})["correlations"]
    assert hit["instance_id"] == bolt and world.show(acme)["status"] == "running"
    third = _to_gateway(world, "Acme")
    hits = world.send("contract signed", all=True)["correlations"]
    assert sorted(h["instance_id"] for h in hits) == [acme, third]


def test_a_retry_with_the_same_message_id_delivers_once_and_a_reused_id_is_refused(world):
    first, second = _to_gateway(world, "Acme"), _to_gateway(world, "Bolt")
    once = world.send("contract signed", business_key=str(first), message_id="esig-771")
    again = world.send("contract signed", business_key=str(first), message_id="esig-771")
    assert again["replayed"] is True and again["correlations"] == once["correlations"]
    assert [e["kind"] for e in world.history(first)].count("message_correlated") == 1
    with pytest.raises(KeyReused, match="esig-771"):
        world.send("contract signed", business_key=str(second), message_id="esig-771")
    assert world.show(second)["status"] == "running"


def test_who_may_send_the_lane_of_the_waiting_element_or_the_integration_role(world):
    iid = _to_gateway(world)
    with pytest.raises(Refused, match="sam may not send this message: it needs the role 'integration' or 'legal'"):
        world.send("contract signed", user="sam", business_key=str(iid))
    with pytest.raises(Refused):
        world.send("contract signed", user="ada", business_key=str(iid))
    assert world.send("contract signed", user="lou", business_key=str(iid))["correlations"][0]["status"] == "completed"


def test_receive_task_with_boundary_messages_non_interrupting_then_interrupting(world):
    iid = world.start("invoice", "fiona", customer="Acme")
    world.send("customer note", business_key=str(iid), variables={"note": "pays Friday"})
    assert set(world.ready(iid)) == {"Read"}, "the note opens a task; the receive task still waits"
    # SpiffWorkflow arms a non-interrupting boundary event once per activity (Camunda: every time).
    with pytest.raises(NotFound):
        world.send("customer note", business_key=str(iid), variables={"note": "really"})
    world.send("invoice paid", business_key=str(iid), variables={"amount_paid": 1200})
    assert {"Book", "Read"} <= set(world.ready(iid))
    assert world.show(iid)["data"]["amount_paid"] == 1200

    other = world.start("invoice", "fiona", customer="Bolt")
    hit = world.send("customer cancelled", business_key=str(other))["correlations"][0]
    assert (hit["status"], hit["ended_at_element"]) == ("completed", "EndCancelled")
    with pytest.raises(NotFound):
        world.send("invoice paid", business_key=str(other))


def test_a_message_start_event_starts_a_deal_which_cannot_be_started_by_hand(world):
    hit = world.send("web lead", variables={"company": "Cobalt"})["correlations"][0]
    assert hit["started"] is True and [t["element_id"] for t in hit["ready_tasks"]] == ["Qualify"]
    assert world.show(hit["instance_id"])["data"]["company"] == "Cobalt"
    with pytest.raises(Refused, match="starts when the message 'web lead' arrives"):
        start_instance(world.fresh(), "lead", "sam", {})
    with pytest.raises(NotFound, match="no process starts with it"):
        world.send("no such message")


@pytest.mark.parametrize("body, reason", [
    ('<bpmn:intermediateThrowEvent id="X"><bpmn:messageEventDefinition messageRef="Msg_Signed" />'
     "</bpmn:intermediateThrowEvent>", "no outgoing message transport"),
    ('<bpmn:receiveTask id="X" />', "names no message"),
    ('<bpmn:intermediateCatchEvent id="X"><bpmn:messageEventDefinition messageRef="Msg_Unnamed" />'
     "</bpmn:intermediateCatchEvent>", "has no name"),
])
def test_message_elements_the_engine_could_not_honour_are_refused_at_deploy(sg, staff, body, reason):
    staff()
    doc = definitions(MESSAGES + '<bpmn:message id="Msg_Unnamed" />'
                      '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="S0" />' + body
                      + '<bpmn:endEvent id="E" /><bpmn:sequenceFlow id="f1" sourceRef="S0" targetRef="X" />'
                      '<bpmn:sequenceFlow id="f2" sourceRef="X" targetRef="E" /></bpmn:process>', "p")
    with pytest.raises(InvalidDiagram) as refused:
        deploy(sg, [("p.bpmn", doc.encode())], actor="dora")
    assert any(p.element_id == "X" and reason in p.reason for p in refused.value.problems)


def test_the_miwg_receive_task_and_its_external_send_tasks_deploy_its_task_naming_nobody_with_a_warning(sg, staff):
    from tests.test_miwg import CORPUS
    staff()
    results = deploy(sg, [("C.9.1.bpmn", (CORPUS / "C.9.1.bpmn").read_bytes())], actor="dora")
    assert {r["element_id"] for r in results if r["kind"] == "warning"} == {"UserTask_CallCustomer"}


def test_a_message_whose_step_fails_changes_nothing_and_records_an_incident(sg, make_sg, staff):
    staff()
    add_user(sg, "esign", ["Integration"], actor="cli:test")
    doc = definitions(MESSAGES + '<bpmn:process id="pay" isExecutable="true"><bpmn:startEvent id="S0" />'
                      '<bpmn:receiveTask id="Wait" name="Wait for payment" messageRef="Msg_Paid" />'
                      '<bpmn:exclusiveGateway id="G" name="Paid enough?" default="f_low" />'
                      '<bpmn:endEvent id="E_ok" /><bpmn:endEvent id="E_low" />'
                      '<bpmn:sequenceFlow id="f1" sourceRef="S0" targetRef="Wait" />'
                      '<bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="G" />'
                      '<bpmn:sequenceFlow id="f_ok" sourceRef="G" targetRef="E_ok"><bpmn:conditionExpression '
                      'xsi:type="bpmn:tFormalExpression">amount_paid &gt;= 100</bpmn:conditionExpression>'
                      '</bpmn:sequenceFlow><bpmn:sequenceFlow id="f_low" sourceRef="G" targetRef="E_low" />'
                      "</bpmn:process>", "pay")
    deploy(sg, [("pay.bpmn", doc.encode())], actor="dora")
    iid = start_instance(sg, "pay", "sam", {})["id"]
    before = queries.instance(make_sg(clock=sg.clock), iid)
    with pytest.raises(StepFailed, match="amount_paid") as failed:
        correlate_message(make_sg(clock=sg.clock), "invoice paid", "esign", business_key=str(iid))
    assert failed.value.element_id == "G"
    after = queries.instance(make_sg(clock=sg.clock), iid)
    assert after["status"] == "running" and after["data"] == before["data"]
    kinds = [e["kind"] for e in queries.history(make_sg(clock=sg.clock), iid)]
    assert "incident" in kinds and "message_correlated" not in kinds, "the failed delivery left no trace but its incident"
    hit = correlate_message(make_sg(clock=sg.clock), "invoice paid", "esign", business_key=str(iid),
                            variables={"amount_paid": 150})["correlations"][0]
    assert hit["ended_at_element"] == "E_ok"


def test_camunda_corpus_receive_tasks_without_a_message_are_refused_and_a_message_start_event_is_accepted(sg, staff):
    from tests.test_camunda_corpus import CORPUS
    staff()
    problems = {}
    for name in ("platform-webapps-complex-process.bpmn", "platform-webapps-fox-invoice_generated_forms.bpmn"):
        try:
            deploy(sg, [(name, (CORPUS / name).read_bytes())], actor="dora")
        except InvalidDiagram as refused:
            problems[name] = {p.element_id: p.reason for p in refused.problems}
    assert "names no message (messageRef)" in problems["platform-webapps-complex-process.bpmn"]["MessageTask_1"]
    fox = problems.get("platform-webapps-fox-invoice_generated_forms.bpmn", {})
    assert not any("message" in reason for reason in fox.values()), fox


def test_the_business_key_given_at_the_start_addresses_the_deal_as_in_camunda(world):
    iid = start_instance(world.fresh(), "contract", "lou", {"customer": "Acme"}, business_key="CRM-0042")["id"]
    world.work(iid, "Send", "lou")
    other = _to_gateway(world, customer="Beta")
    with pytest.raises(NotFound):
        world.send("contract signed", business_key="CRM-9999")
    hit = world.send("contract signed", business_key="CRM-0042")["correlations"]
    assert [c["instance_id"] for c in hit] == [iid]
    assert world.send("contract signed", business_key=f"#{other}")["correlations"][0]["instance_id"] == other


def test_a_start_message_with_a_business_key_starts_the_deal_under_that_key_and_a_deal_number_starts_none(world):
    hit = world.send("web lead", business_key="CRM-0815", variables={"company": "Cobalt"})["correlations"]
    assert [(c["started"], c["business_key"]) for c in hit] == [(True, "CRM-0815")]
    deal = world.show(hit[0]["instance_id"])
    assert deal["business_key"] == "CRM-0815" and deal["data"]["company"] == "Cobalt"
    started = [e for e in world.history(deal["id"]) if e["kind"] == "instance_started"]
    assert started[0]["details"]["business_key"] == "CRM-0815"
    # The key now addresses that deal; a deal's number that waits for nothing starts nothing.
    with pytest.raises(NotFound, match="no running deal waits for the message 'web lead' with business key"):
        world.send("web lead", business_key=f"#{deal['id']}")
    with pytest.raises(NotFound, match="no process starts with it"):
        world.send("no such message", business_key="CRM-0816")
