"""The deals list: search by number, name, customer or business key; sort; how each deal stands
(killed at which gate); pages that keep the filters; same-named deals told apart."""
import re

import pytest

from engine.services.instances import start_instance
from tests.drive import DISCOVERY, GOOD_PROSPECT, sign_offs_and_gate

from .conftest import text


@pytest.fixture
def deals(driver, sg):
    """Two deals named alike for different customers, a cheap older one, one killed at the proposal gate."""
    clock = sg.clock
    old = driver.start(deal_name="Line upgrade", customer="Fjord Energy", deal_value=90000)["id"]
    clock.advance(days=4)
    killed = driver.to_proposal()
    sign_offs_and_gate(driver, killed, decision="kill")
    clock.advance(days=1)
    first = start_instance(driver.fresh(), "opportunity", "sam", {**GOOD_PROSPECT, "customer": "Helios Power",
                                                                 "deal_value": 700000}, business_key="CRM-77")["id"]
    second = start_instance(driver.fresh(), "opportunity", "sally", {**GOOD_PROSPECT, "customer": "Ionic Devices",
                                                                    "deal_value": 300000}, business_key="ERP-9")["id"]
    return {"old": old, "killed": killed, "first": first, "second": second}


def numbers(response) -> list[int]:
    """The deal numbers listed, in order."""
    return [int(n) for n in re.findall(r'<span class="deal-no">#(\d+)</span>', response.get_data(as_text=True))]


def test_search_finds_by_customer_key_number_and_name_in_any_case(sign_in, deals):
    sam = sign_in("sam")
    assert numbers(sam.get("/deals?q=helios")) == [deals["first"]]
    assert numbers(sam.get("/deals?q=erp-")) == [deals["second"]], "business key, anywhere in it"
    assert numbers(sam.get(f"/deals?q=%23{deals['old']}")) == [deals["old"]]
    assert numbers(sam.get(f"/deals?q={deals['killed']}")) == [deals["killed"]]
    assert numbers(sam.get("/deals?q=LINE UP")) == [deals["old"]]
    assert numbers(sam.get("/deals?q=100%25")) == [], "% is a plain character"
    empty = sam.get("/deals?q=nobody")
    assert "No deals matching “nobody” that you can see." in text(empty)


def test_two_deals_of_the_same_name_are_told_apart(sign_in, deals):
    html = sign_in("sam").get("/deals?q=acme pumps").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    shown = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]
    # number, name, business key, (process and start day), customer, value, owner
    assert re.match(rf"#{deals['second']} Acme pumps ERP-9 Opportunity v\d+, started [\d-]+ Ionic Devices \$300,000 sally ",
                    shown[0]), shown[0]
    assert re.match(rf"#{deals['first']} Acme pumps CRM-77 Opportunity v\d+, started [\d-]+ Helios Power \$700,000 sam ",
                    shown[1]), shown[1]


def test_the_list_sorts_by_value_age_days_in_stage_and_number(sign_in, deals):
    sam = sign_in("sam")
    everyone = [deals["second"], deals["first"], deals["killed"], deals["old"]]  # newest first
    assert numbers(sam.get("/deals")) == everyone
    assert numbers(sam.get("/deals?sort=value")) == [deals["first"], deals["killed"], deals["second"], deals["old"]]
    assert numbers(sam.get("/deals?sort=value&dir=asc")) == [deals["old"], deals["second"], deals["killed"],
                                                             deals["first"]]
    assert numbers(sam.get("/deals?sort=age")) == [deals["old"], deals["killed"], deals["first"], deals["second"]]
    assert numbers(sam.get("/deals?sort=number")) == sorted(everyone)
    # Only open deals have days in stage: the old deal has waited five days, the closed one none.
    days = sam.get("/deals?sort=days")
    assert numbers(days)[0] == deals["old"] and numbers(days)[-1] == deals["killed"]
    assert "5.0 d" in text(days)
    assert numbers(sam.get("/deals?sort=bogus")) == everyone


def test_the_outcome_says_killed_at_which_gate(sign_in, deals):
    html = sign_in("lena").get("/deals?status=completed").get_data(as_text=True)
    cell = re.search(r'data-label="Outcome" class="outcome">(.*?)</td>', html, re.S).group(1)
    assert " ".join(re.sub(r"<[^>]+>", " ", cell).split()) == "killed at Proposal margin too thin"
    open_deal = sign_in("lena").get(f"/deals?q=%23{deals['old']}").get_data(as_text=True)
    assert re.search(r'deal-outcome-open" title="open">open<', open_deal)


def test_the_board_filters_apply_to_the_list(sign_in, deals):
    sam = sign_in("sam")
    assert numbers(sam.get("/deals?owner=sally")) == [deals["second"]]
    assert numbers(sam.get("/deals?min_value=300000&max_value=600000")) == [deals["second"], deals["killed"]]
    assert numbers(sam.get("/deals?stage=Discovery&status=running")) == [deals["second"], deals["first"], deals["old"]]


def test_pages_of_fifty_keep_the_search_and_sort(sg, catalog, sign_in):
    for i in range(53):
        start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": f"Pump {i:02}", "deal_value": 1000 + i})
    sam = sign_in("sam")
    first = sam.get("/deals?q=pump&sort=value&dir=asc")
    assert len(numbers(first)) == 50 and "53 deals, page 1 of 2" in text(first)
    html = first.get_data(as_text=True)
    link = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "q=pump" in link and "sort=value" in link and "dir=asc" in link and "page=2" in link
    second = sam.get(link)
    assert "Pump 50" in text(second) and "Pump 52" in text(second) and "Pump 49" not in text(second)
    assert len(numbers(second)) == 3 and '<a rel="prev"' in second.get_data(as_text=True)
    assert len(numbers(sam.get("/deals?q=pump&page=99"))) == 3, "past the end shows the last page"
