"""The task page: the form drawn from the diagram, the deal around it, and what submitting does."""
import json
import re
from html import unescape

import pytest

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from tests.drive import PRICING_OK, PROPOSAL
from workflows import erp_pricing
from tests.snapshot import stored
from tests.test_incidents import BPMN as PROBE_BPMN, DMN as PROBE_DMN

from .conftest import text

FORM_PROBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_Form" targetNamespace="http://example.com/t">
  <bpmn:process id="form_probe" name="Form probe" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_Sales" name="Sales">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Fill</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Fill" name="Fill in the order">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="note" label="Note" type="string" defaultValue="n/a" />
        <camunda:formField id="quantity" label="Quantity" type="long" defaultValue="5">
          <camunda:validation><camunda:constraint name="min" config="1" /><camunda:constraint name="max" config="10" /></camunda:validation>
        </camunda:formField>
        <camunda:formField id="colour" label="Colour" type="enum" defaultValue="blue">
          <camunda:value id="red" name="Red" /><camunda:value id="blue" name="Blue" />
        </camunda:formField>
        <camunda:formField id="ship_on" label="Ship on" type="date" defaultValue="2027-01-15" />
        <camunda:formField id="urgent" label="Urgent" type="boolean" defaultValue="true" />
        <camunda:formField id="code" label="Code" type="string">
          <camunda:validation><camunda:constraint name="minlength" config="2" /><camunda:constraint name="maxlength" config="8" /></camunda:validation>
        </camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Fill" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def proposal(driver):
    """A deal whose 'Prepare proposal' (Sales) is ready."""
    iid = driver.to_proposal()
    return {"deal": iid, "task": driver.ready(iid)["Task_PrepareProposal"]["id"]}


def field_html(html, field_id) -> str:
    """The markup of one form field's block."""
    start = html.index(f'id="field-{field_id}"')
    start = html.rindex('<div class="field', 0, start)
    return html[start:html.index("</div>", start)]


def as_form(values: dict) -> dict:
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in values.items()}


def test_the_form_shows_labels_required_marks_and_limits(sign_in, proposal):
    r = sign_in("sam").get(f"/tasks/{proposal['task']}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<h1>Prepare proposal</h1>" in html
    price = field_html(html, "price")
    assert '<label for="field-price">Quoted price ($) <abbr class="required" title="required">*</abbr></label>' in price
    # A text box with the numeric keyboard, so "1,200,000" reaches the server; the bounds in words.
    assert 'type="text"' in price and 'inputmode="numeric"' in price and " required" in price
    assert ">At least 1</p>" in price
    assert ">From -100 to 100</p>" in field_html(html, "margin_pct")
    delivery = field_html(html, "requested_delivery_date")  # the one date format every page shows
    assert 'type="text"' in delivery and 'placeholder="YYYY-MM-DD"' in delivery and "A date as YYYY-MM-DD" in delivery
    summary = field_html(html, "proposal_summary")
    assert "<textarea" in summary and 'maxlength="2000"' in summary
    assert 'title="required"' not in summary, "an optional field has no * mark"
    assert 'name="csrf_token"' in html and "Complete task" in html


def test_enum_fields_are_selects_with_their_options(sign_in, driver):
    iid = driver.start()["id"]
    driver.work(iid, "Task_Discovery", "sam", pain_points="Downtime", decision_maker="Plant director")
    task_id = driver.ready(iid)["Task_DiscoveryGateReview"]["id"]
    html = sign_in("lena").get(f"/tasks/{task_id}").get_data(as_text=True)
    decision = field_html(html, "discovery_decision")
    assert "<select" in decision and " required" in decision
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]+)</option>', decision) == [
        ("", "— choose —"), ("go", "Go"), ("kill", "Kill"), ("hold", "Hold"), ("recycle", "Recycle")]
    assert 'minlength="3"' in field_html(html, "discovery_note")
    hold = field_html(html, "hold_days")  # shown by the browser only when it applies, said in words
    assert "Needed because Decision is Hold" in hold and "==" not in hold
    assert json.loads(unescape(re.search(r'data-show-when="([^"]*)"', hold).group(1))) == {
        "op": "eq", "field": "discovery_decision", "value": "hold"}


