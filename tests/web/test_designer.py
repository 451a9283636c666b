"""The process designer's routes: who may do what, validation by element, drafts, deploy with a
comment, versions, diff, import and export; every refusal leaves the database as it was."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

from sqlalchemy import func, select

from engine.queries import records as queries
from engine.services.deployment import collect_files, deploy
from engine.store.models import Draft
from tests.conftest import DIAGRAMS
from tests.test_miwg import CORPUS
from tests.snapshot import stored
from tests.test_xml_safety import ATTACKS

from .conftest import text

OPPORTUNITY = (DIAGRAMS / "opportunity.bpmn").read_bytes()
QUALIFICATION = (DIAGRAMS / "qualification.dmn").read_bytes()
# A MIWG file the engine cannot run (a send task); STAGEGATE_MIWG_CORPUS points elsewhere when
# shared/ is not beside the checkout (a worktree).
MIWG_FILE = Path(os.environ.get("STAGEGATE_MIWG_CORPUS") or CORPUS) / "C.8.1.bpmn"
RENAMED = OPPORTUNITY.replace(b'id="Task_Discovery" name="Discovery"', b'id="Task_Discovery" name="Discovery call"')
BROKEN_CONDITION = OPPORTUNITY.replace(b"discovery_decision == 'kill'", b"discovery_decision == ")


def post_json(b, path, body):
    """POST JSON as the editor does: the page's CSRF token in the X-CSRFToken header."""
    return b.client.post(path, json=body, headers={"X-CSRFToken": b.token("/")})


def drafts(sg) -> int:
    with sg.uow(write=False) as uow:
        return uow.session.execute(select(func.count()).select_from(Draft)).scalar_one()


def everything(sg) -> dict:
    return {**stored(sg), "drafts": drafts(sg)}


def test_only_designers_may_see_save_or_deploy(sign_in, sg):
    for user in ("sam", "lena", "carl"):
        b = sign_in(user)
        before = everything(sg)
        for path in ("/designer/", "/designer/processes/opportunity/edit", "/designer/decisions/qualification/edit",
                     "/designer/new", "/designer/template.bpmn", "/designer/bpmn/opportunity/versions/1",
                     "/designer/processes/opportunity/diff?base=1&head=1"):
            r = b.get(path)
            assert r.status_code == 403, (user, path)
            assert "Discovery gate" not in r.get_data(as_text=True), path
        for path, body in (("/designer/validate", {"xml": RENAMED.decode()}),
                           ("/designer/drafts", {"xml": RENAMED.decode()}),
                           ("/designer/deploy", {"xml": RENAMED.decode(), "comment": "sneaky"})):
            assert post_json(b, path, body).status_code == 403, (user, path)
        r = b.client.post("/designer/import", data={"csrf_token": b.token("/"),
                                                    "file": (io.BytesIO(RENAMED), "opportunity.bpmn")})
        assert r.status_code == 403
        assert ">Designer<" not in b.get("/").get_data(as_text=True)
        assert everything(sg) == before, user


def test_an_auditor_reads_versions_sources_and_diffs_but_changes_nothing(sign_in, sg, staff):
    staff({"audrey": ["Auditor"]})
    b = sign_in("audrey")
    before = everything(sg)
    page = b.get("/designer/")
    assert page.status_code == 200 and "opportunity" in text(page)
    assert "Edit newest" not in text(page) and "Import as draft" not in text(page)
    assert b.get("/designer/bpmn/opportunity/versions/1").data == OPPORTUNITY
    assert b.get("/designer/processes/opportunity/diff?base=1&head=1").status_code == 200
    for path in ("/designer/processes/opportunity/edit", "/designer/processes/opportunity/edit?version=1",
                 "/designer/new", "/designer/drafts/bpmn/opportunity"):
        assert b.get(path).status_code == 403, path
    for path in ("/designer/validate", "/designer/drafts", "/designer/deploy"):
        assert post_json(b, path, {"xml": RENAMED.decode(), "comment": "c"}).status_code == 403, path
    after = everything(sg)
    attempts = after.pop("audit")[len(before.pop("audit")):]
    assert [kind for _, kind, _ in attempts] == ["refused"] * 3, "each attempt is recorded, nothing else"
    assert after == before


def test_designer_sees_every_process_and_decision_with_its_versions(sign_in):
    b = sign_in("dora")
    assert ">Designer<" in b.get("/").get_data(as_text=True)
    page = text(b.get("/designer/"))
    for name in ("Opportunity", "Discount approval", "qualification", "pricing"):
        assert name.casefold() in page.casefold()
    assert "v1" in page and "cli:test" in page
    assert "unless the task names candidate groups, candidate users or an assignee" in page  # who works a task


