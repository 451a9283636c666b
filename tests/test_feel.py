"""FEEL as Camunda Modeler writes it: unary tests and expressions read with the grammar and decided
through the sandbox, giving what Camunda gives; what the engine cannot read is refused, saying so."""
from __future__ import annotations

import pytest

from engine.bpmn.dmn import feel
from engine import sandbox
from engine.bpmn import juel
from engine.bpmn.dmn.evaluate import decide
from engine.bpmn.dmn.dialects import evaluate_in, source
from engine.bpmn.dmn.unary_tests import CellRefused, parse
from tests import diagram_factory as f
from tests.test_decision_eval import table_of


def evaluate(expression, context):
    # With JUEL's helpers in scope, as the engine's script engine evaluates every cell
    return sandbox.evaluate(expression, context, juel.HELPERS)


def value_of(text: str, **data):
    return evaluate_in(evaluate, text, "feel", data)


def matches(cell: str, value, type_ref: str = "number", **data) -> bool:
    table = table_of(f.table("t", [("R1", [cell], ['"hit"'])], inputs=(("X", "x", type_ref),), language="feel"))
    return decide(table, {"x": value, **data}, evaluate)["outputs"].get("result") == "hit"


@pytest.mark.parametrize("cell, value, hit", [
    ("< 250", 249.99, True), ("< 250", 250, False), ("<= 250", 250, True), ("> 1000", 1000.5, True),
    ("[250..1000]", 250, True), ("[250..1000]", 1000, True), ("[250..1000]", 1000.01, False),
    ("]0..10[", 0, False), ("]0..10[", 5, True), ("]0..10[", 10, False), ("(0..10]", 10, True),
    ("[0..10)", 10, False), (">= -3", -3, True), ("= 5", 5, True), ("!= 5", 5, False),
    ("-", None, True), ("", "anything", True), ("null", None, True), ("null", 0, False),
    ("not(null)", 0, True), ("< 250", None, False), ("[1..5]", None, False),
    ("? > 3 and ? < limit", 4, True), ("? > 3 and ? < limit", 9, False), ("? > 3", None, False),
    ("5, 7, 9", 7, True), ("5, 7, 9", 8, False), ("not(5, 7)", 6, True), ("not(5, 7)", 7, False),
    ("limit", 8, True), ("< limit * 2", 15, True), ("x > 5", 6, True), ("x > 5", 5, False),
    ("[4, 6, 8]", 6, True), ("[4, 6, 8]", 7, False),
])
def test_a_feel_unary_test_matches_as_camunda_matches(cell, value, hit):
    assert matches(cell, value, limit=8) is hit


@pytest.mark.parametrize("cell, value, hit", [
    ('"Misc"', "Misc", True), ('"Misc"', "misc", False), ('"budget", "exceptional"', "budget", True),
    ('"budget", "exceptional"', "day-to-day expense", False), ('not("x")', "y", True), ('not("x")', "x", False),
    ('not("a", "b")', "c", True), ('"say \\"hi\\""', 'say "hi"', True), ("< 5", "text", False),
])
def test_text_cells(cell, value, hit):
    assert matches(cell, value, "string") is hit


@pytest.mark.parametrize("cell, value, hit", [("true", True, True), ("true", False, False), ("false", False, True),
                                              ("not(true)", False, True), ("-", False, True)])
def test_boolean_cells(cell, value, hit):
    assert matches(cell, value, "boolean") is hit


@pytest.mark.parametrize("cell, value, hit", [
    ('date("2026-01-01")', "2026-01-01", True), ('< date("2026-01-01")', "2025-12-31", True),
    ('[date("2026-01-01")..date("2026-03-31")]', "2026-02-15", True),
    ('[date("2026-01-01")..date("2026-03-31")]', "2026-04-01", False),
])
def test_date_cells_compare_the_iso_dates_forms_store(cell, value, hit):
    assert matches(cell, value, "date") is hit


