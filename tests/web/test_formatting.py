"""How times, ages, values and history events read on the pages."""
import pytest

from web.formatting import age, label, role, value, when
from web.history import decider, describe


@pytest.mark.parametrize("hours, shown", [(0.2, "12 min"), (1, "1 h"), (3.4, "3 h"), (47, "47 h"), (48, "2 d"),
                                          (24 * 9 + 5, "9 d"), (None, "—")])
def test_age(hours, shown):
    assert age(hours) == shown


def test_when_is_utc_to_the_minute():
    assert when("2026-03-01T14:05:09.123456Z") == "2026-03-01 14:05 UTC"
    assert when(None) == "—"


def test_values_read_as_words_and_grouped_numbers():
    assert value(True) == "yes" and value(False) == "no"
    assert value(1250000) == "1,250,000" and value(None) == "—" and value("") == "—"
    assert value("go", {"type": "enum", "options": [{"id": "go", "name": "Go ahead"}]}) == "Go ahead"
    assert role("sales leadership") == "Sales Leadership"
    assert label("decision_maker") == "Decision maker"


@pytest.mark.parametrize("event, shown", [
    ({"kind": "task_completed", "details": {"task_name": "Prepare proposal"}}, "completed Prepare proposal"),
    ({"kind": "gate_decided", "details": {"gate": "discovery", "outcome": "go", "reason": "clear pain",
                                          "decided_by": {"kind": "person", "user": "lena"}}},
     "Discovery gate: go (by lena: 'clear pain')"),
    ({"kind": "decision_evaluated", "details": {"decision": "qualification", "matched_rules": [{"id": "Rule_X"}]}},
     "decision qualification: rule Rule_X"),
    ({"kind": "instance_started", "details": {"data": {}}}, "started the deal"),
    ({"kind": "instance_started", "details": {"timer": {"element_id": "Every", "element_name": "Each morning",
                                                        "text": "0 0 9 * * ?"}}},
     "started the deal (timer start event Each morning: 0 0 9 * * ?)"),
    ({"kind": "timer_fired", "details": {}}, "timer fired"),
    ({"kind": "timer_fired", "details": {"element_name": "3 business days"}}, "timer fired: 3 business days"),
    ({"kind": "instance_ended", "details": {"end_event": "Won"}}, "deal ended: Won"),
    ({"kind": "task_reassigned", "details": {"task_name": "Sign off", "to": "frank"}}, "reassigned Sign off to frank"),
    ({"kind": "incident", "details": {"element_name": "Ratio", "message": "division by zero"}},
     "incident at Ratio: division by zero"),
    ({"kind": "something_new", "details": None}, "something new"),
])
def test_history_lines(event, shown):
    assert describe(event) == shown


def test_who_decided_a_gate():
    assert decider({"decided_by": {"kind": "person", "user": "lena"}}) == "lena"
    assert decider({"decided_by": {"kind": "rule", "decision": "qualification", "rules": ["Rule_A"]}}) == \
        "decision qualification (rule Rule_A)"
    assert decider({}) == "the data"