def test_save_draft_then_deploy_keeps_running_deals_on_their_version(sign_in, sg, driver):
    running = driver.start()["id"]
    b = sign_in("dora")
    r = post_json(b, "/designer/drafts", {"xml": RENAMED.decode(), "base_version": 1})
    assert r.status_code == 200 and r.json["draft"]["key"] == "opportunity"
    assert queries.process_versions(sg, "opportunity")[0]["version"] == 1  # a draft deploys nothing
    assert "saved by dora" in text(b.get("/designer/")).casefold()
    editor = b.get("/designer/processes/opportunity/edit").get_data(as_text=True)
    assert 'data-src="/designer/drafts/bpmn/opportunity"' in editor
    assert b.get("/designer/drafts/bpmn/opportunity").data == RENAMED

    r = post_json(b, "/designer/deploy", {"xml": RENAMED.decode(), "comment": "Discovery is a call"})
    assert r.status_code == 200, r.json
    assert {"kind": "process", "id": "opportunity", "version": 2, "changed": True} in r.json["results"]
    v2 = queries.process_versions(sg, "opportunity")[0]
    assert (v2["version"], v2["deployed_by"], v2["comment"]) == (2, "dora", "Discovery is a call")
    assert drafts(sg) == 0
    assert queries.instance(sg, running)["version"] == 1
    assert driver.start()["version"] == 2
    page = text(b.get("/designer/"))
    assert "Discovery is a call" in page and "dora" in page


def test_deploy_without_a_comment_or_with_an_error_stores_nothing(sign_in, sg):
    b = sign_in("dora")
    before = everything(sg)
    r = post_json(b, "/designer/deploy", {"xml": RENAMED.decode(), "comment": "  "})
    assert r.status_code == 422 and "comment" in r.json["message"]
    r = post_json(b, "/designer/deploy", {"xml": BROKEN_CONDITION.decode(), "comment": "oops"})
    assert r.status_code == 422
    assert [p["element_id"] for p in r.json["problems"]] == ["Flow_DiscoveryKill"]
    assert "does not compile" in r.json["problems"][0]["reason"]
    assert post_json(b, "/designer/deploy", {"nothing": 1}).status_code == 400
    assert everything(sg) == before


def test_validate_reports_each_problem_on_its_element(sign_in):
    b = sign_in("dora")
    assert post_json(b, "/designer/validate", {"xml": OPPORTUNITY.decode()}).json == {"ok": True, "problems": []}
    r = post_json(b, "/designer/validate", {"xml": BROKEN_CONDITION.decode()})
    assert r.json["ok"] is False
    assert [(p["element_id"], p["severity"]) for p in r.json["problems"]] == [("Flow_DiscoveryKill", "error")]

    # Lint warnings come with the engine's errors, each on its element.
    xml = OPPORTUNITY.replace(b'name="Legal"', b'name="Lawyers"')
    head, tail = xml.split(b'id="Gateway_Discovery"', 1)
    xml = head + b'id="Gateway_Discovery"' + tail.replace(b'<camunda:property name="stage" value="Discovery" />', b"", 1)
    r = post_json(b, "/designer/validate", {"xml": xml.decode()}).json
    reasons = {p["element_id"]: p["reason"] for p in r["problems"]}
    assert r["ok"] is True and all(p["severity"] == "warning" for p in r["problems"])
    assert "lane 'Lawyers', which is no role any user holds" in reasons["Task_ContractReview"]
    assert "has no stage property" in reasons["Gateway_Discovery"]


def test_validate_shows_what_deploy_would_warn_about(sign_in):
    """A condition reading what nothing sets and a form key are warnings in the designer too."""
    from tests.test_variables import FORMLESS
    b = sign_in("dora")
    xml = FORMLESS.replace('<bpmn:userTask id="Approve"', '<bpmn:userTask camunda:formKey="embedded:app:a.html" '
                           'id="Approve"')
    r = post_json(b, "/designer/validate", {"xml": xml}).json
    assert r["ok"] is True
    found = {(p["element_id"], p["reason"].split(" ")[0]): p["reason"] for p in r["problems"] if p["severity"] == "warning"}
    assert found[("Flow_Yes", "condition")].startswith("condition `approved == True and amount < 1000` reads `amount`")
    assert found[("Approve", "camunda:formKey")].startswith("camunda:formKey `embedded:app:a.html` names a form the "
                                                            "engine does not show")


