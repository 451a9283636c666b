"""Starting a deal from the web: who may, the start form, and where it leads."""
import re

from engine.queries import records as queries
from tests.drive import GOOD_PROSPECT
from tests.snapshot import stored

from .conftest import text
from .test_tasks import as_form, field_html


def test_the_start_page_lists_what_the_user_may_start(sign_in, app):
    page = sign_in("sam").get("/start")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<a href="/start/opportunity">Opportunity</a>' in html
    assert 'href="/start/discount_approval"' in html
    fiona = sign_in("fiona").get("/start")
    assert "None of your roles may start a process." in text(fiona)
    assert 'href="/start/opportunity"' not in fiona.get_data(as_text=True)


def test_the_start_form_is_drawn_from_the_diagram(sign_in, app):
    html = sign_in("sam").get("/start/opportunity").get_data(as_text=True)
    assert "Prospect annual revenue ($MM)" in field_html(html, "annual_revenue_musd")
    assert 'maxlength="200"' in field_html(html, "deal_name")
    assert '<option value="medical">Medical devices</option>' in field_html(html, "industry")
    budget = field_html(html, "budget_confirmed")
    assert 'type="checkbox"' in budget and " checked" not in budget, "default false: unticked"


def test_starting_a_deal_opens_its_page(sg, sign_in, app):
    sam = sign_in("sam")
    r = sam.post("/start/opportunity", as_form(GOOD_PROSPECT))
    assert r.status_code == 302
    found = re.fullmatch(r"/deals/(\d+)", r.location)
    assert found, r.location
    deal = sam.get(r.location)
    assert deal.status_code == 200
    page = text(deal)
    assert "Started Acme pumps." in page and "Acme Industrial" in page
    assert "Discovery" in page, "the first open task is listed"
    shown = queries.instance(sg, int(found.group(1)))
    assert shown["started_by"] == "sam" and shown["data"]["budget_confirmed"] is True


def test_a_prospect_the_qualification_gate_kills_is_reported_as_killed_not_as_started(sign_in, app):
    sam = sign_in("sam")
    r = sam.post("/start/opportunity", as_form({**GOOD_PROSPECT, "deal_name": "Tiny shop", "annual_revenue_musd": 20}))
    html = sam.get(r.location).get_data(as_text=True)
    flash = re.search(r'<p class="flash flash-(\w+)" role="status">([^<]*)</p>', html)
    assert flash.group(1) == "warning", "not a green success"
    assert " ".join(flash.group(2).split()) == ("Started Tiny shop, and it was killed at the Qualification gate: "
                                                "annual revenue $20MM is below $50MM.")
    banner = re.search(r'<div class="outcome-banner outcome-banner-killed"[^>]*data-outcome="killed">(.*?)</div>',
                       html, re.S)
    words = " ".join(re.sub(r"<[^>]+>", " ", banner.group(1)).split())
    assert words == ("Killed at the Qualification gate Reason: annual revenue $20MM is below $50MM "
                     "Ended at Disqualified")

    r = sam.post("/start/opportunity", as_form(GOOD_PROSPECT))
    html = sam.get(r.location).get_data(as_text=True)
    assert '<p class="flash flash-success" role="status">Started Acme pumps.</p>' in html
    assert "outcome-banner" not in html, "an open deal has no outcome to announce"
    assert 'deal-outcome-open" title="open">open</span>' in html


def test_a_bad_start_form_is_shown_again_and_nothing_is_started(sg, sign_in, app):
    sam = sign_in("sam")
    before = stored(sg)
    r = sam.post("/start/opportunity", {**as_form(GOOD_PROSPECT), "annual_revenue_musd": "-5", "customer": ""})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Prospect annual revenue ($MM) must be at least 0" in field_html(html, "annual_revenue_musd")
    assert "Customer is required" in field_html(html, "customer")
    assert 'value="Acme pumps"' in field_html(html, "deal_name")
    assert stored(sg) == before


def test_a_user_who_may_not_start_gets_403_and_nothing_is_started(sg, sign_in, app):
    fiona = sign_in("fiona")
    assert fiona.get("/start/opportunity").status_code == 403
    before = stored(sg)
    r = fiona.post("/start/opportunity", as_form(GOOD_PROSPECT))
    assert r.status_code == 403 and "fiona may not start 'opportunity'" in text(r)
    assert stored(sg) == before


def test_what_users_type_is_shown_as_text_never_as_markup(sign_in, app):
    sam = sign_in("sam")
    r = sam.post("/start/opportunity", as_form({**GOOD_PROSPECT, "deal_name": "<script>alert(1)</script>"}))
    html = sam.get(r.location).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_start_page_says_what_each_process_is_for_by_name(sign_in, app):
    page = sign_in("sam").get("/start")
    words = text(page)
    assert "A sales opportunity from first contact to won or lost" in words, "the diagram's documentation"
    assert "Sales Leadership approves discounts up to 10%" in words
    assert "opportunity ·" not in words and "discount_approval" not in words, "names, not ids"
    assert "A sales opportunity from first contact" in text(sign_in("sam").get("/start/opportunity"))


def test_a_process_not_for_people_to_start_is_hidden_and_refused(sg, sign_in, app):
    """cpa_review says camunda:isStartableInTasklist="false": the metrics page starts it, not a person."""
    lena = sign_in("lena")  # Sales Leadership, who works (and may flag) the reviews
    assert 'href="/start/cpa_review"' not in lena.get("/start").get_data(as_text=True)
    before = stored(sg)
    for r in (lena.get("/start/cpa_review"), lena.post("/start/cpa_review", {"deal_name": "x"}, page="/start")):
        assert r.status_code == 403
        assert "High-CPA deal review is not started from the start page" in text(r)
    assert stored(sg) == before