@pytest.mark.parametrize("text, data, value", [
    ("amount * 2 + 1", {"amount": 10}, 21), ("10 / 4", {}, 2.5), ("2 ** 10", {}, 1024), ("-(3 - 5)", {}, 2),
    ('if amount > 1000 then "high" else "low"', {"amount": 1001}, "high"),
    ('if amount > 1000 then "high" else "low"', {"amount": None}, "low"),  # null condition: else
    ("invoice.amount >= 100 and invoice.category = \"Misc\"", {"invoice": {"amount": 100, "category": "Misc"}}, True),
    ("invoice.amount", {"invoice": {}}, None), ("invoice.amount", {"invoice": None}, None),  # FEEL: null
    ("a.b.c", {"a": {"b": {"c": 7}}}, 7), ("missing", {}, None),
    ("a or b", {"a": False, "b": True}, True), ("not(a)", {"a": False}, True),
    ("x between 1 and 5", {"x": 5}, True), ("x between 1 and 5", {"x": 6}, False),
    ("string length(name)", {"name": "Acme"}, 4), ('upper case("acme")', {}, "ACME"),
    ('lower case("ACME")', {}, "acme"), ('contains(name, "cm")', {"name": "Acme"}, True),
    ('starts with(name, "Ac")', {"name": "Acme"}, True), ('ends with(name, "me")', {"name": "Acme"}, True),
    ('substring("foobar", 3)', {}, "obar"), ('substring("foobar", 3, 3)', {}, "oba"),
    ('substring("foobar", -2, 1)', {}, "a"), ('substring before("foobar", "bar")', {}, "foo"),
    ('substring after("foobar", "ob")', {}, "ar"), ("abs(-4)", {}, 4), ("floor(1.5)", {}, 1),
    ("floor(-1.5)", {}, -2), ("ceiling(1.2)", {}, 2), ("ceiling(-1.5)", {}, -1), ("decimal(1.125, 2)", {}, 1.12),
    ("modulo(10, 4)", {}, 2), ("min([3, 1, 2])", {}, 1), ("max(3, 1, 2)", {}, 3), ("sum([1, 2, 3])", {}, 6),
    ("count(items)", {"items": [1, 2]}, 2), ("mean([1, 2, 3])", {}, 2), ("list contains([1, 2], 2)", {}, True),
    ("items[1]", {"items": ["a", "b"]}, "a"), ("items[-1]", {"items": ["a", "b"]}, "b"),
    ('date("2026-01-31")', {}, "2026-01-31"), ("date(2026, 1, 31)", {}, "2026-01-31"),
    ('date and time("2026-01-31T09:30:00")', {}, "2026-01-31T09:30:00"), ("null", {}, None),
    ('"a" + "b"', {}, "ab"), ("[1, 2]", {}, [1, 2]),
    ("x in < 5", {"x": 4}, True), ("x in [1..5]", {"x": 5}, True), ("x in ]1..5[", {"x": 5}, False),
    ('x in ("a", "b")', {"x": "b"}, True), ("x in [1, 2, 3]", {"x": 4}, False), ("x in (< 5, > 10)", {"x": 11}, True),
    ("x in < 5", {"x": None}, None),
])
def test_a_feel_expression_gives_what_feel_gives(text, data, value):
    assert value_of(text, **data) == value


@pytest.mark.parametrize("text, said", [
    ('duration("P1D")', "`duration(...)`, which is not a FEEL function the engine knows"),
    ("items[x > 1]", "filters a list by a condition"),
    ("items[0]", "FEEL lists start at 1"),
    ("for x in items return x", "is not FEEL the engine reads"),
    ("{a: 1}", "is not FEEL the engine reads"),
    ('date("2026-02-30")', "is not an ISO date"),
    ("True", "writes `True`, which is Python; in FEEL write `true`"),
    ("__class__", "uses the name `__class__`"),
    ("class + 1", "uses the name `class`, which the engine cannot give as a variable"),
    ("upper case(a, b)", "calls `upper case` with 2 arguments"),
])
def test_what_the_engine_cannot_read_is_refused_saying_what(text, said):
    with pytest.raises(feel.FeelRefused) as refused:
        feel.expression(text)
    assert said in str(refused.value)