def test_validate_warns_of_an_escalation_that_would_never_close_and_refuses_a_wrong_one(sign_in):
    b = sign_in("dora")
    xml = OPPORTUNITY.replace(b'<camunda:property name="escalates" value="Task_SignOffPricing" />', b"")
    r = post_json(b, "/designer/validate", {"xml": xml.decode()}).json
    assert r["ok"] is True
    assert [(p["element_id"], p["severity"]) for p in r["problems"]] == [("Task_EscalatePricing", "warning")]
    assert ("follows the non-interrupting timer on 'Sign off pricing and margin', so it stays open after that task "
            "is done; add the property escalates=Task_SignOffPricing") in r["problems"][0]["reason"]
    wrong = OPPORTUNITY.replace(b'value="Task_SignOffPricing" />', b'value="Task_SignOffPrice" />')
    r = post_json(b, "/designer/validate", {"xml": wrong.decode()}).json
    assert r["ok"] is False and [(p["element_id"], p["severity"]) for p in r["problems"]] == [
        ("Task_EscalatePricing", "error")]
    assert "escalates 'Task_SignOffPrice', which is not an element of this process" in r["problems"][0]["reason"]


def test_validate_finds_missing_decisions_and_unreachable_elements(sign_in):
    b = sign_in("dora")
    xml = OPPORTUNITY.replace(b'camunda:decisionRef="pricing"', b'camunda:decisionRef="no_such_table"')
    xml = xml.replace(b'targetRef="EndEvent_DiscoveryKilled"', b'targetRef="EndEvent_Disqualified"')
    problems = post_json(b, "/designer/validate", {"xml": xml.decode()}).json["problems"]
    found = {(p["element_id"], p["severity"]): p["reason"] for p in problems}
    assert "decision 'no_such_table' is not deployed" in found[("Task_PricingPolicy", "error")]
    assert "no path from a start event" in found[("EndEvent_DiscoveryKilled", "warning")]


UPLOADS = {
    "not XML": ("notes.bpmn", b"this is not a diagram", "XML syntax error"),
    **{attack: ("attack.bpmn", body.encode(), "DOCTYPE/ENTITY") for attack, body in ATTACKS.items()
       if attack in ("xxe reading /etc/passwd", "billion laughs")},
    "over the size limit": ("huge.bpmn", OPPORTUNITY + b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->",
                            "larger than the 5 MB limit"),
    "MIWG file the engine cannot run": ("C.8.1.bpmn", MIWG_FILE.read_bytes() if MIWG_FILE.exists() else b"",
                                        'send task needs camunda:type="external" and a camunda:topic'),
    "not a diagram file": ("opportunity.txt", OPPORTUNITY, "only .bpmn and .dmn files"),
}


def test_every_invalid_upload_is_refused_with_the_reason_and_nothing_is_stored(sign_in, sg):
    assert MIWG_FILE.exists(), f"{MIWG_FILE} is missing (the shared MIWG corpus)"
    b = sign_in("dora")
    before = everything(sg)
    for case, (name, content, reason) in UPLOADS.items():
        r = b.client.post("/designer/import", data={"csrf_token": b.token("/designer/"),
                                                    "file": (io.BytesIO(content), name)})
        assert r.status_code == 422, case
        page = text(r)
        assert f"{name} was not imported; nothing was stored" in page and reason in page, case
        if name == MIWG_FILE.name:  # the element and line that make it unrunnable
            assert "<code>" in r.get_data(as_text=True) and "line " in page
        assert everything(sg) == before, case


def test_import_keeps_a_draft_and_opens_it(sign_in, sg):
    b = sign_in("dora")
    r = b.client.post("/designer/import", data={"csrf_token": b.token("/designer/"),
                                                "file": (io.BytesIO(RENAMED), "from-camunda-modeler.bpmn")})
    assert r.status_code == 302 and r.location == "/designer/processes/opportunity/edit"
    assert drafts(sg) == 1 and queries.process_versions(sg, "opportunity")[0]["version"] == 1
    assert b.get("/designer/drafts/bpmn/opportunity").data == RENAMED
    assert b.post("/designer/drafts/bpmn/opportunity/discard", page="/designer/").status_code == 302
    assert drafts(sg) == 0


def test_export_any_version_and_the_cli_sees_the_same_versions(sign_in, sg):
    b = sign_in("dora")
    post_json(b, "/designer/deploy", {"xml": RENAMED.decode(), "comment": "rename"})
    v1 = b.get("/designer/bpmn/opportunity/versions/1?download=1")
    assert v1.data == OPPORTUNITY
    assert v1.headers["Content-Disposition"] == 'attachment; filename="opportunity-v1.bpmn"'
    assert b.get("/designer/bpmn/opportunity/versions/2").data == RENAMED
    assert b.get("/designer/dmn/qualification/versions/1").data == QUALIFICATION
    assert b.get("/designer/bpmn/opportunity/versions/9").status_code == 404
    # `stagegate deploy diagrams/` deploys the shipped file again: a third version the designer lists.
    out = deploy(sg, collect_files([DIAGRAMS]), actor="cli:ops", comment="back to the catalog")
    assert {"kind": "process", "id": "opportunity", "version": 3, "changed": True} in out
    row = b.get("/designer/").get_data(as_text=True)
    assert 'data-version="3"' in row and "back to the catalog" in row
    assert b.get("/designer/bpmn/opportunity/versions/3").data == OPPORTUNITY


