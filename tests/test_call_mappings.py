"""A call activity passes what its camunda:in/out say (Camunda's invoice example calling its review)."""
from __future__ import annotations

import re

import pytest

from engine.services.deployment import deploy
from engine.errors import InvalidDiagram
from engine.services.instances import complete_task, start_instance
from tests import diagram_factory as f
from tests.conftest import SHARED
from tests.test_camunda_people import live_data, the_task, with_fields

CORPUS = SHARED / "corpus" / "camunda"
INVOICE_FIELDS = ("invoiceDocument", "creditor", "amount", "invoiceCategory", "invoiceNumber", "secret")


def caller(call_activity: str) -> str:
    """A process around a call activity (as given), the fields of Camunda's invoice at its start, a check after."""
    fields = "".join(f'<camunda:formField id="{n}" type="string" />' for n in INVOICE_FIELDS)
    return f.definitions(f'''  <bpmn:process id="invoice" isExecutable="true">
    <bpmn:startEvent id="Received"><bpmn:extensionElements><camunda:formData>{fields}</camunda:formData>
    </bpmn:extensionElements></bpmn:startEvent>
    {call_activity}
    <bpmn:userTask id="Check" name="Check" camunda:candidateGroups="Accounting" />
    <bpmn:endEvent id="Finished" />
    <bpmn:sequenceFlow id="F1" sourceRef="Received" targetRef="reviewInvoice" />
    <bpmn:sequenceFlow id="F2" sourceRef="reviewInvoice" targetRef="Check" />
    <bpmn:sequenceFlow id="F3" sourceRef="Check" targetRef="Finished" />
  </bpmn:process>
''', "invoice")


def invoice_call_activity() -> str:
    """The invoice v2's call activity as the file has it (its mappings), in the bpmn: prefix."""
    xml = (CORPUS / "platform-invoice.v2.bpmn").read_text()
    call = re.search(r'<callActivity id="reviewInvoice".*?</callActivity>', xml, re.S).group(0)
    call = re.sub(r"\s*<(incoming|outgoing)>[^<]*</\1>", "", call)
    return re.sub(r"<(/?)(?!camunda:)(\w+)", r"<\1bpmn:\2", call)


def review_invoice() -> bytes:
    xml = (CORPUS / "platform-reviewInvoice.bpmn").read_text()
    return with_fields(with_fields(xml, "assignReviewer", "reviewer:string"), "reviewInvoice",
                       "clarified:boolean").encode()


@pytest.fixture
def invoice(make_sg, staff):
    staff({"demo": ["Accounting"], "peter": ["Accounting"], "sam": ["Sales"]})
    deploy(make_sg(), [("invoice.bpmn", caller(invoice_call_activity()).encode()),
                       ("platform-reviewInvoice.bpmn", review_invoice())], "cli:test")
    return make_sg


def test_the_review_sees_only_what_the_invoice_passes_in_and_returns_only_clarified(invoice):
    start = {"invoiceDocument": "scan.pdf", "creditor": "Great Pizza for Everyone Inc.", "amount": "30",
             "invoiceCategory": "Travel Expenses", "invoiceNumber": "GPFE-23232323", "secret": "not for the review"}
    iid = start_instance(invoice(), "invoice", "sam", start)["id"]
    assign = the_task(invoice(), iid)
    seen = live_data(invoice(), iid, "assignReviewer")
    assert {k: seen.get(k) for k in INVOICE_FIELDS} == {**{k: start[k] for k in INVOICE_FIELDS[:-1]}, "secret": None}
    assert "secret" not in seen
    complete_task(invoice(), assign["id"], "demo", {"reviewer": "peter"})
    review = the_task(invoice(), iid)
    complete_task(invoice(), review["id"], "peter", {"clarified": True})
    check = the_task(invoice(), iid)
    back = live_data(invoice(), iid, "Check")
    assert check["element_id"] == "Check"
    assert back["clarified"] is True and back["secret"] == "not for the review"  # camunda:out; the caller keeps its own
    assert "reviewer" not in back  # set in the review, not mapped out


def test_source_expressions_and_all_variables(invoice, make_sg):
    call = ('<bpmn:callActivity id="reviewInvoice" calledElement="ReviewInvoice"><bpmn:extensionElements>'
            '<camunda:in variables="all" /><camunda:in sourceExpression="${amount == \'30\' ? \'small\' : \'large\'}" '
            'target="size" /><camunda:out sourceExpression="#{!clarified}" target="unclear" />'
            '<camunda:in businessKey="#{execution.processBusinessKey}" />'
            '</bpmn:extensionElements></bpmn:callActivity>')
    sg = make_sg()
    deploy(sg, [("invoice2.bpmn", caller(call).replace('id="invoice"', 'id="invoice2"').encode())], "cli:test")
    iid = start_instance(make_sg(), "invoice2", "sam", {"amount": "30", "secret": "s"})["id"]
    seen = live_data(make_sg(), iid, "assignReviewer")
    assert (seen["size"], seen["secret"]) == ("small", "s")
    complete_task(make_sg(), the_task(make_sg(), iid)["id"], "demo", {"reviewer": "peter"})
    complete_task(make_sg(), the_task(make_sg(), iid)["id"], "peter", {"clarified": False})
    assert live_data(make_sg(), iid, "Check")["unclear"] is True


@pytest.mark.parametrize("mapping, reason", [
    ('<camunda:in businessKey="${invoiceNumber}" />', 'camunda:in businessKey="${invoiceNumber}" is not supported'),
    ('<camunda:in sourceExpression="${pricing.total(amount)}" target="t" />',
     "camunda:in sourceExpression `${pricing.total(amount)}`: JUEL the engine cannot run: the method call"),
    ('<camunda:out target="t" />', "camunda:out needs a target and a source or sourceExpression"),
    ('<camunda:in sourceExpression="amount +* 2" target="t" />',
     "camunda:in sourceExpression for 't' does not compile: syntax error"),
])
def test_mappings_the_engine_cannot_honour_are_refused_at_deploy(sg, mapping, reason):
    call = ('<bpmn:callActivity id="reviewInvoice" calledElement="ReviewInvoice"><bpmn:extensionElements>'
            f'{mapping}</bpmn:extensionElements></bpmn:callActivity>')
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, [("invoice.bpmn", caller(call).encode()), ("platform-reviewInvoice.bpmn", review_invoice())],
               "cli:test")
    assert [(p.element_id, reason in p.reason) for p in exc.value.problems] == [("reviewInvoice", True)], \
        exc.value.problems
