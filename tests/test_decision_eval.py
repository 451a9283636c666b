"""The decision-table evaluator as a unit: cells read into tests, tables decided through the
evaluate function they are given (the sandbox's), each input expression once."""
from __future__ import annotations

import pytest
from lxml import etree

from engine import sandbox
from engine.bpmn.dmn.evaluate import DecisionFailed, decide
from engine.bpmn.dmn.model import dmn_decisions
from engine.bpmn.dmn.unary_tests import CellRefused, parse, to_python
from tests import diagram_factory as f
from tests.conftest import DIAGRAMS


def table_of(xml: str | bytes) -> dict:
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    return dmn_decisions(root, "t.dmn")[0]["table"]


class Recorder:
    """The sandbox's evaluate, remembering every expression it was asked for."""

    def __init__(self):
        self.asked: list[str] = []

    def __call__(self, expression, context):
        self.asked.append(expression)
        return sandbox.evaluate(expression, context, {})


@pytest.mark.parametrize("text, test", [
    ("", {"kind": "any"}),
    ("-", {"kind": "any"}),
    ("< 50", {"kind": "comparison", "op": "<", "operand": "50"}),
    ("? >= limit * 2", {"kind": "comparison", "op": ">=", "operand": "limit * 2"}),
    ("50 > ?", {"kind": "comparison", "op": "<", "operand": "50"}),
    ("'gold'", {"kind": "comparison", "op": "==", "operand": "'gold'"}),
    ("10 <= ? < 20", {"kind": "range", "low": "10", "high": "20", "low_closed": True, "high_closed": False}),
    ("? not in ['a', 'b']", {"kind": "list", "negated": True, "items": [
        {"kind": "comparison", "op": "==", "operand": "'a'", "dialect": "python"},
        {"kind": "comparison", "op": "==", "operand": "'b'", "dialect": "python"}]}),
    ("? > 50 and ? <= 100", {"kind": "expression", "expression": "cellInput > 50 and cellInput <= 100"}),
    ("'what?' == ?", {"kind": "comparison", "op": "==", "operand": "'what?'"}),
])
def test_python_cells_read_as_tests(text, test):
    assert parse(text) == {**test, "dialect": "python"}


@pytest.mark.parametrize("text, said", [
    ("<< 50", "`<< 50` reads as `? << 50`, which computes a value"),
    ('"budget", "exceptional"', 'write `? in ["budget", "exceptional"]`'),
    ("[250..1000]", "write `250 <= ? <= 1000`"),
    ("]0..10[", "write `0 < ? < 10`"),
    ("[1..5[", "write `1 <= ? < 5`"),
    ('not("x")', 'write `? != "x"`'),
    ('not("a", "b")', 'write `? not in ["a", "b"]`'),
    ("null", "write `? is None`"),
    ("true", "write `True`"),
    ("< 10, > 20", "write `? < 10 or ? > 20`"),
    ("in [1, 2]", "write it as `? in [1, 2]`"),
    ("['a', 'b']", "write `? in ['a', 'b']`"),
    ("amount > 500", "compares the column with the truth of `amount > 500`"),
    ("? + 1", "is not a test"),
    ("< 5 +", "does not compile"),
])
def test_cells_that_mean_something_else_are_refused_with_what_to_write(text, said):
    with pytest.raises(CellRefused) as info:
        parse(text)
    assert said in str(info.value)


@pytest.mark.parametrize("suggested", ['? in ["budget", "exceptional"]', "250 <= ? <= 1000", "0 < ? < 10",
                                       '? != "x"', "? is None", "? < 10 or ? > 20"])
def test_what_a_refusal_suggests_is_read_back_as_a_test(suggested):
    assert to_python(parse(suggested)) == suggested


@pytest.mark.parametrize("value, cell, hit", [
    (30, "< 50", True), (50, "< 50", False), (50, "50", True), (7, "5 <= ? <= 10", True), (10, "5 <= ? < 10", False),
    ("energy", "? in ['energy', 'medical']", True), ("retail", "? not in ['energy']", True),
    (None, "? is None", True), (12, "? % 2 == 0", True), (5, "-", True),
])
def test_a_cell_matches_its_columns_value(value, cell, hit):
    xml = f.table("t", [("R", [cell], ['"hit"'])], inputs=[("X", "x", "any")], hit_policy="COLLECT")
    assert decide(table_of(xml), {"x": value}, Recorder())["outputs"]["result"] == (["hit"] if hit else [])


