"""What-if replays of a draft decision table on the demo history, checked against re-running
the qualification criteria by hand; and refusals of drafts that cannot be read."""
from __future__ import annotations

import pytest

from engine.queries import records as queries
from stagegate.compose import bootstrap
from engine.errors import InvalidDiagram
from workflows.metrics import what_if
from tests.conftest import DIAGRAMS

SERVED = {"automotive", "aerospace", "medical", "energy"}
DEPLOYED = (DIAGRAMS / "qualification.dmn").read_bytes()


def raise_floor(floor: int) -> bytes:
    """The deployed table with the revenue floor moved from $50MM to `floor`."""
    return DEPLOYED.replace(b"&lt; 50<", b"&lt; %d<" % floor).replace(b"&gt;= 50<", b"&gt;= %d<" % floor)


def accept_unconfirmed_budget() -> bytes:
    """The deployed table with the budget rule turned from a kill into a pass."""
    rule = DEPLOYED.index(b'id="LiteralExpression_BudgetNotConfirmed_Qualified"')
    end = DEPLOYED.index(b"</text>", rule)
    start = DEPLOYED.index(b"<text>", rule)
    return DEPLOYED[:start] + b"<text>True" + DEPLOYED[end:]


def by_hand(data: dict, floor: int = 50, budget_required: bool = True) -> str:
    """The qualification gate's outcome, worked out without the engine."""
    ok = data["annual_revenue_musd"] >= floor and data["industry"] in SERVED
    return "go" if ok and (data["budget_confirmed"] or not budget_required) else "kill"


@pytest.fixture
def demo(demo_database):
    """The demo history (SQLite; loading it on PostgreSQL too would double the suite's longest setup,
    and the replay's queries run on both backends in the tests below)."""
    sg = bootstrap(f"sqlite:///{demo_database}")
    yield sg
    sg.dispose()


def _expected(sg, **criteria) -> dict[int, tuple[str, str, str]]:
    """Deal id -> (recorded outcome, outcome by hand, what the deal went on to), for changed deals."""
    out = {}
    for g in queries.gate_decisions(sg, limit=10000):
        if g["gate"] != "qualification":
            continue
        inst = queries.instance(sg, g["instance_id"])
        start = queries.history(sg, g["instance_id"])[0]
        assert start["kind"] == "instance_started"
        again = by_hand(start["details"]["data"], **criteria)
        fate = ("open" if inst["status"] == "running" else
                inst["data"].get("outcome") if inst["data"].get("outcome") in ("won", "lost") else "killed")
        if again != g["outcome"]:
            out[g["instance_id"]] = (g["outcome"], again, fate)
    return out


def test_replays_on_the_demo_match_the_criteria_rerun_by_hand(demo):
    sg = demo
    passes = len([g for g in queries.gate_decisions(sg, limit=10000) if g["gate"] == "qualification"])

    same = what_if(sg, DEPLOYED, "qualification.dmn")["decisions"][0]
    assert (same["decision"], same["gates"], same["replayed"], same["changed"], same["failures"]) == (
        "qualification", ["qualification"], passes, 0, [])

    for draft, criteria in ((raise_floor(300), {"floor": 300}), (accept_unconfirmed_budget(), {"budget_required": False})):
        r = what_if(sg, draft)["decisions"][0]
        expected = _expected(sg, **criteria)
        assert expected, "the demo should hold deals this change affects"
        assert {d["id"]: (d["recorded"], d["replayed"], d["fate"]) for d in r["changed_deals"]} == expected
        assert r["replayed"] == passes and r["changed"] == len(expected) and not r["failures"]
        assert sum(t["count"] for t in r["transitions"]) == len(expected)
    # Raising the floor kills deals that went on (some were won); accepting an unconfirmed budget passes kills.
    floor = what_if(sg, raise_floor(300))["decisions"][0]
    assert {(t["from"], t["to"]) for t in floor["transitions"]} == {("go", "kill")}
    assert {(t["from"], t["to"]) for t in what_if(sg, accept_unconfirmed_budget())["decisions"][0]["transitions"]} \
        == {("kill", "go")}


@pytest.mark.parametrize("content, message", [
    (b"<definitions", "XML syntax error"),
    ((DIAGRAMS / "discount_approval.bpmn").read_bytes(), "not a DMN decision table"),
    (DEPLOYED.replace(b"&lt; 50<", b"&lt; 50 +<"), "does not compile"),
    (DEPLOYED.replace(b"&lt; 50<", b"__import__('os')<"), "Rule_RevenueTooLow"),
])
def test_a_draft_that_cannot_be_read_is_refused_with_where_and_why(sg, catalog, content, message):
    with pytest.raises(InvalidDiagram) as exc:
        what_if(sg, content, "draft.dmn")
    assert message in str(exc.value)
    assert "draft.dmn" in str(exc.value)


def test_a_decision_no_gate_used_replays_nothing(sg, catalog):
    r = what_if(sg, (DIAGRAMS / "pricing.dmn").read_bytes(), "pricing.dmn")["decisions"][0]
    assert (r["decision"], r["replayed"], r["changed"], r["gates"]) == ("pricing", 0, 0, [])


def test_replay_on_a_small_history(make_sg, sg, catalog):
    from tests.drive import Driver

    drive = Driver(make_sg, clock=sg.clock)
    big, mid, small = (drive.start(annual_revenue_musd=m)["id"] for m in (120, 70, 30))
    r = what_if(sg, raise_floor(100))["decisions"][0]
    assert [(d["id"], d["recorded"], d["replayed"], d["fate"]) for d in r["changed_deals"]] == [(mid, "go", "kill", "open")]
    assert r["changed_deals"][0]["inputs"] == {"Annual revenue ($MM)": 70, "Industry": "energy", "Budget confirmed": True}
    lower = what_if(sg, raise_floor(20))["decisions"][0]
    assert [(d["id"], d["recorded"], d["replayed"], d["fate"]) for d in lower["changed_deals"]] == [
        (small, "kill", "go", "killed")]
    assert (lower["replayed"], lower["unchanged"]) == (3, 2) and big not in {d["id"] for d in lower["changed_deals"]}
