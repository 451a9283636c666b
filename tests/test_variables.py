"""Variables and business keys where the diagram has no form: start and complete through the CLI
and the API as Camunda's REST API does, bounded; a form still refuses what it does not ask for."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.queries import records as queries
from stagegate.cli import main
from engine.services.deployment import deploy
from engine.errors import FormInvalid
from engine.services.instances import complete_task, start_instance
from tests import diagram_factory as f
from tests.snapshot import stored

# Camunda's habit: no start form, a user task without formData, a gateway on what the caller sent.
FORMLESS = f.definitions("""
  <bpmn:process id="invoice" name="Invoice" isExecutable="true">
    <bpmn:startEvent id="Start" name="Invoice received" />
    <bpmn:userTask id="Approve" name="Approve invoice" camunda:candidateGroups="accounting" />
    <bpmn:exclusiveGateway id="Approved" name="Approved?" default="Flow_No" />
    <bpmn:endEvent id="Paid" name="Paid" />
    <bpmn:endEvent id="Rejected" name="Rejected" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Approve" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Approve" targetRef="Approved" />
    <bpmn:sequenceFlow id="Flow_Yes" sourceRef="Approved" targetRef="Paid">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">approved == True and amount &lt; 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_No" sourceRef="Approved" targetRef="Rejected" />
  </bpmn:process>""".replace("Start", "StartEvent_Invoice"), "invoice")


@pytest.fixture
def invoice(sg, staff):
    staff({"alice": ["accounting"]})
    deploy(sg, f.files(("invoice.bpmn", FORMLESS)), "cli:test")
    return sg


@pytest.fixture
def cli(database_url, invoice):
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--database-url", database_url, *args])


def _task(sg, iid):
    [t] = queries.ready_tasks(sg, instance_id=iid)
    return t["id"]


def test_the_cli_starts_and_completes_with_variables_and_a_business_key(invoice, cli, tmp_path):
    r = cli("start", "invoice", "--user", "alice", "--business-key", "INV-2026-0042",
            "--var", "amount=250", "--var", "creditor=Great Pizza for Everyone Inc.")
    assert r.exit_code == 0, r.output
    iid = int(r.output.strip())
    deal = json.loads(cli("show", str(iid), "--json").output)
    assert deal["business_key"] == "INV-2026-0042" and deal["title"] == "Invoice INV-2026-0042"
    assert deal["data"] == {"amount": 250, "creditor": "Great Pizza for Everyone Inc."}
    (tmp_path / "vars.json").write_text(json.dumps({"approved": True, "note": "ok"}))
    r = cli("complete", _task(invoice, iid), "--user", "alice", "--vars-file", str(tmp_path / "vars.json"))
    assert r.exit_code == 0, r.output
    shown = queries.instance(invoice, iid)
    assert shown["status"] == "completed" and shown["ended_at_element"] == "Paid"
    started = [e for e in queries.history(invoice, iid) if e["kind"] == "instance_started"]
    assert started[0]["details"] == {"data": {"amount": 250, "creditor": "Great Pizza for Everyone Inc."},
                                     "business_key": "INV-2026-0042"}


def test_the_cli_says_how_to_write_a_variable(cli):
    r = cli("start", "invoice", "--user", "alice", "--var", "amount")
    assert r.exit_code == 2 and "--var 'amount': write NAME=VALUE" in r.output


@pytest.mark.parametrize("data, key, errors", [
    ({"_secret": 1}, None, {"_secret": "is not a variable name a diagram can read"}),
    ({"class": 1}, None, {"class": "is not a variable name a diagram can read"}),
    ({"note": "x" * 10_001}, None, {"note": "must be at most 10000 characters"}),
    ({"big": ["x" * 9000] * 40}, None, {"_": "the variables are larger than 256 KB as JSON"}),
    ({"amount": 1}, "  ", {"business_key": "must be non-empty text"}),
    ({"amount": 1}, "K" * 256, {"business_key": "must be at most 255 characters"}),
    ({"amount": 1}, "INV\n1", {"business_key": "may not hold control characters"}),
])
def test_bad_variables_and_business_keys_are_refused_and_nothing_is_stored(invoice, data, key, errors):
    before = stored(invoice)
    with pytest.raises(FormInvalid) as exc:
        start_instance(invoice, "invoice", "alice", data, business_key=key)
    assert {k: v[:len(errors[k])] for k, v in exc.value.errors.items()} == errors
    assert stored(invoice) == before


def test_a_task_with_a_form_still_refuses_what_it_does_not_ask_for(sg, staff):
    staff({"sam": ["sales"]})
    deploy(sg, f.files(("deal.bpmn", f.process())), "cli:test")
    deal = start_instance(sg, "deal_review", "sam", {"deal_name": "Acme"}, business_key="CRM-1")
    with pytest.raises(FormInvalid) as exc:
        complete_task(sg, deal["ready_tasks"][0]["id"], "sam", {"approved": True, "amount": 5})
    assert exc.value.errors == {"amount": "is not a field of this form"}
    with pytest.raises(FormInvalid) as exc:
        start_instance(sg, "deal_review", "sam", {"deal_name": "Acme", "amount": 5})
    assert exc.value.errors == {"amount": "is not a field of this form"}


def test_deploy_warns_when_a_condition_reads_what_nothing_sets(sg):
    # `amount` is set nowhere: it can only come with the start, as a variable
    results = deploy(sg, f.files(("invoice.bpmn", FORMLESS)), "cli:test")
    warnings = [r for r in results if r["kind"] == "warning"]
    assert [(w["element_id"], w["line"]) for w in warnings] == [("Flow_Yes", 12)]
    assert warnings[0]["reason"].startswith(
        "condition `approved == True and amount < 1000` reads `amount`, `approved`, which nothing in the process sets "
        "before this flow (no form, decision, script, service task or called process); unless it is sent as a "
        "variable when the deal starts or a task without a form is completed")
    # a JUEL condition is quoted as the modeller wrote it, not as the engine translates it
    juel = FORMLESS.replace("approved == True and amount &lt; 1000", "${!approved &amp;&amp; amount &lt; 1000}")
    assert juel != FORMLESS
    [warned] = [r for r in deploy(sg, f.files(("invoice.bpmn", juel)), "cli:test") if r["kind"] == "warning"]
    assert warned["reason"].startswith("condition `${!approved && amount < 1000}` reads `amount`, `approved`,")
    # a form that sets them: no warning
    with_form = FORMLESS.replace('camunda:candidateGroups="accounting" />', 'camunda:candidateGroups="accounting">'
                                 '<bpmn:extensionElements><camunda:formData><camunda:formField id="approved" '
                                 'type="boolean" /><camunda:formField id="amount" type="long" /></camunda:formData>'
                                 '</bpmn:extensionElements></bpmn:userTask>')
    assert [r for r in deploy(sg, f.files(("invoice.bpmn", with_form)), "cli:test") if r["kind"] == "warning"] == []


RATES = f.table("rates", [("R1", ["< 1000"], ['"low"']), ("R2", [">= 1000"], ['"high"'])])


def _deciding(start_form: bool) -> str:
    form = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="customer" type="string" />'
            '</camunda:formData></bpmn:extensionElements>') if start_form else ""
    return f.definitions(f"""
  <bpmn:process id="rated" name="Rated" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1">{form}</bpmn:startEvent>
    <bpmn:businessRuleTask id="Rate" name="Rate" camunda:decisionRef="rates" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Rate" />
    <bpmn:sequenceFlow id="F2" sourceRef="Rate" targetRef="EndEvent_1" />
  </bpmn:process>""", "rated")


def test_a_decision_reading_what_only_the_start_can_send_deploys_with_a_warning_and_decides(sg, staff):
    staff({"alice": ["accounting"]})
    results = deploy(sg, f.files(("rated.bpmn", _deciding(False)), ("rates.dmn", RATES)), "cli:test")
    [warning] = [r for r in results if r["kind"] == "warning"]
    assert warning["file"] == "rates.dmn" and "input column 'Amount' reads `amount`" in warning["reason"]
    assert "unless it is sent as a variable when the deal starts" in warning["reason"]
    deal = start_instance(sg, "rated", "alice", {"amount": 5000})
    assert queries.instance(sg, deal["id"])["data"]["result"] == "high"


def test_a_decision_reading_what_a_start_form_does_not_ask_is_still_refused(sg):
    from tests.test_deploy import refused
    [problem] = refused(sg, f.files(("rated.bpmn", _deciding(True)), ("rates.dmn", RATES)))
    assert problem.file == "rates.dmn" and "input column 'Amount' reads `amount`" in problem.reason