def test_each_input_expression_is_evaluated_once_and_everything_through_evaluate():
    table = table_of((DIAGRAMS / "qualification.dmn").read_bytes())
    evaluate = Recorder()
    result = decide(table, {"annual_revenue_musd": 120, "industry": "energy", "budget_confirmed": True}, evaluate)
    assert result["outputs"] == {"qualified": True, "qualification_reason": "meets all must-meet criteria"}
    assert [r["id"] for r in result["rules"]] == ["Rule_Qualified"]
    for column in ("annual_revenue_musd", "industry", "budget_confirmed"):
        assert evaluate.asked.count(column) == 1, evaluate.asked
    # operands and the matching rule's outputs also went through evaluate, no other rule's outputs
    assert "50" in evaluate.asked and '"meets all must-meet criteria"' in evaluate.asked
    assert '"budget not confirmed"' not in evaluate.asked


def test_the_catalog_tables_decide_as_their_rules_say():
    table = table_of((DIAGRAMS / "qualification.dmn").read_bytes())
    cases = [((30, "energy", True), "annual revenue $30MM is below $50MM"),
             ((80, "retail", True), "industry retail is not one we serve"),
             ((80, "energy", False), "budget not confirmed"),
             ((80, "medical", True), "meets all must-meet criteria")]
    for (revenue, industry, budget), reason in cases:
        data = {"annual_revenue_musd": revenue, "industry": industry, "budget_confirmed": budget}
        assert decide(table, data, Recorder())["outputs"]["qualification_reason"] == reason
    pricing = table_of((DIAGRAMS / "pricing.dmn").read_bytes())
    assert decide(pricing, {"margin_pct": 10, "price": 5}, Recorder())["outputs"]["approval_level"] == "cfo"
    assert decide(pricing, {"margin_pct": 20, "price": 2_000_000}, Recorder())["outputs"]["approval_level"] == "cfo"
    assert decide(pricing, {"margin_pct": 20, "price": 900_000}, Recorder())["outputs"]["approval_level"] == "finance"


@pytest.mark.parametrize("data, said", [
    ({}, "input 'Amount' (`amount`) failed: NameError"),
    ({"amount": "lots"}, "rule R (row 1), column 'Amount', cell `< 5`: cannot compare 'lots' < 5"),
])
def test_a_failing_evaluation_says_where(data, said):
    table = table_of(f.table("t", [("R", ["< 5"], ['"x"'])]))
    with pytest.raises(DecisionFailed) as info:
        decide(table, data, Recorder())
    assert said in str(info.value)


def test_an_output_of_the_wrong_type_fails_at_run_time():
    table = table_of(f.table("t", [("R", ["-"], ["amount * 2"])], outputs=[("result", "string")]))
    with pytest.raises(DecisionFailed) as info:
        decide(table, {"amount": 4}, Recorder())
    assert "output 'Result' `amount * 2` gave 8, which is not a string" in str(info.value)


def test_dotted_output_names_set_a_field_inside_a_field():
    table = table_of(f.table("t", [("R", ["-"], ['"A"'])], outputs=[("item.y", "string")]))
    assert decide(table, {"amount": 1}, Recorder())["outputs"] == {"item": {"y": "A"}}


def test_a_table_is_a_pure_function_of_plain_data():
    """No live objects: a table model survives a JSON round trip and decides the same (so it can be
    stored with a version, or shipped to a worker process with the data)."""
    import json

    table = table_of((DIAGRAMS / "qualification.dmn").read_bytes())
    data = {"annual_revenue_musd": 30, "industry": "energy", "budget_confirmed": True}
    assert decide(json.loads(json.dumps(table)), data, Recorder()) == decide(table, data, Recorder())


def test_each_cell_records_the_language_it_is_written_in():
    xml = f.table("t", [("R1", ["< 5"], ['"a"']), ("R2", ["[1..5]"], ['"b"'])], hit_policy="FIRST")
    xml = xml.replace('<inputEntry id="R2_in0">', '<inputEntry id="R2_in0" expressionLanguage="feel">')
    xml = xml.replace('typeRef="number">', 'typeRef="number" expressionLanguage="juel">')
    table = table_of(xml)
    assert table["inputs"][0]["dialect"] == "juel"  # the input expression's own language only
    assert [r["inputs"][0]["dialect"] for r in table["rules"]] == ["python", "feel"]
    assert parse("[1..5]", "feel")["kind"] == "range"  # read as FEEL, never as Python
    with pytest.raises(CellRefused):
        parse("[1..5]", "python")
    undeclared = table_of(xml.replace(' expressionLanguage="python"', ""))
    assert [r["inputs"][0]["dialect"] for r in undeclared["rules"]] == ["feel", "feel"]  # DMN's default
