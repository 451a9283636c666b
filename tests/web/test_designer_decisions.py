"""The designer's decision tables: a mistyped cell is a problem on that cell (not "Problems (none)"),
and deploying a changed table first tells what its what-if replay finds."""
from __future__ import annotations

import pytest

from engine.services.instances import start_instance
from tests.conftest import DIAGRAMS, SHARED
from tests.drive import GOOD_PROSPECT
from tests.snapshot import stored

from .test_designer import post_json

QUALIFICATION = (DIAGRAMS / "qualification.dmn").read_text()


def floor(value: int) -> str:
    return QUALIFICATION.replace("&lt; 50<", f"&lt; {value}<").replace("&gt;= 50<", f"&gt;= {value}<")


@pytest.mark.parametrize("old, new, rule, column, said", [
    ("&lt; 50<", "&lt;&lt; 50<", "Rule_RevenueTooLow", "Input_AnnualRevenue", "`<< 50` is not a comparison"),
    ("&lt; 50<", "&lt; fifty<", "Rule_RevenueTooLow", "Input_AnnualRevenue", "reads `fifty`"),
    ("<text>? in ['automotive', 'aerospace', 'medical', 'energy']</text>", '<text>"energy", "medical"</text>',
     "Rule_BudgetNotConfirmed", "Input_Industry", 'write `? in ["energy", "medical"]`'),
    ('<text>"budget not confirmed"</text>', "<text>False</text>", "Rule_BudgetNotConfirmed",
     "Output_QualificationReason", "is a boolean, but the column's type is string"),
])
def test_validation_puts_a_mistyped_cell_on_its_rule_and_column(sign_in, old, new, rule, column, said):
    b = sign_in("dora")
    assert post_json(b, "/designer/validate", {"kind": "dmn", "xml": QUALIFICATION}).json == {"ok": True, "problems": []}
    r = post_json(b, "/designer/validate", {"kind": "dmn", "xml": QUALIFICATION.replace(old, new, 1)})
    assert r.json["ok"] is False
    [problem] = r.json["problems"]
    assert problem["severity"] == "error" and problem["element_id"] == "qualification"
    assert problem["cell"]["rule"] == rule and problem["cell"]["column"] == column
    assert said in problem["reason"] and f"rule {rule} (row " in problem["reason"]


INVOICE = (SHARED / "corpus" / "camunda" / "platform-invoiceBusinessDecisions.dmn").read_text()


@pytest.mark.parametrize("old, new, rule, column, said", [
    ("<text>[250..1000]</text>", "<text>[250..1000</text>", "DecisionRule_1ak4z14", "clause1",
     "`[250..1000` is not FEEL the engine reads"),
    ('<text>"budget", "exceptional"</text>', "<text>? in ['budget']</text>", "row-49839158-5",
     "InputClause_0og2hn3", "is not FEEL the engine reads"),
    ("<text>&lt; 250</text>", "<text>&lt; limit</text>", "DecisionRule_1of5a87", "clause1", "reads `limit`"),
])
def test_a_feel_table_is_checked_cell_by_cell_in_the_designer(sign_in, old, new, rule, column, said):
    """Camunda's invoice decisions, as Camunda Modeler wrote them, validate clean; a broken FEEL cell is
    put on its rule and column."""
    b = sign_in("dora")
    assert post_json(b, "/designer/validate", {"kind": "dmn", "xml": INVOICE}).json == {"ok": True, "problems": []}
    r = post_json(b, "/designer/validate", {"kind": "dmn", "xml": INVOICE.replace(old, new, 1)})
    [problem] = r.json["problems"]
    assert problem["cell"]["rule"] == rule and problem["cell"]["column"] == column
    assert said in problem["reason"], problem["reason"]


@pytest.fixture
def history(sg):
    """Three deals qualified by the deployed table: $30MM and $45MM killed, $120MM passed."""
    for revenue in (30, 45, 120):
        start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "annual_revenue_musd": revenue})


@pytest.mark.parametrize("new_floor, summary", [
    (40, "This changes 1 past kill decision to go (of 3 replayed)."),
    (150, "This changes 1 past go decision to kill (of 3 replayed)."),
    (20, "This changes 2 past kill decisions to go (of 3 replayed)."),
    (35, "This changes 1 past kill decision to go (of 3 replayed)."),
])
def test_before_a_changed_table_deploys_the_designer_sees_its_what_if(sign_in, sg, history, new_floor, summary):
    b = sign_in("dora")
    before = stored(sg)
    r = post_json(b, "/designer/deploy/preview", {"kind": "dmn", "xml": floor(new_floor)})
    assert r.status_code == 200, r.json
    assert (r.json["changed"], r.json["version"], r.json["summary"]) == (True, 1, summary)
    assert stored(sg) == before, "the preview changes nothing"


def test_an_unchanged_table_needs_no_confirmation_and_a_broken_one_gets_its_problems(sign_in, history):
    b = sign_in("dora")
    same = post_json(b, "/designer/deploy/preview", {"kind": "dmn", "xml": QUALIFICATION}).json
    assert same["changed"] is False and "already has this content" in same["summary"]
    broken = post_json(b, "/designer/deploy/preview", {"kind": "dmn", "xml": floor(50).replace("&lt; 50<", "&lt;&lt; 50<")})
    assert broken.status_code == 422 and "`<< 50`" in broken.json["problems"][0]["reason"]


def test_only_designers_may_preview_a_deploy(sign_in, history):
    for user in ("sam", "lena", "ada"):
        assert post_json(sign_in(user), "/designer/deploy/preview", {"kind": "dmn", "xml": floor(40)}).status_code == 403


def test_the_json_deploy_itself_is_not_held_for_confirmation(sign_in, history):
    r = post_json(sign_in("dora"), "/designer/deploy", {"kind": "dmn", "xml": floor(40), "comment": "$40MM floor"})
    assert r.status_code == 200 and {"kind": "decision", "id": "qualification", "version": 2, "changed": True} \
        in r.json["results"]
