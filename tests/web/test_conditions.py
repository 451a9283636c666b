"""Conditions from diagrams said in plain language, and as rules the browser checks."""
from __future__ import annotations

import pytest

from web.conditions import describe, rule

FIELDS = {"discovery_decision": {"id": "discovery_decision", "label": "Decision", "type": "enum",
                                 "options": [{"id": "hold", "name": "Hold"}, {"id": "kill", "name": "Kill"}]},
          "outcome": {"id": "outcome", "label": "Outcome", "type": "enum",
                      "options": [{"id": "won", "name": "Won"}, {"id": "lost", "name": "Lost"}]},
          "approved": {"id": "approved", "label": "Approved", "type": "boolean"},
          "deal_value": {"id": "deal_value", "label": "Deal value", "type": "long"}}


@pytest.mark.parametrize("expression, words", [
    ("discovery_decision == 'hold'", "Decision is Hold"),
    ("outcome != 'won'", "Outcome is not Won"),
    ("outcome in ('won', 'lost')", "Outcome is one of Won, Lost"),
    ("approved == False", "Approved is not set or is no"),
    ("approved and deal_value > 1000000", "Approved is yes and Deal value is more than 1,000,000"),
    ("${outcome == 'lost' || discovery_decision == 'kill'}", "Outcome is Lost or Decision is Kill"),
    ("unknown_key >= 3", "Unknown key is at least 3"),
    # JUEL as the engine runs it (translated: the comparison coerces as JUEL's does)
    ("juel_compare(outcome, '==', 'lost') or juel_compare(deal_value, '>', 1000)",
     "Outcome is Lost or Deal value is more than 1,000"),
])
def test_simple_conditions_read_as_plain_language(expression, words):
    assert describe(expression, FIELDS) == words


@pytest.mark.parametrize("expression", ["len(notes) > 3", "a == b", "x.y == 1", "__import__('os')", "", "x ==",
                                        "a < b < c", "x == " + "1+" * 400 + "1"])
def test_anything_else_is_not_summarised(expression):
    assert rule(expression) is None and describe(expression, FIELDS) is None


def test_the_rule_for_the_browser():
    assert rule("discovery_decision == 'hold' or not approved") == {"op": "or", "parts": [
        {"op": "eq", "field": "discovery_decision", "value": "hold"},
        {"op": "not", "parts": [{"op": "truthy", "field": "approved"}]}]}
