"""Every hit policy decides at run time as DMN 1.3 (and Camunda 7) define it, through the engine.

Each table sits in a small process: 'Enter data' sets the inputs, the business rule task decides
when it completes, 'Review' shows the result. Every step runs on a fresh runtime, so the state
and the version's spec go through the serializer and the database between steps.
"""
from __future__ import annotations

import pytest

from engine.services.deployment import deploy
from engine.errors import InvalidDiagram, StepFailed
from tests import diagram_factory as f
from tests.conftest import SHARED
from tests.drive import Driver

CAMUNDA_APPROVERS = SHARED / "corpus" / "camunda" / "platform-webapps-assign-approver-groups.dmn"


@pytest.fixture
def driver(make_sg, staff):
    staff({"sam": ["Sales"]})
    return Driver(make_sg)


def decide(driver, dmn: str | bytes, data: dict, fields: dict | None = None, did: str = "d") -> tuple[dict, dict]:
    """Deploy the table in the harness process, enter `data`; the deal's data at Review and the decision event."""
    fields = fields or {k: ("long" if isinstance(v, int) else "string") for k, v in data.items()}
    dmn = dmn.encode() if isinstance(dmn, str) else dmn
    deploy(driver.sg, [("harness.bpmn", f.deciding_process("harness", did, fields).encode()), ("table.dmn", dmn)],
           actor="cli:test")
    iid = driver.start(process_id="harness")["id"]
    driver.work(iid, "Task_Enter", "sam", **data)
    assert set(driver.ready(iid)) == {"Task_Review"}
    event = [e for e in driver.history(iid) if e["kind"] == "decision_evaluated"][-1]
    return driver.show(iid)["data"], event


def refused_step(driver, dmn: str, data: dict) -> StepFailed:
    fields = {k: ("long" if isinstance(v, int) else "string") for k, v in data.items()}
    deploy(driver.sg, f.files(("harness.bpmn", f.deciding_process("harness", "d", fields)), ("table.dmn", dmn)),
           actor="cli:test")
    iid = driver.start(process_id="harness")["id"]
    with pytest.raises(StepFailed) as info:
        driver.work(iid, "Task_Enter", "sam", **data)
    assert set(driver.ready(iid)) == {"Task_Enter"}, "the failed step is rolled back"
    assert [i["element_id"] for i in driver.show(iid)["open_incidents"]] == ["Task_Decide"]
    return info.value


AMOUNTS = [("R_small", ["< 100"], ['"small"']), ("R_mid", ["? < 1000"], ['"mid"']), ("R_any", ["-"], ['"any"'])]


# Camunda's own RULE ORDER table, unchanged (two of its input entries have no id), run as Camunda runs it.
@pytest.mark.parametrize("amount, category, expected, rows", [
    (600, "Travel Expenses", ["sales", "management"], [2, 3]),
    (400, "Travel Expenses", ["accounting", "sales"], [1, 2]),
    (300, "Misc", ["accounting"], [1]),
    (900, "Travel Expenses", ["management"], [3]),
])
def test_camundas_rule_order_table_gives_what_camunda_gives(driver, amount, category, expected, rows):
    data, event = decide(driver, CAMUNDA_APPROVERS.read_bytes(), {"amount": amount, "invoiceCategory": category},
                         did="invoice-assign-approver")
    assert data["result"] == expected
    assert event["details"]["hit_policy"] == "RULE ORDER"
    assert [r["row"] for r in event["details"]["matched_rules"]] == rows
    assert event["details"]["outputs"] == {"result": expected}
    assert event["details"]["inputs"] == {"Invoice Amount": amount, "Invoice Category": category}


def test_unique_with_one_match_decides_and_with_two_is_an_incident_naming_both(driver):
    table = f.table("d", AMOUNTS[:2], hit_policy="UNIQUE")
    data, event = decide(driver, table, {"amount": 500})
    assert data["result"] == "mid" and [r["id"] for r in event["details"]["matched_rules"]] == ["R_mid"]
    fresh = Driver(driver.make_sg)
    failure = refused_step(fresh, table, {"amount": 50})
    assert "hit policy UNIQUE" in failure.reason
    assert "rule R_small (row 1) and rule R_mid (row 2) all match" in failure.reason