def test_defaults_are_filled_in(sg, sign_in, app):
    deploy(sg, [("form_probe.bpmn", FORM_PROBE)], actor="cli:test")
    iid = start_instance(sg, "form_probe", "sam", {})["id"]
    task_id = queries.ready_tasks(sg, instance_id=iid)[0]["id"]
    html = sign_in("sam").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'value="n/a"' in field_html(html, "note")
    assert 'value="5"' in field_html(html, "quantity") and "From 1 to 10" in field_html(html, "quantity")
    assert '<option value="blue" selected>Blue</option>' in field_html(html, "colour")
    assert "— choose —" not in field_html(html, "colour")
    assert 'value="2027-01-15"' in field_html(html, "ship_on")
    urgent = field_html(html, "urgent")
    assert 'type="checkbox"' in urgent and " checked" in urgent
    assert '<input type="hidden" name="urgent" value="false">' in urgent
    code = field_html(html, "code")
    assert 'minlength="2"' in code and 'maxlength="8"' in code


def test_the_page_shows_the_deals_data_diagram_and_history(sign_in, proposal):
    r = sign_in("sam").get(f"/tasks/{proposal['task']}")
    page = text(r)
    for shown in ("Acme pumps", "Acme Industrial", "500,000", "Plant director", "Unplanned downtime on line 3"):
        assert shown in page
    html = r.get_data(as_text=True)
    diagram = re.search(r'<div id="diagram" class="diagram" ([^>]*)></div>', html)
    assert diagram, "the diagram container is on the page"
    attrs = dict(re.findall(r'(data-[a-z]+)="([^"]*)"', diagram.group(1)))
    assert attrs["data-src"] == "/diagrams/opportunity/1.bpmn"
    assert json.loads(unescape(attrs["data-current"])) == ["Task_PrepareProposal"]
    visited = json.loads(unescape(attrs["data-visited"]))
    assert visited["Task_Discovery"] == 1 and "Gateway_Discovery" in visited
    assert json.loads(unescape(attrs["data-flows"])), "the flows taken so far"
    assert '<script src="/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"></script>' in html
    assert '<script src="/static/js/diagram.js"></script>' in html
    assert 'href="/static/vendor/bpmn-js/assets/bpmn-js.css"' in html
    for line in ("sam started the deal", "engine decision qualification: rule Rule_Qualified",
                 "sam completed Discovery",
                 "Discovery gate: go (by lena: 'clear pain, budget holder engaged')"):
        assert line in page, line


def test_completing_a_task_moves_the_deal_on(sg, sign_in, proposal):
    b = sign_in("sam")
    r = b.post(f"/tasks/{proposal['task']}", as_form(PROPOSAL))
    assert r.status_code == 302 and r.location == "/"
    assert "Done: Prepare proposal on Acme pumps" in text(b.get("/"))
    # The deal waits for the ERP's list price (an external task), then the sign-offs open.
    assert queries.ready_tasks(sg, instance_id=proposal["deal"]) == []
    assert [t["topic"] for t in queries.instance(sg, proposal["deal"])["external_tasks"]] == ["erp-pricing"]
    assert erp_pricing.serve_pending(sg) == 1
    ready = {t["element_id"] for t in queries.ready_tasks(sg, instance_id=proposal["deal"])}
    assert "Task_SignOffPricing" in ready
    data = queries.instance(sg, proposal["deal"])["data"]
    assert data["price"] == 450000 and data["requested_delivery_date"] == "2027-03-01"


