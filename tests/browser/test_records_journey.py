"""Records that say what happened, in Chromium: a prospect the qualification gate kills is shown as
killed (not as a green start), the deals list says how each deal stands, a department head's
escalation shows the late sign-off it chases and closes with it, and the audit diagram draws the
withdrawn escalation apart from the path worked."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.services.claims import claim_task
from engine.clock import FrozenClock
from engine.services.timers import fire_due_timers
from tests.drive import GOOD_PROSPECT

from .conftest import serve_catalog, signed_in
from .test_journeys import deal_name, fill, inbox_rows, seed, submit


def test_a_killed_prospect_is_reported_as_killed_on_the_start_result_and_the_deals_list(sign_in, artifacts):
    deal = deal_name("Corner kiosk")
    sam = sign_in("sam")
    sam.goto("/start/opportunity")
    fill(sam, {**GOOD_PROSPECT, "deal_name": deal, "annual_revenue_musd": 12})
    submit(sam, "Start")
    flash = sam.locator(".flash")
    assert flash.get_attribute("class") == "flash flash-warning"
    assert flash.inner_text() == (f"Started {deal}, and it was killed at the Qualification gate: "
                                  "annual revenue $12MM is below $50MM.")
    banner = sam.locator(".outcome-banner")
    assert banner.get_attribute("data-outcome") == "killed"
    assert "Killed at the Qualification gate" in banner.inner_text()
    # Drawn as a warning: amber flash, red banner (not the success green).
    colours = sam.evaluate("""() => [getComputedStyle(document.querySelector('.flash')).borderLeftColor,
                                     getComputedStyle(document.querySelector('.outcome-banner')).borderLeftColor]""")
    assert colours == ["rgb(138, 97, 0)", "rgb(179, 38, 30)"], colours
    sam.screenshot(path=str(artifacts / "start-killed-prospect.png"), full_page=True)

    sam.goto("/deals")
    row = sam.locator("table.deals tr", has=sam.locator(f"a:has-text('{deal}')"))
    assert " ".join(row.locator("td[data-label=Outcome]").inner_text().split()) == (
        "killed at Qualification annual revenue $12MM is below $50MM")
    assert row.locator("td[data-label=Stage] .badge").inner_text() == "completed"
    sam.screenshot(path=str(artifacts / "deals-outcomes.png"), full_page=True)


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory, assets_installed):
    """The catalog app on a clock the test moves: a Thursday morning in January."""
    with serve_catalog(tmp_path_factory.mktemp("records") / "stagegate.db",
                       clock=FrozenClock(datetime(2027, 1, 7, 9, tzinfo=timezone.utc))) as server:
        yield server


def test_an_escalation_shows_the_late_sign_off_closes_with_it_and_the_audit_draws_it_withdrawn(
        frozen_app, new_page, artifacts):
    sg, deal = frozen_app.sg, deal_name("Late turbines")
    iid = seed(sg, deal, upto="Task_SignOffPricing")
    pricing = [t for t in inbox_rows(signed_in(new_page(frozen_app.url), "fiona")) if t["deal"] == deal][0]
    claim_task(sg, pricing["href"].rsplit("/", 1)[1], "fiona")
    sg.clock.advance(days=8)
    assert fire_due_timers(sg)["fired"] == 3

    carl = signed_in(new_page(frozen_app.url), "carl")
    mine = [r for r in inbox_rows(carl) if r["deal"] == deal and r["task"] == "Chase overdue pricing sign-off"]
    assert len(mine) == 1
    carl.goto(mine[0]["href"])
    panel = carl.locator("section.escalated")
    words = " ".join(panel.inner_text().split())
    assert "Sign off pricing and margin" in words and "claimed by fiona" in words
    assert panel.locator(".badge.overdue").inner_text() == "3 d overdue"  # due Tuesday 9:00, now Friday 9:00
    assert panel.locator(f"a[href='{pricing['href']}']").count() == 1
    carl.screenshot(path=str(artifacts / "escalation-task.png"), full_page=True)

    fiona = signed_in(new_page(frozen_app.url), "fiona")
    fiona.goto(pricing["href"])
    fill(fiona, {"pricing_approved": True, "finance_comment": "margin fine"})
    submit(fiona)
    assert not [r for r in inbox_rows(carl) if r["deal"] == deal], "closed with the sign-off it chased"
    carl.goto(mine[0]["href"])
    assert "The engine closed it because the task it escalated, Sign off pricing and margin, was completed." in \
        " ".join(carl.locator("main").inner_text().split())

    ada = signed_in(new_page(frozen_app.url), "ada")
    ada.goto(f"/audit/deals/{iid}")
    ada.wait_for_selector("#diagram[data-rendered=true], #diagram[data-rendered=error]", state="attached")
    box = ada.locator("#diagram")
    assert box.get_attribute("data-rendered") == "true", box.inner_text()
    svg = box.locator("svg").first
    assert svg.locator("[data-element-id=Task_EscalatePricing].cancelled").count() == 1
    assert svg.locator("[data-element-id=Task_EscalatePricing].visited").count() == 0
    assert svg.locator("[data-element-id=Flow_PricingSlaToEscalation].taken").count() == 1
    assert svg.locator("[data-element-id=Flow_PricingEscalationToEnd].taken").count() == 0
    assert svg.locator("[data-element-id=Task_EscalateDelivery].current-task").count() == 1, "delivery still late"
    dashes = svg.locator("[data-element-id=Task_EscalatePricing] .djs-visual > :first-child").evaluate(
        "el => getComputedStyle(el).strokeDasharray")
    assert dashes.replace("px", "").replace(",", " ").split() == ["6", "4"], dashes
    entry = ada.locator("#timeline li[data-kind=task_cancelled]")
    assert "closed Chase overdue pricing sign-off" in entry.inner_text()
    assert not [e for e in ada.errors if e.startswith("pageerror")], ada.errors
    ada.screenshot(path=str(artifacts / "audit-escalation-closed.png"), full_page=True)
    # A close look at the sign-offs: the closed escalation dashed, the open one amber, the path green.
    box.evaluate("""el => { const v = el._stagegateViewer, canvas = v.get('canvas');
                           const e = v.get('elementRegistry').get('Task_EscalatePricing');
                           canvas.viewbox({x: e.x - 420, y: e.y - 170, width: 760, height: 300}); }""")
    box.screenshot(path=str(artifacts / "audit-escalation-closed-zoom.png"))