def test_first_takes_the_first_matching_rule_only(driver):
    data, event = decide(driver, f.table("d", AMOUNTS, hit_policy="FIRST"), {"amount": 50})
    assert data["result"] == "small"
    assert [r["id"] for r in event["details"]["matched_rules"]] == ["R_small"]


def test_priority_takes_the_rule_whose_output_comes_first_in_the_output_values(driver):
    rules = [("R_low", ["-"], ['"low"']), ("R_high", ["> 100"], ['"high"']), ("R_mid", ["> 10"], ['"medium"'])]
    table = f.table("d", rules, hit_policy="PRIORITY", outputs=[("result", "string", '"high","medium","low"')])
    data, event = decide(driver, table, {"amount": 500})
    assert data["result"] == "high" and [r["id"] for r in event["details"]["matched_rules"]] == ["R_high"]


def test_priority_with_rules_giving_the_same_output_takes_the_first_of_them(driver):
    rules = [("R_a", ["-"], ['"low"']), ("R_b", ["> 10"], ['"medium"']), ("R_c", ["> 100"], ['"medium"'])]
    table = f.table("d", rules, hit_policy="PRIORITY", outputs=[("result", "string", '"high","medium","low"')])
    data, event = decide(driver, table, {"amount": 500})
    assert data["result"] == "medium" and [r["id"] for r in event["details"]["matched_rules"]] == ["R_b"]


def test_any_decides_when_every_match_agrees(driver):
    rules = [("R_a", ["> 10"], ['"yes"']), ("R_b", ["> 100"], ['"yes"']), ("R_c", ["< 5"], ['"no"'])]
    data, event = decide(driver, f.table("d", rules, hit_policy="ANY"), {"amount": 500})
    assert data["result"] == "yes" and [r["id"] for r in event["details"]["matched_rules"]] == ["R_a"]


def test_any_with_matches_that_disagree_is_an_incident_naming_them(driver):
    rules = [("R_a", ["> 10"], ['"yes"']), ("R_c", ["< 1000"], ['"no"'])]
    failure = refused_step(driver, f.table("d", rules, hit_policy="ANY"), {"amount": 500})
    assert "hit policy ANY" in failure.reason and "rule R_a (row 1) and rule R_c (row 2)" in failure.reason
    assert "different outputs" in failure.reason


def test_rule_order_lists_every_match_in_rule_order(driver):
    data, event = decide(driver, f.table("d", AMOUNTS, hit_policy="RULE ORDER"), {"amount": 50})
    assert data["result"] == ["small", "mid", "any"]
    assert [r["row"] for r in event["details"]["matched_rules"]] == [1, 2, 3]


def test_output_order_lists_every_match_in_output_values_order(driver):
    rules = [("R_low", ["-"], ['"low"']), ("R_high", ["> 100"], ['"high"']), ("R_mid", ["> 10"], ['"medium"'])]
    table = f.table("d", rules, hit_policy="OUTPUT ORDER", outputs=[("result", "string", '"high","medium","low"')])
    data, event = decide(driver, table, {"amount": 500})
    assert data["result"] == ["high", "medium", "low"]
    assert [r["id"] for r in event["details"]["matched_rules"]] == ["R_high", "R_mid", "R_low"]


def test_collect_with_several_outputs_gives_a_list_per_output(driver):
    rules = [("R_a", ["> 10"], ['"ten"', "10"]), ("R_b", ["> 100"], ['"hundred"', "100"]),
             ("R_c", ["< 5"], ['"five"', "5"])]
    table = f.table("d", rules, hit_policy="COLLECT", outputs=[("label", "string"), ("size", "integer")])
    data, event = decide(driver, table, {"amount": 500})
    assert (data["label"], data["size"]) == (["ten", "hundred"], [10, 100])
    assert event["details"]["outputs"] == {"label": ["ten", "hundred"], "size": [10, 100]}