def test_diff_lists_added_removed_and_changed_elements(sign_in):
    b = sign_in("dora")
    xml = RENAMED.replace(b"discovery_decision == 'kill'", b"discovery_decision in ('kill', 'drop')")
    post_json(b, "/designer/deploy", {"xml": xml.decode(), "comment": "two changes"})
    r = b.get("/designer/processes/opportunity/diff?base=1&head=2")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'class="change change-changed" data-element-id="Task_Discovery"' in html
    assert 'class="change change-changed" data-element-id="Flow_DiscoveryKill"' in html
    page = text(r)
    assert "2 changes" in page and "name" in page and "condition" in page and "two changes" in page
    assert text(b.get("/designer/processes/opportunity/diff?base=1&head=1")).count("0 changes") == 1
    assert b.get("/designer/processes/opportunity/diff?base=1").status_code == 400
    assert b.get("/designer/processes/opportunity/diff?base=1&head=7").status_code == 404


def test_new_process_template_is_valid_and_deploys(sign_in, sg):
    b = sign_in("dora")
    assert 'data-src="/designer/template.bpmn"' in b.get("/designer/new").get_data(as_text=True)
    xml = b.get("/designer/template.bpmn").get_data(as_text=True)
    for role in ("Sales", "Sales Leadership", "Finance", "Supply", "Quality", "Legal"):
        assert f'name="{role}"' in xml
    assert post_json(b, "/designer/validate", {"xml": xml}).json == {"ok": True, "problems": []}
    r = post_json(b, "/designer/deploy", {"xml": xml, "comment": "first draft of a new process"})
    assert r.json["results"] == [{"kind": "process", "id": "new_process", "version": 1, "changed": True}]


def test_a_changed_decision_table_deploys_with_every_process_that_uses_it(sign_in, sg):
    b = sign_in("dora")
    assert 'data-kind="dmn"' in b.get("/designer/decisions/qualification/edit").get_data(as_text=True)
    xml = QUALIFICATION.replace(b"&lt; 50", b"&lt; 40").replace(b"&gt;= 50", b"&gt;= 40")
    assert xml != QUALIFICATION
    r = post_json(b, "/designer/deploy", {"kind": "dmn", "xml": xml.decode(), "comment": "$40MM is enough"})
    assert r.status_code == 200, r.json
    assert {"kind": "decision", "id": "qualification", "version": 2, "changed": True} in r.json["results"]
    assert {"kind": "process", "id": "opportunity", "version": 2, "changed": True} in r.json["results"]
    page = text(b.get("/designer/"))
    assert "$40MM is enough" in page
    bad = QUALIFICATION.replace(b"&lt; 50", b"&lt; &lt; 50")
    r = post_json(b, "/designer/validate", {"kind": "dmn", "xml": bad.decode()})
    assert r.json["problems"][0]["element_id"] == "qualification" and "does not compile" in r.json["problems"][0]["reason"]


def test_an_oversized_request_is_refused_before_it_is_read(sign_in, sg):
    b = sign_in("dora")
    before = everything(sg)
    body = json.dumps({"xml": "x" * (11 * 1024 * 1024), "comment": "big"})
    r = b.client.post("/designer/deploy", data=body, content_type="application/json",
                      headers={"X-CSRFToken": b.token("/")})
    assert r.status_code == 413
    assert everything(sg) == before


def test_a_deploy_from_a_stale_version_is_refused_and_says_who_deployed_meanwhile(sign_in, sg):
    b = sign_in("dora")
    assert post_json(b, "/designer/deploy", {"xml": RENAMED.decode(), "comment": "first",
                                             "base_version": 1}).status_code == 200
    before = everything(sg)
    other = OPPORTUNITY.replace(b'name="Discovery"', b'name="Discovery meeting"')
    r = post_json(b, "/designer/deploy", {"xml": other.decode(), "comment": "from an old page", "base_version": 1})
    assert r.status_code == 409
    assert "opportunity version 2 was deployed by dora" in r.json["message"] and "nothing was deployed" in r.json["message"]
    assert everything(sg) == before
    r = post_json(b, "/designer/deploy", {"xml": other.decode(), "comment": "on top of v2", "base_version": 2})
    assert r.status_code == 200 and r.json["results"][0]["version"] == 3
