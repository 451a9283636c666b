"""The auditor's journey in Chromium: open a won deal, see the path it took on the diagram and
who signed off the margin on which figures."""
from __future__ import annotations

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from tests.drive import (CONTRACT_OK, DELIVERY_OK, DISCOVERY, DISCOVERY_GO, GATE_GO, GOOD_PROSPECT, PRICING_OK,
                         PROPOSAL, QUALITY_OK)
from workflows import erp_pricing

from .test_journeys import deal_name

# A deal recycled once at discovery, then through every sign-off to a win.
WON_DEAL = [
    ("Task_Discovery", "sam", DISCOVERY),
    ("Task_DiscoveryGateReview", "lena", {"discovery_decision": "recycle", "discovery_note": "meet the CFO first"}),
    ("Task_Discovery", "sally", DISCOVERY),
    ("Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
    ("Task_PrepareProposal", "sam", PROPOSAL),
    ("Task_SignOffPricing", "fiona", PRICING_OK),
    ("Task_SignOffDelivery", "pete", DELIVERY_OK),
    ("Task_SignOffQuality", "quinn", QUALITY_OK),
    ("Task_ProposalGateReview", "lena", GATE_GO),
    ("Task_ContractReview", "lou", CONTRACT_OK),
    ("Task_Negotiate", "sam", {"outcome": "won", "final_price": 440000}),
]


def won_deal(sg, name: str) -> int:
    iid = start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": name})["id"]
    for element_id, user, data in WON_DEAL:
        ready = {t["element_id"]: t for t in queries.ready_tasks(sg, instance_id=iid)}
        complete_task(sg, ready[element_id]["id"], user, data)
        erp_pricing.serve_pending(sg)  # the ERP prices the proposal at once
    return iid


def test_the_auditor_sees_the_path_and_the_margin_sign_off_of_a_won_deal(sign_in, live_app, artifacts):
    deal = deal_name("Audited turbines")
    iid = won_deal(live_app.sg, deal)
    ada = sign_in("ada")
    ada.click("nav.mainnav a:has-text('Deals')")
    ada.click(f"table.deals a:has-text('{deal}')")
    ada.click("a:has-text('Full audit history')")
    assert ada.url.endswith(f"/audit/deals/{iid}")
    ada.wait_for_selector("#diagram[data-rendered=true], #diagram[data-rendered=error]", state="attached")
    box = ada.locator("#diagram")
    assert box.get_attribute("data-rendered") == "true", box.inner_text()
    svg = box.locator("svg").first

    # The path: every sign-off done, the flows between them taken, the recycled discovery entered twice,
    # and the deal now at the look-back.
    for element in ("Task_Discovery", "Task_SignOffPricing", "Task_SignOffDelivery", "Task_Negotiate"):
        assert svg.locator(f"[data-element-id={element}].visited").count() == 1, element
    for flow in ("Flow_PricingToJoin", "Flow_JoinToReview", "Flow_SplitToPricing", "Flow_Won"):
        assert svg.locator(f"[data-element-id={flow}].taken").count() == 1, flow
    # Won, so out of "Won or lost?" by the won flow only, though both lead to the same merge.
    assert svg.locator("[data-element-id=Flow_Lost].taken").count() == 0
    assert svg.locator("[data-element-id=Flow_Lost]").count() == 1
    assert [svg.locator(".current-task").first.get_attribute("data-element-id")] == ["Task_LookBack"]
    badge = box.locator("[data-container-id=Task_Discovery] .visit-badge, .djs-overlays[data-container-id=Task_Discovery] .visit-badge")
    assert badge.inner_text() == "\u00d72"

    # The margin sign-off: who, and on which figures.
    entry = ada.locator("#timeline li[data-element=Task_SignOffPricing]")
    assert entry.count() == 1
    words = " ".join(entry.inner_text().split())
    assert "fiona completed Sign off pricing and margin" in words
    assert "Pricing and margin approved: yes" in words or "Pricing and margin approved yes" in words
    assert "Gross margin (%)" in words and "31" in words and "Quoted price ($)" in words and "450,000" in words
    assert "lena" in ada.locator("#timeline li[data-kind=gate_decided]").last.inner_text()

    # Clicking the sign-off on the diagram picks out its entry in the timeline.
    svg.locator("[data-element-id=Task_SignOffPricing]").first.click()
    assert box.get_attribute("data-selected") == "Task_SignOffPricing"
    assert "selected" in entry.get_attribute("class")
    assert not [e for e in ada.errors if "Content Security Policy" in e or e.startswith("pageerror")], ada.errors
    ada.screenshot(path=str(artifacts / "audit-won-deal.png"), full_page=True)
