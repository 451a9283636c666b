"""After completing a task the page says what happens next: who works the deal now, what it waits
for, or how it ended."""
import re
from html import unescape

from engine.services.users import add_user
from tests.drive import DISCOVERY, LOOK_BACK, PRICING_OK, PROPOSAL

from .test_tasks import as_form


def said_after(browser, task_id, values) -> list[str]:
    """The flash messages on the page the completed task's form lands on."""
    r = browser.post(f"/tasks/{task_id}", as_form(values), page=f"/tasks/{task_id}")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    html = browser.get(r.location).get_data(as_text=True)
    return [" ".join(unescape(m).split()) for m in re.findall(r'<p class="flash[^"]*" role="status">([^<]*)</p>', html)]


def test_the_proposal_says_the_erp_prices_it_before_the_sign_offs(sign_in, driver):
    iid = driver.to_proposal()
    said = said_after(sign_in("sam"), driver.ready(iid)["Task_PrepareProposal"]["id"], PROPOSAL)
    assert said == ["Done: Prepare proposal on Acme pumps.",
                    "Waiting for an outside system to do \u201cGet list price from ERP\u201d."]


def test_one_sign_off_of_three_says_who_is_still_to_sign(sign_in, driver):
    iid = driver.to_sign_offs()
    said = said_after(sign_in("fiona"), driver.ready(iid)["Task_SignOffPricing"]["id"], PRICING_OK)
    assert said[1] == "Still waiting for Supply (Sign off delivery date) and Quality (Sign off specifications)."


def test_the_next_task_names_its_role_and_says_when_it_is_ones_own(sg, sign_in, driver):
    iid = driver.start()["id"]
    said = said_after(sign_in("sam"), driver.ready(iid)["Task_Discovery"]["id"], DISCOVERY)
    assert said[1] == "Next: Discovery gate review (Sales Leadership)."
    add_user(sg, "sue", ["Sales", "Sales Leadership"], "cli:test")
    other = driver.start()["id"]
    said = said_after(sign_in("sue"), driver.ready(other)["Task_Discovery"]["id"], DISCOVERY)
    assert said[1] == "Next: Discovery gate review (Sales Leadership, that is you)."


def test_a_hold_says_which_timer_the_deal_waits_for(sign_in, driver):
    iid = driver.start()["id"]
    driver.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    said = said_after(sign_in("lena"), driver.ready(iid)["Task_DiscoveryGateReview"]["id"],
                      {"discovery_decision": "hold", "discovery_note": "budget next quarter", "hold_days": 30})
    assert said[1] == "Waiting for the timer \u201cHold period over\u201d."


def test_the_last_task_of_a_won_deal_says_it_is_won(sign_in, driver):
    iid = driver.to_negotiation()
    driver.work(iid, "Task_Negotiate", "sally", outcome="won", final_price=440000)
    said = said_after(sign_in("lena"), driver.ready(iid)["Task_LookBack"]["id"], LOOK_BACK)
    assert said[1] == "The deal is won."