def test_python_in_a_feel_cell_says_to_write_feel_or_declare_python():
    with pytest.raises(CellRefused) as refused:
        source("item['x']", "feel")
    assert "cells without an expressionLanguage are FEEL" in str(refused.value)
    assert 'declare expressionLanguage="python"' in str(refused.value)


@pytest.mark.parametrize("text, python", [("amount", "amount"), ("${amount}", "amount"),
                                          ("#{invoice.amount}", "((invoice or {})['amount'] if 'amount' in "
                                                                "(invoice or {}) else None)"), ("'Misc'", "'Misc'")])
def test_trivial_juel_reads_as_the_variable_it_names(text, python):
    assert source(text, "juel") == python


@pytest.mark.parametrize("text, data, value", [
    ("${amount > 5 ? 'a' : 'b'}", {"amount": 6}, "a"), ("${amount > 5 ? 'a' : 'b'}", {"amount": 5}, "b"),
    ("${empty reviewer}", {"reviewer": ""}, True), ("amount * 2", {"amount": 21}, 42),
    ("${category == 'Travel Expenses' && amount lt 250}", {"category": "Travel Expenses", "amount": 100}, True),
])
def test_juel_cells_decide_as_the_juel_translator_reads_them(text, data, value):
    assert evaluate_in(evaluate, text, "juel", data) == value


def test_juel_the_engine_cannot_run_is_refused_in_a_cell_naming_it():
    with pytest.raises(CellRefused) as refused:
        source("${ledger.limitFor(amount)}", "juel")
    assert "is JUEL the engine cannot run: the method call `ledger.limitFor(...)` is not supported" in str(refused.value)


def juel_matches(cell: str, value, **data) -> bool:
    table = table_of(f.table("t", [("R1", [cell], ['"hit"'])], inputs=(("X", "x", "number"),), language="juel"))
    return decide(table, {"x": value, **data}, evaluate)["outputs"].get("result") == "hit"


@pytest.mark.parametrize("cell, value, data, hit", [
    ("${cellInput > 100}", 101, {}, True), ("${cellInput > 100}", 100, {}, False),
    ("#{cellInput le limit}", 5, {"limit": 5}, True), ("${cellInput == '7' || cellInput == 3}", 3, {}, True),  # '7' is read as a number, as JUEL's == does
    ("${limit}", 5, {"limit": 5}, False),  # not a boolean: no match, as Camunda's DMN engine reads it
    ("", 7, {}, True), ("-", 7, {}, True),
])
def test_a_juel_input_entry_is_a_boolean_over_cell_input(cell, value, data, hit):
    assert juel_matches(cell, value, **data) is hit


def test_a_juel_input_entry_the_engine_cannot_run_is_refused():
    with pytest.raises(CellRefused) as refused:
        parse("${S(cellInput).prop('a')}", "juel")
    assert "is JUEL the engine cannot run: `S(...)` is Camunda Spin" in str(refused.value)


def test_translations_are_only_what_the_sandbox_accepts():
    """A FEEL expression never becomes code the sandbox's static check refuses, whatever its names."""
    for text in ["a.b.c", 'upper case(x)', "if a then b else c", "xs[2]", "sum(xs)", "x ** 3"]:
        sandbox.check(feel.expression(text))


def test_camundas_input_variable_names_the_columns_value_in_its_cells():
    xml = f.table("t", [("R1", ["amount > 100 and amount < limit"], ['"mid"'])], language="feel")
    xml = xml.replace('label="Amount">', 'label="Amount" xmlns:camunda="http://camunda.org/schema/1.0/dmn" '
                      'camunda:inputVariable="amount">').replace("<text>amount</text>", "<text>order.total</text>")
    table = table_of(xml)
    assert decide(table, {"order": {"total": 150}, "limit": 200}, evaluate)["outputs"] == {"result": "mid"}
