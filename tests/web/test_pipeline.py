"""The pipeline board: open deals by stage with days in stage, open tasks, column totals and a
forecast weighted by each stage's recorded conversion to won; filters and who sees what."""
import importlib
import re

import pytest
from sqlalchemy import update

from engine.services.claims import claim_task
from engine.store.models import Instance
from tests.drive import DISCOVERY, close, sign_offs_and_gate
from workflows.pipeline import board

from .conftest import text


@pytest.fixture
def pipeline(driver, sg):
    """Four closed deals (killed at qualification, won, lost, killed at the proposal gate), their
    discovery taking two days each; then three open deals and a discount request."""
    clock = sg.clock
    driver.start(deal_name="Tiny shop", annual_revenue_musd=20)
    for end in ("won", "lost", "kill"):
        iid = driver.start(deal_name=f"Closed {end}")["id"]
        driver.work(iid, "Task_Discovery", "sam", **DISCOVERY)
        clock.advance(days=2)
        driver.work(iid, "Task_DiscoveryGateReview", "lena", discovery_decision="go", discovery_note="fine")
        sign_offs_and_gate(driver, iid, decision="kill" if end == "kill" else "go")
        if end != "kill":
            close(driver, iid, end)
    waiting = driver.start(deal_name="Waiting pumps", customer="Borealis Aero", deal_value=500000)["id"]
    clock.advance(days=3)  # past discovery's p90 of 2 days
    fresh = driver.start("sally", deal_name="Fresh pumps", customer="Corner Shop Ltd", deal_value=200000)["id"]
    proposal = driver.to_sign_offs()
    sign_off = driver.ready(proposal)["Task_SignOffPricing"]["id"]
    claim_task(driver.fresh(), sign_off, "fiona")
    discount = driver.start(process_id="discount_approval", deal_name="Small discount", list_price=10000,
                            discount_pct=5, justification="loyal customer")["id"]
    return {"waiting": waiting, "fresh": fresh, "proposal": proposal, "discount": discount}


def column(html: str, stage: str) -> str:
    start = html.index(f'data-stage="{stage}"')
    return html[start:html.index("</section>", start)]


def totals(html: str, stage: str) -> dict:
    return dict(re.findall(r'data-col="(\w+)">([^<]+)<', column(html, stage)))


CARD = re.compile(r'class="card-link" href="/deals/\d+"><span class="deal-no">#\d+</span> ([^<]+)</a>')


def cards(html: str, stage: str) -> list[str]:
    return CARD.findall(column(html, stage))


def test_the_board_shows_open_deals_by_stage_with_totals_and_forecast(sign_in, pipeline):
    r = sign_in("lena").get("/pipeline")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    stages = ["Qualification", "Discovery", "Proposal", "Negotiation", "Closed"]
    assert re.findall(r'data-stage="(\w+)"', html) == stages
    # Discovery: 3 of the 4 closed deals passed it (won, lost, killed at proposal), 1 was won: 1/3.
    assert totals(html, "Discovery") == {"count": "2", "value": "$700,000", "forecast": "$233,333"}
    assert "33.3% won from here (1 of 3 closed)" in text_of(column(html, "Discovery"))
    # Proposal: the same three closed deals passed it, one won; the open deal's expected value is 500,000.
    assert totals(html, "Proposal") == {"count": "1", "value": "$500,000", "forecast": "$166,667"}
    assert totals(html, "Qualification") == {"count": "0", "value": "$0", "forecast": "—"}
    # The discount request's stage is Negotiation; it has no value and no closed discount request to learn from.
    assert totals(html, "Negotiation") == {"count": "1", "value": "$0", "forecast": "—"}
    assert "no closed Discount approval deals passed here yet" in text_of(column(html, "Negotiation"))
    assert cards(html, "Negotiation") == ["Small discount"]
    assert cards(html, "Discovery") == ["Waiting pumps", "Fresh pumps"], "longest in the stage first"
    assert 'data-total="forecast">$400,000<' in html and 'data-total="count">4<' in html
    assert "Forecast: each deal's value × the share of its process's closed deals" in text(r)


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_a_card_shows_number_customer_value_owner_days_and_who_holds_the_task(sign_in, pipeline):
    html = sign_in("lena").get("/pipeline").get_data(as_text=True)
    discovery = column(html, "Discovery")
    waiting = discovery[discovery.index(f'href="/deals/{pipeline["waiting"]}"'):]
    waiting = waiting[:waiting.index("</li>")]
    assert f"#{pipeline['waiting']}" in waiting and "Borealis Aero" in waiting and "$500,000" in waiting
    assert "sam" in waiting and "Discovery Sales, unclaimed" in text_of(waiting)
    assert '<span class="days late" title="p90 for Discovery: 2.0 days">3.0 d' in waiting, "red past the p90"
    fresh = discovery[discovery.index(f'href="/deals/{pipeline["fresh"]}"'):]
    assert '<span class="days" title="p90 for Discovery: 2.0 days">0.0 d' in fresh[:fresh.index("</li>")]
    proposal = text_of(column(html, "Proposal"))
    assert "Sign off pricing and margin claimed by fiona" in proposal
    assert "Sign off delivery date Supply, unclaimed" in proposal


