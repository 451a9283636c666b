"""A mistyped decision table never deploys: every input entry must be a test of its column, every
name a cell reads must exist where the process decides, every output must fit its column's type.
Refusals name the rule (id and row), the column and the cell, through the service and the CLI,
and store nothing."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from stagegate.cli import main
from engine.services.deployment import deploy
from engine.errors import InvalidDiagram
from tests import diagram_factory as f
from tests.conftest import DIAGRAMS
from tests.test_deploy import counts

QUALIFICATION = (DIAGRAMS / "qualification.dmn").read_text()
REVENUE_CELL = "<text>&lt; 50</text>"
INDUSTRY_CELL = "<text>? not in ['automotive', 'aerospace', 'medical', 'energy']</text>"
REASON_CELL = '<text>"budget not confirmed"</text>'
WHERE_REVENUE = "rule Rule_RevenueTooLow (row 1), column 'Annual revenue ($MM)', cell "


def with_cell(old: str, new: str) -> bytes:
    assert old in QUALIFICATION
    return QUALIFICATION.replace(old, new, 1).encode()


@pytest.fixture
def deployed(catalog, sg):
    return sg


def refusal(sg, content: bytes) -> list:
    before = counts(sg)
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, [("qualification.dmn", content)], actor="cli:test")
    assert counts(sg) == before, "a refused table stored something"
    return info.value.problems


MISTAKES = {
    "doubled operator": (REVENUE_CELL, "<text>&lt;&lt; 50</text>",
                         WHERE_REVENUE + "`<< 50` is not a comparison of the column"),
    "a word for a number": (REVENUE_CELL, "<text>&lt; fifty</text>",
                            WHERE_REVENUE + "`< fifty` reads `fifty`, which is not an input column's data, not a "
                            "helper and not a data field process 'opportunity' at Task_CheckQualification"),
    "unknown name in a ? test": (INDUSTRY_CELL, "<text>? not in served_industries</text>",
                                 "rule Rule_IndustryNotServed (row 2), column 'Industry', cell `? not in "
                                 "served_industries` reads `served_industries`"),
    "FEEL list (a Python tuple)": (INDUSTRY_CELL, '<text>"retail", "mining"</text>',
                                   "cell `\"retail\", \"mining\"` is a FEEL unary test, which means something else in "
                                   "Python (this table declares Python): write `? in [\"retail\", \"mining\"]`, or "
                                   "drop expressionLanguage=\"python\" to write FEEL"),
    "FEEL range": (REVENUE_CELL, "<text>[0..50[</text>", WHERE_REVENUE + "`[0..50[` is a FEEL unary test, but this "
                   "table declares Python: write `0 <= ? < 50`"),
    "FEEL open range": (REVENUE_CELL, "<text>]0..50[</text>", "write `0 < ? < 50`"),
    "FEEL negation": (INDUSTRY_CELL, '<text>not("energy")</text>', 'write `? != "energy"`'),
    "FEEL null": (INDUSTRY_CELL, "<text>null</text>", "write `? is None`"),
    "text compared with a number column": (REVENUE_CELL, '<text>&lt; "50"</text>',
                                           WHERE_REVENUE + '`< "50"` compares the column, of type number, with "50", '
                                           "which is text"),
    "output of the wrong type": (REASON_CELL, "<text>42</text>", "rule Rule_BudgetNotConfirmed (row 3), output "
                                 "'Qualification reason' `42` is a number, but the column's type is string"),
    "output computing the wrong type": ("<text>False</text>", "<text>1 + 1</text>",
                                        "output 'Qualified' `1 + 1` gives a number, but the column's type is boolean"),
    "output reading an unknown name": (REASON_CELL, "<text>reason_text</text>",
                                       "output 'Qualification reason' `reason_text` reads `reason_text`"),
    "input column reading a field the process never sets": (
        "<text>annual_revenue_musd</text>", "<text>revenue</text>",
        "input column 'Annual revenue ($MM)' reads `revenue`, which process 'opportunity' at "
        "Task_CheckQualification (Check qualification criteria) cannot have when it decides"),
    "unknown type": ('typeRef="number"', 'typeRef="money"', "column 'Annual revenue ($MM)' has type 'money'"),
    "FEEL declared over Python cells": ('hitPolicy="UNIQUE"', 'hitPolicy="UNIQUE" expressionLanguage="feel"',
                                       "output 'Qualified' `False` writes `False`, which is Python; in FEEL write "
                                       "`false`"),
    "a language the engine does not know": ('hitPolicy="UNIQUE"', 'hitPolicy="UNIQUE" expressionLanguage="javascript"',
                                            "expression language 'javascript' is not one the engine reads"),
}


@pytest.mark.parametrize("old, new, said", list(MISTAKES.values()), ids=list(MISTAKES))
def test_a_mistyped_table_is_refused_naming_rule_column_and_cell(deployed, old, new, said):
    problems = refusal(deployed, with_cell(old, new))
    reasons = [p.reason for p in problems]
    assert any(said in r for r in reasons), reasons
    assert all(p.element_id == "qualification" and p.file == "qualification.dmn" and p.line for p in problems)


def test_a_refused_cell_carries_where_the_designer_marks_it(deployed):
    [problem] = refusal(deployed, with_cell(REVENUE_CELL, "<text>&lt;&lt; 50</text>"))
    assert problem.cell == {"rule": "Rule_RevenueTooLow", "row": 1, "column": "Input_AnnualRevenue", "kind": "input"}
    assert problem.as_dict()["cell"] == problem.cell


def test_the_cli_refuses_the_same_cells_and_stores_nothing(tmp_path, database_url):
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", database_url, "init"]).exit_code == 0
    assert runner.invoke(main, ["--database-url", database_url, "deploy", str(DIAGRAMS)]).exit_code == 0
    draft = tmp_path / "qualification.dmn"
    draft.write_bytes(with_cell(REVENUE_CELL, "<text>&lt;&lt; 50</text>"))
    result = runner.invoke(main, ["--database-url", database_url, "deploy", str(draft)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "refused: nothing was deployed" in result.output
    assert f"{draft}:24: element qualification (Qualification gate criteria): " + WHERE_REVENUE + "`<< 50`" \
        in result.output
    listing = runner.invoke(main, ["--database-url", database_url, "deploy", str(DIAGRAMS)])
    assert "qualification v1 (decision) (unchanged)" in listing.output  # still version 1


def test_every_problem_of_a_table_is_listed_at_once(deployed):
    content = with_cell(REVENUE_CELL, "<text>&lt;&lt; 50</text>").decode().replace(REASON_CELL, "<text>42</text>")
    reasons = [p.reason for p in refusal(deployed, content.encode())]
    assert len(reasons) == 2 and "`<< 50`" in reasons[0] and "`42`" in reasons[1]


# Which data fields a process can have where it decides ------------------------------------------

AMOUNT_TABLE = f.table("rate", [("R", ["> 100"], ['"big"'])], inputs=[("Amount", "amount", "number")])


def _process(before_rule: str = "", after_rule: str = "", start_fields: str = "", calls: str | None = None) -> str:
    """Start -> [before] -> Rate (decides `rate`) -> [after] -> end; each piece a user task form,
    script or service task given as XML with id/flows filled in."""
    chain = ["Begin"] + (["Before"] if before_rule else []) + ["Rate"] + (["After"] if after_rule else []) + ["Finish"]
    flows = "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />'
                    for a, b in zip(chain, chain[1:]))
    refs = "".join(f"<bpmn:flowNodeRef>{e}</bpmn:flowNodeRef>" for e in chain)
    start_form = (f"<bpmn:extensionElements><camunda:formData>{start_fields}</camunda:formData>"
                  "</bpmn:extensionElements>") if start_fields else ""
    rule = (f'<bpmn:callActivity id="Rate" name="Rate" calledElement="{calls}" />' if calls else
            '<bpmn:businessRuleTask id="Rate" name="Rate" camunda:decisionRef="rate" />')
    return f.definitions(f"""<bpmn:process id="rating" name="Rating" isExecutable="true">
      <bpmn:laneSet id="LS"><bpmn:lane id="L" name="Sales">{refs}</bpmn:lane></bpmn:laneSet>
      <bpmn:startEvent id="Begin">{start_form}</bpmn:startEvent>
      {before_rule.replace("ID", "Before")}{rule}{after_rule.replace("ID", "After")}<bpmn:endEvent id="Finish" />
      {flows}</bpmn:process>""", "rating")


def _form_task(field: str) -> str:
    return (f'<bpmn:userTask id="ID" name="Enter"><bpmn:extensionElements><camunda:formData>'
            f'<camunda:formField id="{field}" label="{field}" type="long" /></camunda:formData>'
            "</bpmn:extensionElements></bpmn:userTask>")


AMOUNT_FIELD = '<camunda:formField id="amount" label="Amount" type="long" />'
SETS_AMOUNT = {
    "the start form": {"start_fields": AMOUNT_FIELD},
    "a user task before": {"before_rule": _form_task("amount")},
    "a script before": {"before_rule": '<bpmn:scriptTask id="ID" name="Compute" scriptFormat="python">'
                                      "<bpmn:script>amount = 150</bpmn:script></bpmn:scriptTask>"},
}


@pytest.mark.parametrize("pieces", list(SETS_AMOUNT.values()), ids=list(SETS_AMOUNT))
def test_a_table_deploys_where_the_process_has_what_it_reads(sg, pieces):
    results = deploy(sg, f.files(("rating.bpmn", _process(**pieces)), ("rate.dmn", AMOUNT_TABLE)), actor="cli:test")
    assert {r["id"] for r in results} == {"rating", "rate"}


CUSTOMER_FIELD = '<camunda:formField id="customer" label="Customer" type="string" />'


@pytest.mark.parametrize("pieces", [{}, {"after_rule": _form_task("amount")}, {"before_rule": _form_task("amt")}],
                         ids=["nothing sets it", "set only after the decision", "another field"])
def test_a_table_reading_what_the_process_cannot_have_yet_is_refused(sg, pieces):
    # A start form says what a deal starts with (it refuses anything else), so nothing brings `amount`.
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, f.files(("rating.bpmn", _process(start_fields=CUSTOMER_FIELD, **pieces)), ("rate.dmn", AMOUNT_TABLE)),
               actor="cli:test")
    assert any("input column 'Amount' reads `amount`, which process 'rating' at Rate (Rate) cannot have"
               in p.reason for p in info.value.problems), info.value.problems


def test_without_a_start_form_what_a_table_reads_may_come_with_the_start_and_deploy_warns(sg):
    results = deploy(sg, f.files(("rating.bpmn", _process()), ("rate.dmn", AMOUNT_TABLE)), actor="cli:test")
    [warning] = [r for r in results if r["kind"] == "warning"]
    assert warning["reason"].startswith("input column 'Amount' reads `amount`, which process 'rating' at Rate (Rate) "
                                        "cannot have when it decides")
    assert warning["reason"].endswith("unless it is sent as a variable when the deal starts or a task without a "
                                      "form is completed (API data, or `stagegate start/complete --var`), the "
                                      "decision fails there")


def test_a_service_tasks_outputs_can_be_read(sg):
    table = f.table("rate", [("R", ["> 100"], ['"big"'])], inputs=[("Net", "net_price", "number")])
    before = ('<bpmn:serviceTask id="ID" name="Net" camunda:type="external" camunda:topic="pricing.net_price" />')
    start = AMOUNT_FIELD.replace("amount", "list_price")
    assert deploy(sg, f.files(("rating.bpmn", _process(before_rule=before, start_fields=start)),
                              ("rate.dmn", table)), actor="cli:test")


def test_a_called_process_decides_on_what_its_caller_has(sg):
    child = f.deciding_process("child", "rate", {"other": "long"})
    parent = _process(start_fields=AMOUNT_FIELD, calls="child")
    assert deploy(sg, f.files(("rating.bpmn", parent), ("child.bpmn", child), ("rate.dmn", AMOUNT_TABLE)),
                  actor="cli:test")
    # alone, the called process has no amount: started by itself, only as a variable sent with the start
    alone = deploy(sg, f.files(("lonely.bpmn", f.deciding_process("lonely", "rate", {"other": "long"}))),
                   actor="cli:test")
    assert [r["element_id"] for r in alone if r["kind"] == "warning"] == ["Task_Decide"]


def test_a_deployed_table_is_checked_against_a_new_process_that_uses_it(sg):
    deploy(sg, f.files(("rating.bpmn", _process(start_fields=AMOUNT_FIELD)), ("rate.dmn", AMOUNT_TABLE)),
           actor="cli:test")
    other = f.deciding_process("other", "rate", {"total": "long"}).replace(
        '<bpmn:startEvent id="Start_other" />', '<bpmn:startEvent id="Start_other"><bpmn:extensionElements>'
        f'<camunda:formData>{CUSTOMER_FIELD}</camunda:formData></bpmn:extensionElements></bpmn:startEvent>')
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, f.files(("other.bpmn", other)), actor="cli:test")
    [problem] = info.value.problems
    assert (problem.file, problem.element_id) == ("other.bpmn", "Task_Decide")
    assert "decision 'rate' (deployed): input column 'Amount' reads `amount`" in problem.reason


def test_a_table_nobody_uses_may_read_its_columns_and_helpers_only(sg):
    fine = f.table("rate", [("R", ["> clamp(amount, 0, 10)"], ['"big " + str(amount)'])])
    assert deploy(sg, f.files(("rate.dmn", fine)), actor="cli:test")
    wrong = f.table("rate2", [("R", ["> limit"], ['"big"'])])
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, f.files(("rate2.dmn", wrong)), actor="cli:test")
    assert "reads `limit`, which is not read by any input column and not a helper" in info.value.problems[0].reason