def test_a_bad_value_is_shown_next_to_its_field_with_the_values_kept_and_nothing_stored(sg, sign_in, proposal):
    b = sign_in("sam")
    before = stored(sg)
    r = b.post(f"/tasks/{proposal['task']}", {"price": "0", "margin_pct": "thirty", "requested_delivery_date": "",
                                              "proposal_summary": "Two skids <b>installed</b>"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Please correct the marked fields; nothing was saved." in text(r)
    price = field_html(html, "price")
    assert "Quoted price ($) must be at least 1" in price and 'value="0"' in price and 'aria-invalid="true"' in price
    margin = field_html(html, "margin_pct")
    assert "Gross margin (%) must be a whole number" in margin and 'value="thirty"' in margin
    assert "Requested delivery date is required" in field_html(html, "requested_delivery_date")
    assert "Two skids &lt;b&gt;installed&lt;/b&gt;</textarea>" in field_html(html, "proposal_summary")
    assert stored(sg) == before


def test_a_sign_off_is_an_explicit_yes_or_no_never_a_default(sg, sign_in, driver):
    iid = driver.to_sign_offs()
    fiona = sign_in("fiona")
    pricing = driver.ready(iid)["Task_SignOffPricing"]["id"]
    html = fiona.get(f"/tasks/{pricing}").get_data(as_text=True)
    choice = html[html.index('id="field-pricing_approved"'):html.index("</fieldset>")]
    assert 'type="radio"' in choice and 'value="true"' in choice and 'value="false"' in choice
    assert " checked" not in choice and "checkbox" not in choice, "nothing is decided until the user picks"

    r = fiona.post(f"/tasks/{pricing}", {"finance_comment": "looks fine"})
    assert r.status_code == 422
    assert "Pricing and margin approved is required" in r.get_data(as_text=True)
    assert "Task_SignOffPricing" in driver.ready(iid), "clicking Complete without a choice decides nothing"
    assert "pricing_approved" not in queries.instance(sg, iid)["data"]

    assert fiona.post(f"/tasks/{pricing}", {"pricing_approved": "false", "finance_comment": "too thin"}).status_code == 302
    assert queries.instance(sg, iid)["data"]["pricing_approved"] is False
    quality = driver.ready(iid)["Task_SignOffQuality"]["id"]
    assert sign_in("quinn").post(f"/tasks/{quality}", {"specs_approved": "true"}).status_code == 302
    assert queries.instance(sg, iid)["data"]["specs_approved"] is True


def test_fields_not_on_the_form_are_not_stored(sg, sign_in, proposal):
    r = sign_in("sam").post(f"/tasks/{proposal['task']}", {**as_form(PROPOSAL), "approval_level": "none"})
    assert r.status_code == 302
    assert queries.instance(sg, proposal["deal"])["data"].get("approval_level") != "none"


def test_a_user_without_the_role_gets_403_and_none_of_the_deal(sg, sign_in, proposal):
    fiona = sign_in("fiona")
    r = fiona.get(f"/tasks/{proposal['task']}")
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    for secret in ("Acme pumps", "Acme Industrial", "Plant director", "500,000", "Unplanned downtime", 'id="diagram"'):
        assert secret not in body
    assert "Not allowed" in text(r) and "fiona may not work on 'Prepare proposal'" in text(r)
    before = stored(sg)
    r = fiona.post(f"/tasks/{proposal['task']}", as_form(PROPOSAL))
    assert r.status_code == 403 and "Acme" not in r.get_data(as_text=True)
    assert stored(sg) == before


def test_a_task_completed_by_someone_else_meanwhile_gives_the_stale_page(sg, sign_in, proposal):
    sam = sign_in("sam")
    assert sam.get(f"/tasks/{proposal['task']}").status_code == 200  # sam opens the form...
    token = sam.token(f"/tasks/{proposal['task']}")
    complete_task(sg, proposal["task"], "sally", PROPOSAL)  # ...sally completes it first
    before = stored(sg)
    r = sam.client.post(f"/tasks/{proposal['task']}", data={**as_form(PROPOSAL), "price": "999", "csrf_token": token})
    assert r.status_code == 409
    page = text(r)
    assert "This has moved on" in page and "'Prepare proposal' was already completed by sally" in page
    assert '<a class="button" href="/">Back to your inbox</a>' in r.get_data(as_text=True)
    assert stored(sg) == before
    assert queries.instance(sg, proposal["deal"])["data"]["price"] == 450000


def test_submitting_twice_gives_409_the_second_time(sg, sign_in, proposal):
    sam = sign_in("sam")
    token = sam.token(f"/tasks/{proposal['task']}")
    form = {**as_form(PROPOSAL), "csrf_token": token}
    assert sam.client.post(f"/tasks/{proposal['task']}", data=form).status_code == 302
    before = stored(sg)
    again = sam.client.post(f"/tasks/{proposal['task']}", data=form)
    assert again.status_code == 409 and "already completed by sam" in text(again)
    assert stored(sg) == before


def test_a_completed_task_page_says_so_without_a_form(sign_in, proposal, sg):
    complete_task(sg, proposal["task"], "sally", PROPOSAL)
    r = sign_in("sam").get(f"/tasks/{proposal['task']}")
    assert r.status_code == 200
    assert "This task is completed by sally" in text(r)
    assert f'action="/tasks/{proposal["task"]}"' not in r.get_data(as_text=True)


def test_a_failing_step_shows_the_incident_and_keeps_the_values(sg, sign_in, app):
    deploy(sg, [("probe.bpmn", PROBE_BPMN), ("tier.dmn", PROBE_DMN)], actor="cli:test")
    iid = start_instance(sg, "incident_probe", "sam", {})["id"]
    task_id = queries.ready_tasks(sg, instance_id=iid)[0]["id"]
    sam = sign_in("sam")
    r = sam.post(f"/tasks/{task_id}", {"amount": "5", "divisor": "0"})
    assert r.status_code == 422
    page = text(r)
    assert "The step could not run, so nothing was saved." in page
    assert "step failed at Ratio (Ratio above 10?)" in page and "division by zero" in page
    html = r.get_data(as_text=True)
    assert 'value="5"' in field_html(html, "amount") and 'value="0"' in field_html(html, "divisor")
    assert [t["id"] for t in queries.ready_tasks(sg, instance_id=iid)] == [task_id], "the task is still open"
    assert sam.post(f"/tasks/{task_id}", {"amount": "200", "divisor": "100"}).status_code == 302


def test_an_escalation_shows_the_task_it_chases_who_holds_it_how_late_and_closes_with_it(sg, sign_in, driver):
    from engine.services.claims import claim_task
    from engine.services.steps import parse_instant
    from engine.services.timers import fire_due_timers
    from web.formatting import age

    iid = driver.to_sign_offs()
    pricing = driver.ready(iid)["Task_SignOffPricing"]
    claim_task(sg, pricing["id"], "fiona")
    sg.clock.advance(days=8)
    assert fire_due_timers(driver.fresh())["fired"] == 3
    carl = sign_in("carl")
    assert "Chase overdue pricing sign-off" in text(carl.get("/"))
    escalation = driver.ready(iid)["Task_EscalatePricing"]["id"]
    late = age((sg.now() - parse_instant(pricing["due_at"])).total_seconds() / 3600)

    page = carl.get(f"/tasks/{escalation}")
    assert page.status_code == 200
    panel = text(page).split("The task this escalates", 1)[1].split("Your input", 1)[0]
    assert "Sign off pricing and margin" in panel and "Held by claimed by fiona" in panel
    assert f"Late {late} overdue" in panel
    assert f'href="/tasks/{pricing["id"]}"' in page.get_data(as_text=True)
    delivery = text(sign_in("hank").get(f"/tasks/{driver.ready(iid)['Task_EscalateDelivery']['id']}"))
    assert "Held by nobody has claimed it: open to Supply" in delivery

    driver.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
    assert "Chase overdue pricing sign-off" not in text(carl.get("/")), "closed with the sign-off it chased"
    closed = text(carl.get(f"/tasks/{escalation}"))
    assert "This task is cancelled" in closed
    assert ("The engine closed it because the task it escalated, Sign off pricing and margin, was completed."
            in closed)
    assert "completed by fiona" in closed and f"Late {late} overdue" in closed
    assert "closed Chase overdue pricing sign-off: Sign off pricing and margin, which it escalated, was completed" \
        in closed, "the deal's history says so"


def test_a_decimal_field_takes_what_people_type_and_decides_on_the_number(sg, sign_in, app):
    from tests.test_decimal_fields import quote_review
    deploy(sg, [("quote_review.bpmn", quote_review().encode())], actor="cli:test")
    sam = sign_in("sam")
    amount = field_html(sam.get("/start/quote_review").get_data(as_text=True), "amount")
    assert 'type="text"' in amount and 'inputmode="decimal"' in amount and " required" in amount
    r = sam.post("/start/quote_review", {"quote_name": "Pumps", "amount": "1,200.50"}, page="/start/quote_review")
    assert r.status_code == 302, text(r)
    [task] = queries.ready_tasks(sg, user="fiona")
    assert task["element_id"] == "Task_Margin"
    assert queries.instance(sg, task["instance_id"])["data"]["amount"] == 1200.5
    fiona = sign_in("fiona")
    r = fiona.post(f"/tasks/{task['id']}", {"margin_pct": "1,2"}, page=f"/tasks/{task['id']}")
    assert r.status_code == 422 and "Margin (%) must be a number (e.g. 1200.50 or 1,200.50)" in text(r)
    assert 'value="1,2"' in field_html(r.get_data(as_text=True), "margin_pct")
    r = fiona.post(f"/tasks/{task['id']}", {"margin_pct": "31.5"}, page=f"/tasks/{task['id']}")
    assert r.status_code == 302
    assert queries.instance(sg, task["instance_id"])["data"]["margin_pct"] == 31.5
