"""Decimal (`double`) form fields decide as numbers; a field type the engine does not know is refused at deploy."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from stagegate.cli import main
from engine.services.deployment import deploy
from engine.errors import FormInvalid, InvalidDiagram
from engine.services.instances import complete_task, start_instance
from engine.store.models import ProcessVersion
from engine.queries.records import instance, ready_tasks
from tests import diagram_factory as f
from tests.snapshot import stored



def quote_review(amount_type: str = "double", margin_type: str = "double") -> str:
    """A start form with a decimal amount; a gateway sends big quotes to Finance, whose margin is a decimal too."""
    return f.definitions(f'''  <bpmn:process id="quote_review" name="Quote review" isExecutable="true">
    <bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_Sales" name="Sales">
      <bpmn:flowNodeRef>Quote_In</bpmn:flowNodeRef><bpmn:flowNodeRef>Big</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Done_Small</bpmn:flowNodeRef><bpmn:flowNodeRef>Done_Big</bpmn:flowNodeRef>
    </bpmn:lane><bpmn:lane id="Lane_Finance" name="Finance"><bpmn:flowNodeRef>Task_Margin</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Quote_In" name="Quote"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="quote_name" label="Quote" type="string" />
      <camunda:formField id="amount" label="Amount ($)" type="{amount_type}">
        <camunda:validation><camunda:constraint name="required" /><camunda:constraint name="min" config="0.01" />
        </camunda:validation></camunda:formField>
    </camunda:formData></bpmn:extensionElements></bpmn:startEvent>
    <bpmn:exclusiveGateway id="Big" name="Over $1,000?" default="Flow_Small" />
    <bpmn:userTask id="Task_Margin" name="Check margin"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="margin_pct" label="Margin (%)" type="{margin_type}">
        <camunda:validation><camunda:constraint name="max" config="99.9" /></camunda:validation></camunda:formField>
    </camunda:formData></bpmn:extensionElements></bpmn:userTask>
    <bpmn:endEvent id="Done_Small" name="Small quote" />
    <bpmn:endEvent id="Done_Big" name="Big quote checked" />
    <bpmn:sequenceFlow id="Flow_Start" sourceRef="Quote_In" targetRef="Big" />
    <bpmn:sequenceFlow id="Flow_Big" sourceRef="Big" targetRef="Task_Margin">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">amount &gt; 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_Small" sourceRef="Big" targetRef="Done_Small" />
    <bpmn:sequenceFlow id="Flow_Margin" sourceRef="Task_Margin" targetRef="Done_Big" />
  </bpmn:process>
''', "quote_review")


@pytest.fixture
def quotes(sg, staff):
    staff({"sam": ["Sales"], "fiona": ["Finance"]})
    deploy(sg, f.files(("quote_review.bpmn", quote_review())), "cli:test")
    return sg


def test_a_decimal_amount_typed_with_thousands_commas_decides_the_gateway_as_a_number(quotes):
    deal = start_instance(quotes, "quote_review", "sam", {"quote_name": "Pumps", "amount": "1,200.50"})
    assert instance(quotes, deal["id"])["data"]["amount"] == 1200.5
    [task] = ready_tasks(quotes, user="fiona")
    assert task["element_id"] == "Task_Margin"
    done = complete_task(quotes, task["id"], "fiona", {"margin_pct": "31.5"})
    assert done["status"] == "completed" and done["ended_at_element"] == "Done_Big"
    assert instance(quotes, deal["id"])["data"]["margin_pct"] == 31.5
    small = start_instance(quotes, "quote_review", "sam", {"quote_name": "Seals", "amount": "999.99"})
    assert small["ended_at_element"] == "Done_Small"


def test_a_decimal_outside_its_bounds_is_refused_and_nothing_is_stored(quotes):
    deal = start_instance(quotes, "quote_review", "sam", {"quote_name": "Pumps", "amount": "5000"})
    [task] = ready_tasks(quotes, user="fiona")
    before = stored(quotes)
    with pytest.raises(FormInvalid) as exc:
        complete_task(quotes, task["id"], "fiona", {"margin_pct": "99.95"})
    assert exc.value.errors == {"margin_pct": "must be at most 99.9"}
    with pytest.raises(FormInvalid) as exc:
        start_instance(quotes, "quote_review", "sam", {"quote_name": "Free", "amount": "0"})
    assert exc.value.errors == {"amount": "must be at least 0.01"}
    assert stored(quotes) == before and instance(quotes, deal["id"])["status"] == "running"


def test_a_form_field_type_the_engine_does_not_know_is_refused_naming_element_field_and_type(sg):
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, f.files(("quote_review.bpmn", quote_review(margin_type="percent"))), "cli:test")
    [problem] = exc.value.problems
    assert (problem.element_id, problem.element_name) == ("Task_Margin", "Check margin")
    assert problem.reason == ("form field 'margin_pct' has type 'percent', which the engine does not know; "
                              "known types: string, long, double, boolean, date, enum, file")
    with sg.uow(write=False) as uow:
        assert uow.session.query(ProcessVersion).count() == 0


def test_stagegate_deploy_lists_the_unknown_type_of_a_start_form(sg, database_url, tmp_path):
    path = tmp_path / "quote_review.bpmn"
    path.write_text(quote_review(amount_type="currency"))
    result = CliRunner().invoke(main, ["--database-url", database_url, "deploy", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ("element Quote_In (Quote): form field 'amount' has type 'currency', which the engine does not know; "
            "known types: string, long, double, boolean, date, enum, file") in result.output
