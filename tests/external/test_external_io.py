"""camunda:inputOutput on external service and send tasks, as Camunda runs it: the input parameters
are the task's local variables, which the worker fetches; a completion's variable of an input's name
stays local; the output parameters are computed on the task's variables and the worker's and set in
the process. Refused on a service task a built-in handler runs."""
import pytest

from engine.errors import InvalidDiagram
from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import start_instance

from .conftest import fetch
from .diagrams import DELEGATES, QUOTE

IO = (b'<bpmn:extensionElements><camunda:inputOutput>'
      b'<camunda:inputParameter name="customer">ACME-${customer}</camunda:inputParameter>'
      b'<camunda:inputParameter name="sku_count">${quantity}</camunda:inputParameter>'
      b'<camunda:inputParameter name="currency">EUR</camunda:inputParameter>'
      b'<camunda:outputParameter name="quoted_price">${net_price}</camunda:outputParameter>'
      b'<camunda:outputParameter name="quoted_for">${customer} in ${currency}</camunda:outputParameter>'
      b'<camunda:outputParameter name="erp_ref">${ref}</camunda:outputParameter>'
      b'</camunda:inputOutput></bpmn:extensionElements>')
PRICED = QUOTE.replace(b'camunda:taskPriority="20">', b'camunda:taskPriority="20">' + IO) \
    .replace(b'id="erp_quote"', b'id="io_quote"')


@pytest.fixture
def quoted(sg, rest):
    erp = rest("erp")
    deploy(sg, [("io_quote.bpmn", PRICED)], "cli:test")
    iid = start_instance(sg, "io_quote", "sam", {"customer": "Acme", "quantity": 12})["id"]
    [task] = [t for t in fetch(erp) if t["processDefinitionKey"] == "io_quote"]
    return erp, iid, task


def test_the_worker_fetches_the_inputs_and_the_outputs_reach_the_process(sg, quoted):
    erp, iid, task = quoted
    seen = {k: v["value"] for k, v in task["variables"].items()}
    assert (seen["customer"], seen["sku_count"], seen["currency"], seen["quantity"]) == ("ACME-Acme", 12, "EUR", 12)
    r = erp("POST", f"/external-task/{task['id']}/complete",
            {"workerId": "w1", "variables": {"net_price": {"value": 118000, "type": "Long"},
                                             "currency": {"value": "USD", "type": "String"}},
             "localVariables": {"ref": {"value": "Q-7", "type": "String"},
                                "quantity": {"value": 99, "type": "Long"}}})
    assert r.status_code == 204, r.get_json()
    data = queries.instance(sg, iid)["data"]
    assert (data["quoted_price"], data["quoted_for"], data["net_price"]) == (118000, "ACME-Acme in USD", 118000)
    assert data["customer"] == "Acme", "the process's own customer, not the task's input"
    assert data["erp_ref"] == "Q-7" and data["quantity"] == 12, "local variables reach the outputs only"
    assert not {"sku_count", "currency", "ref"} & set(data), "inputs, and the worker's variables of their names, are local"


def test_a_bpmn_error_ends_the_inputs_without_the_outputs(sg, quoted):
    erp, iid, task = quoted
    r = erp("POST", f"/external-task/{task['id']}/bpmnError",
            {"workerId": "w1", "errorCode": "NO_PRICE", "variables": {"reason": {"value": "no list price"}}})
    assert r.status_code == 204, r.get_json()
    [manual] = queries.ready_tasks(sg, instance_id=iid)
    assert manual["element_id"] == "Task_Manual"
    data = queries.instance(sg, iid)["data"]
    assert (data["customer"], data["reason"]) == ("Acme", "no list price")
    assert not {"sku_count", "currency", "quoted_price", "quoted_for"} & set(data)


def test_a_send_task_hands_its_inputs_to_the_worker(sg, rest):
    erp = rest("erp")
    confirm = b'<camunda:inputOutput><camunda:inputParameter name="subject">Order booked</camunda:inputParameter>' \
              b'</camunda:inputOutput>'
    xml = DELEGATES.replace(b'id="legacy_order"', b'id="io_order"').replace(
        b'camunda:topic="mail.confirm">', b'camunda:topic="mail.io_confirm"><bpmn:extensionElements>' + confirm
        + b'</bpmn:extensionElements>')
    deploy(sg, [("io_order.bpmn", xml)], "cli:test")
    iid = start_instance(sg, "io_order", "sam", {})["id"]
    [book] = [t for t in fetch(erp, topic="com.acme.erp.BookOrderDelegate") if t["processDefinitionKey"] == "io_order"]
    assert "subject" not in book["variables"]
    assert erp("POST", f"/external-task/{book['id']}/complete", {"workerId": "w1"}).status_code == 204
    [mail] = fetch(erp, topic="mail.io_confirm")
    assert mail["variables"]["subject"]["value"] == "Order booked"
    assert erp("POST", f"/external-task/{mail['id']}/complete", {"workerId": "w1"}).status_code == 204
    instance = queries.instance(sg, iid)
    assert instance["status"] == "completed" and "subject" not in instance["data"]


def test_input_output_on_a_service_task_a_built_in_handler_runs_is_refused(sg, rest):
    xml = PRICED.replace(b'camunda:topic="erp.price_quote"', b'camunda:topic="pricing.net_price"')
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, [("io_quote.bpmn", xml)], "cli:test")
    assert any(p.element_id == "Task_Price" and "built-in handler 'pricing.net_price'" in p.reason
               for p in exc.value.problems), exc.value.problems