NUMBERS = [("R_a", ["> 10"], ["10"]), ("R_b", ["> 100"], ["100"]), ("R_c", ["> 1"], ["3"]), ("R_d", ["< 5"], ["1000"])]


@pytest.mark.parametrize("aggregation, amount, expected", [
    ("SUM", 500, 113), ("MIN", 500, 3), ("MAX", 500, 100), ("COUNT", 500, 3), ("COUNT", 0, 1), ("SUM", 3, 1003),
])
def test_collect_aggregations(driver, aggregation, amount, expected):
    table = f.table("d", NUMBERS, hit_policy="COLLECT", aggregation=aggregation, outputs=[("total", "integer")])
    data, event = decide(driver, table, {"amount": amount})
    assert data["total"] == expected
    assert event["details"]["aggregation"] == aggregation


def test_collect_count_of_no_match_is_zero_and_a_sum_of_none_is_empty(driver):
    for aggregation, expected in (("COUNT", 0), ("SUM", None)):
        table = f.table("d", [("R_a", ["> 10"], ["10"])], hit_policy="COLLECT", aggregation=aggregation,
                        outputs=[("total", "integer")])
        data, _ = decide(Driver(driver.make_sg), table, {"amount": 1})
        assert data["total"] == expected


def test_a_single_hit_table_with_no_matching_rule_is_an_incident(driver):
    failure = refused_step(driver, f.table("d", AMOUNTS[:1], hit_policy="FIRST"), {"amount": 500})
    assert "decision 'd' has no rule matching the inputs {'Amount': 500}" in failure.reason


def test_deciding_again_in_a_loop_replaces_the_last_passs_lists(driver):
    deploy(driver.sg, f.files(("harness.bpmn", f.deciding_process("harness", "d", {"amount": "long"}, loop=True)),
                              ("table.dmn", f.table("d", AMOUNTS, hit_policy="RULE ORDER"))), actor="cli:test")
    iid = driver.start(process_id="harness")["id"]
    driver.work(iid, "Task_Enter", "sam", amount=50)
    assert driver.show(iid)["data"]["result"] == ["small", "mid", "any"]
    driver.work(iid, "Task_Review", "sam", reviewed=False)
    driver.work(iid, "Task_Enter", "sam", amount=5000)
    assert driver.show(iid)["data"]["result"] == ["any"]


@pytest.mark.parametrize("change, reason", [
    ({"hit_policy": "FIRSTMATCH"}, "hit policy 'FIRSTMATCH' is not one the engine knows"),
    ({"hit_policy": "PRIORITY"}, "no output column lists its output values"),
    ({"hit_policy": "OUTPUT ORDER"}, "no output column lists its output values"),
    ({"hit_policy": "FIRST", "aggregation": "SUM"}, "aggregation SUM only goes with hit policy COLLECT"),
    ({"hit_policy": "COLLECT", "aggregation": "AVG"}, "aggregation 'AVG' is not one the engine knows"),
    ({"hit_policy": "COLLECT", "aggregation": "SUM", "outputs": [("a", "integer"), ("b", "integer")]},
     "COLLECT SUM aggregates one output, but the table has 2 output columns"),
    ({"hit_policy": "COLLECT", "aggregation": "MAX", "outputs": [("a", "string")]}, "COLLECT MAX needs numbers"),
])
def test_what_the_engine_does_not_implement_is_refused_at_deploy(sg, change, reason):
    change = dict(change)  # the parameters are shared by the SQLite and PostgreSQL runs
    outputs = change.pop("outputs", [("result", "integer")])
    rules = [("R_a", ["> 10"], ["1"] * len(outputs))]
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, f.files(("harness.bpmn", f.deciding_process("harness", "d", {"amount": "long"})),
                           ("table.dmn", f.table("d", rules, outputs=outputs, **change))), actor="cli:test")
    assert any(reason in p.reason for p in info.value.problems), [p.reason for p in info.value.problems]
