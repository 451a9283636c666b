"""The pipeline board in Chromium: a sales leader opens it from the nav, reads a column's totals and
forecast, filters by owner, and opens a deal from its card; at 390 px the columns stack."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.clock import FrozenClock
from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from tests.drive import DISCOVERY, GOOD_PROSPECT

from .conftest import serve_catalog, signed_in


@pytest.fixture(scope="module")
def board_app(tmp_path_factory, assets_installed):
    """The catalog app on a clock the test moves, with two closed deals and three open ones."""
    with serve_catalog(tmp_path_factory.mktemp("pipeline") / "stagegate.db",
                       clock=FrozenClock(datetime(2027, 2, 1, 9, tzinfo=timezone.utc))) as server:
        sg = server.sg
        start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": "Tiny shop", "annual_revenue_musd": 20})
        lost = start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": "Dropped mill"})["id"]
        work(sg, lost, "Task_Discovery", "sam", DISCOVERY)
        sg.clock.advance(days=2)
        work(sg, lost, "Task_DiscoveryGateReview", "lena",
             {"discovery_decision": "kill", "discovery_note": "no budget"})
        server.deals = {name: start_instance(sg, "opportunity", owner, {
            **GOOD_PROSPECT, "deal_name": name, "customer": customer, "deal_value": value})["id"]
                        for name, owner, customer, value in (("Harbour cranes", "sam", "Fjord Energy", 800000),
                                                            ("Wind farm seals", "sally", "Meridian Wind", 350000))}
        sg.clock.advance(days=4)
        server.deals["Clinic pumps"] = start_instance(sg, "opportunity", "sally", {
            **GOOD_PROSPECT, "deal_name": "Clinic pumps", "customer": "Lumen Health", "deal_value": 120000})["id"]
        yield server


def work(sg, iid, element_id, user, data):
    ready = {t["element_id"]: t["id"] for t in queries.ready_tasks(sg, instance_id=iid)}
    complete_task(sg, ready[element_id], user, data)


def card_titles(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator(".deal-card .card-link").all_inner_texts()]


def test_open_the_board_filter_by_owner_and_open_a_deal(board_app, new_page, artifacts):
    lena = signed_in(new_page(board_app.url), "lena")
    with lena.expect_navigation():
        lena.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
    assert lena.url.endswith("/pipeline")
    discovery = lena.locator(".stage-column[data-stage=Discovery]")
    totals = " ".join(discovery.locator(".column-totals").inner_text().split())
    # Of the two closed deals, both passed qualification and none was won: the forecast is $0.
    assert totals == "Deals 3 Value $1,270,000 Forecast $0", totals
    assert "0.0% won from here (0 of 1 closed)" in discovery.inner_text()
    assert card_titles(lena) == [f"#{board_app.deals[n]} {n}" for n in ("Harbour cranes", "Wind farm seals",
                                                                       "Clinic pumps")]
    late = discovery.locator(".deal-card.is-late")
    assert late.count() == 2, "four days in discovery, past its p90 of two"
    colour = late.first.locator(".days").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(179, 38, 30)", colour
    lena.screenshot(path=str(artifacts / "pipeline-board.png"), full_page=True)

    lena.fill("input[name=owner]", "sally")
    with lena.expect_navigation():
        lena.get_by_role("button", name="Filter").click()
    assert "owner=sally" in lena.url
    assert card_titles(lena) == [f"#{board_app.deals[n]} {n}" for n in ("Wind farm seals", "Clinic pumps")]
    lena.screenshot(path=str(artifacts / "pipeline-filtered.png"), full_page=True)

    with lena.expect_navigation():
        lena.locator(".deal-card", has_text="Clinic pumps").click()  # anywhere on the card
    assert lena.url.endswith(f"/deals/{board_app.deals['Clinic pumps']}")
    assert "Clinic pumps" in lena.locator("h1").inner_text()
    assert not [e for e in lena.errors if "pageerror" in e or "HTTP" in e], lena.errors

    lena.goto("/deals?q=PUMPS&sort=value")  # the same columns on the list, found by name in any case
    rows = lena.locator("table.deals tbody tr")
    assert rows.count() == 1 and "Lumen Health" in rows.first.inner_text()
    lena.goto("/deals")
    lena.screenshot(path=str(artifacts / "deals-list.png"), full_page=True)


def test_at_390_px_the_columns_stack_and_the_board_does_not_scroll_sideways(board_app, new_page, artifacts):
    sam = signed_in(new_page(board_app.url), "sam")
    sam.set_viewport_size({"width": 390, "height": 844})
    sam.goto("/pipeline")
    board = sam.locator(".board")
    assert board.evaluate("b => b.scrollWidth <= b.clientWidth"), "the board itself fits"
    lefts = sam.locator(".stage-column").evaluate_all("cs => cs.map(c => Math.round(c.getBoundingClientRect().left))")
    assert len(set(lefts)) == 1, f"columns stacked, not side by side: {lefts}"
    sam.screenshot(path=str(artifacts / "pipeline-390.png"), full_page=True)
