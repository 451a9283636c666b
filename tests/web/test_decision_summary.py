"""The gatekeeper's decision summary, the deal's data under the step that produced it, a completed
task's submitted values, and forms that take money with thousands separators."""
from __future__ import annotations

import re

from tests.drive import DELIVERY_OK, PRICING_OK, PROPOSAL

from .conftest import text


def section(html: str, heading_id: str) -> str:
    """The text of the panel whose heading has id `heading_id`."""
    start = html.rindex("<section", 0, html.index(f'id="{heading_id}"'))
    return " ".join(re.sub(r"<[^>]+>", " ", html[start:html.index("</section>", start)]).split())


def test_the_gate_review_shows_each_sign_off_by_department_and_the_gates_criteria(sign_in, driver):
    iid = driver.to_proposal_gate(price=900000, margin_pct=28)
    task_id = driver.ready(iid)["Task_ProposalGateReview"]["id"]
    html = sign_in("lena").get(f"/tasks/{task_id}").get_data(as_text=True)
    summary = section(html, "summary-heading")
    assert "Proposal gate · decided by Sales Leadership" in summary
    assert "Criteria: Go only when Finance has approved price and margin" in summary
    assert "go when Decision is Go" in summary and "kill when Decision is Kill" in summary
    assert "==" not in summary, "criteria in plain language, never an expression"
    rows = re.findall(r'<tr class="(approved|refused|waiting)">(.*?)</tr>', html, flags=re.S)
    cells = {re.sub(r"<[^>]+>", " ", r[1]).split()[0]: (r[0], " ".join(re.sub(r"<[^>]+>", " ", r[1]).split()))
             for r in rows}
    assert set(cells) == {"Finance", "Supply", "Quality"}
    state, finance = cells["Finance"]
    assert state == "approved"
    # the figures Finance approved, as they stood when Finance signed, and who and the comment
    assert "Quoted price ($): 900,000" in finance and "Gross margin (%): 28" in finance
    assert PRICING_OK["finance_comment"] in finance and "fiona" in finance
    assert f"Committed delivery date: {DELIVERY_OK['committed_delivery_date']}" in cells["Supply"][1]
    assert "pete" in cells["Supply"][1] and "quinn" in cells["Quality"][1]


def test_a_refused_sign_off_and_the_ones_still_waiting_are_shown(sign_in, driver):
    iid = driver.to_sign_offs()
    driver.work(iid, "Task_SignOffPricing", "fiona", pricing_approved=False, finance_comment="margin too thin")
    html = sign_in("lena").get(f"/deals/{iid}").get_data(as_text=True)
    signs = section(html, "signoffs-heading")
    assert "Finance Sign off pricing and margin not approved" in signs and "margin too thin" in signs
    assert "Supply Sign off delivery date waiting" in signs and "Quality Sign off specifications waiting" in signs


def test_the_deals_data_is_under_the_step_that_produced_it_in_form_order(sign_in, driver):
    iid = driver.to_proposal_gate()
    html = sign_in("lena").get(f"/deals/{iid}").get_data(as_text=True)
    steps = re.findall(r'<section class="step step-[a-z_]+" aria-label="([^"]+)">(.*?)</section>', html, flags=re.S)
    titles = [t for t, _ in steps]
    assert titles[:2] == ["Start form", "Check qualification criteria"]
    for title in ("Discovery · Sales", "Prepare proposal · Sales", "Sign off pricing and margin · Finance",
                  "Sign off delivery date · Supply", "Sign off specifications · Quality"):
        assert title in titles
    body = dict(steps)
    # "Comment" is no longer a bare label among five: each sits under its department's step
    assert "margin fine" in body["Sign off pricing and margin · Finance"]
    assert "standard specs" in body["Sign off specifications · Quality"]
    labels = re.findall(r"<dt>([^<]+)</dt>", body["Prepare proposal · Sales"])
    assert labels == ["Quoted price ($)", "Gross margin (%)", "Requested delivery date", "Proposal summary"]


def test_a_completed_task_shows_what_was_submitted(sign_in, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    driver.work(iid, "Task_PrepareProposal", "sam", **PROPOSAL)
    page = text(sign_in("sam").get(f"/tasks/{task_id}"))
    assert "What was submitted" in page
    assert "Quoted price ($) 450,000" in page and "Requested delivery date 2027-03-01" in page


def test_money_with_thousands_separators_is_accepted_from_the_form(sign_in, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    sam = sign_in("sam")
    r = sam.post(f"/tasks/{task_id}", {**{k: str(v) for k, v in PROPOSAL.items()}, "price": "1,200,000"},
                 page=f"/tasks/{task_id}")
    assert r.status_code == 302, text(r)
    assert driver.show(iid)["data"]["price"] == 1200000


def test_a_missing_conditional_answer_is_explained_in_words(sign_in, driver):
    iid = driver.start()["id"]
    driver.work(iid, "Task_Discovery", "sam", pain_points="Downtime", decision_maker="Plant director")
    task_id = driver.ready(iid)["Task_DiscoveryGateReview"]["id"]
    r = sign_in("lena").post(f"/tasks/{task_id}", {"discovery_decision": "hold", "discovery_note": "budget frozen"},
                             page=f"/tasks/{task_id}")
    assert r.status_code == 422
    page = text(r)
    assert "Hold for (days) is required because Decision is Hold" in page and "==" not in page