def test_the_filters_narrow_the_board(sign_in, pipeline):
    lena = sign_in("lena")

    def shown(query):
        html = lena.get(f"/pipeline?{query}").get_data(as_text=True)
        return sorted(CARD.findall(html))
    assert shown("owner=sally") == ["Fresh pumps"]
    assert shown("process=discount_approval") == ["Small discount"]
    assert shown("min_value=250,000") == ["Acme pumps", "Waiting pumps"]
    assert shown("max_value=250000") == ["Fresh pumps"]
    html = lena.get("/pipeline?stage=Discovery").get_data(as_text=True)
    assert re.findall(r'data-stage="(\w+)"', html) == ["Discovery"]
    bad = lena.get("/pipeline?min_value=lots")
    assert bad.status_code == 400 and "Value from 'lots' is not a whole number" in text(bad)
    assert "Waiting pumps" in bad.get_data(as_text=True), "the other filters still apply"


def test_the_board_shows_only_deals_the_user_may_see(sign_in, browser, pipeline):
    lou = sign_in("lou").get("/pipeline").get_data(as_text=True)  # Legal: works opportunities, not discounts
    assert "Waiting pumps" in lou and "Small discount" not in lou
    dora = sign_in("dora").get("/pipeline")  # Process Designer: no lane anywhere
    assert dora.status_code == 200 and 'data-total="count">0<' in dora.get_data(as_text=True)
    assert "Waiting pumps" not in dora.get_data(as_text=True)
    r = browser.get("/pipeline")
    assert r.status_code == 302 and "/login" in r.location


def test_a_card_opens_the_deal_and_the_nav_links_the_board(sign_in, pipeline):
    sam = sign_in("sam")
    html = sam.get("/pipeline").get_data(as_text=True)
    assert '<a href="/pipeline" aria-current="page">Pipeline</a>' in html
    link = re.search(rf'class="card-link" href="(/deals/{pipeline["waiting"]})"', html).group(1)
    assert "Waiting pumps" in text(sam.get(link))


def test_a_column_lists_its_longest_waiting_deals_and_links_the_rest(sg, sign_in, pipeline, monkeypatch):
    discovery = [c for c in board(sg, "lena", cards=1)["columns"] if c["stage"] == "Discovery"][0]
    assert [d["id"] for d in discovery["cards"]] == [pipeline["waiting"]]
    assert discovery["count"] == 2 and discovery["more"] == 1
    assert round(discovery["forecast"], 2) == 233333.33 and discovery["value"] == 700000
    monkeypatch.setattr(importlib.import_module("workflows.pipeline.board"), "CARDS_PER_STAGE", 1)
    lena = sign_in("lena")
    html = lena.get("/pipeline?owner=sally").get_data(as_text=True)
    assert cards(html, "Discovery") == ["Fresh pumps"] and "more in the deals list" not in html
    html = column(lena.get("/pipeline").get_data(as_text=True), "Discovery")
    link = re.search(r'<p class="more"><a href="([^"]+)">1 more in the deals list</a>', html).group(1)
    listed = lena.get(link.replace("&amp;", "&"))
    assert "stage=Discovery" in link and "status=running" in link and "sort=days" in link
    assert re.findall(r'<span class="deal-no">#(\d+)</span>', listed.get_data(as_text=True)) == [
        str(pipeline["waiting"]), str(pipeline["fresh"])], "the column's deals, longest in the stage first"


def test_a_value_that_is_not_a_number_is_shown_as_none_and_breaks_nothing(sg, sign_in, pipeline):
    with sg.engine.begin() as conn:
        conn.execute(update(Instance).where(Instance.id == pipeline["fresh"]).values(
            data={"deal_name": "Fresh pumps", "customer": "Corner Shop Ltd", "deal_value": "lots"}))
    lena = sign_in("lena")
    r = lena.get("/pipeline")
    assert r.status_code == 200 and totals(r.get_data(as_text=True), "Discovery")["value"] == "$500,000"
    assert lena.get("/deals?sort=value&min_value=1").status_code == 200
