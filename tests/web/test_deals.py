"""The deals list and a deal's page, and the diagram source behind the viewer."""
import re

import pytest

from tests.drive import DISCOVERY

from .conftest import text


@pytest.fixture
def deals(driver):
    """One deal killed at qualification, one recycled then through discovery, one discount request."""
    killed = driver.start(deal_name="Tiny shop", annual_revenue_musd=20)["id"]
    recycled = driver.start(deal_name="Big plant")["id"]
    driver.work(recycled, "Task_Discovery", "sam", **DISCOVERY)
    driver.work(recycled, "Task_DiscoveryGateReview", "lena", discovery_decision="recycle",
                discovery_note="meet the CFO first")
    driver.work(recycled, "Task_Discovery", "sam", **DISCOVERY)
    driver.work(recycled, "Task_DiscoveryGateReview", "lena", discovery_decision="go", discovery_note="sponsor found")
    discount = driver.start(process_id="discount_approval", deal_name="Small discount", list_price=10000,
                            discount_pct=5, justification="loyal customer")["id"]
    return {"killed": killed, "recycled": recycled, "discount": discount}


def row(html, title) -> str:
    start = html.index(f">{title}</a>")
    return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]


def test_the_deals_page_shows_stage_status_end_and_gate_badges(sign_in, deals):
    r = sign_in("sam").get("/deals")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    killed = row(html, "Tiny shop")
    assert '<span class="badge outcome outcome-kill">qualification: kill</span>' in killed
    assert "completed" in killed and re.search(r'data-label="Ended">\d{4}-\d\d-\d\d<', killed)
    big = row(html, "Big plant")
    badges = re.findall(r'outcome-(\w+)">([^<]+)<', big)
    assert badges == [("go", "qualification: go"), ("recycle", "discovery: recycle"), ("go", "discovery: go")]
    assert "running" in big and "Proposal" in big and 'data-label="Ended">—' in big
    assert "Small discount" in html


def test_the_deals_list_and_page_show_each_deals_outcome(sign_in, deals, driver):
    from tests.drive import close, sign_offs_and_gate
    ends = {}
    for result in ("won", "lost"):
        ends[result] = iid = driver.start(deal_name=f"Deal to be {result}")["id"]
        driver.work(iid, "Task_Discovery", "sam", **DISCOVERY)
        driver.work(iid, "Task_DiscoveryGateReview", "lena", discovery_decision="go", discovery_note="fine")
        sign_offs_and_gate(driver, iid)
        close(driver, iid, result)
    lena = sign_in("lena")
    html = lena.get("/deals").get_data(as_text=True)
    outcome = re.compile(r'data-label="Outcome" class="outcome">(.*?)</td>', re.S)

    def shown(title):
        return " ".join(re.sub(r"<[^>]+>", " ", outcome.search(row(html, title)).group(1)).split())
    assert shown("Tiny shop") == "killed at Qualification annual revenue $20MM is below $50MM"
    assert shown("Deal to be won") == "won" and shown("Deal to be lost") == "lost"
    assert shown("Big plant") == "open" and shown("Small discount") == "open"
    assert "completed" in row(html, "Deal to be won") and "completed" in row(html, "Tiny shop"), "status stays"

    won = lena.get(f"/deals/{ends['won']}").get_data(as_text=True)
    assert 'data-outcome="won"' in won and "Ended at Deal won" in text(lena.get(f"/deals/{ends['won']}"))
    assert 'data-outcome="lost"' in lena.get(f"/deals/{ends['lost']}").get_data(as_text=True)
    killed = text(lena.get(f"/deals/{deals['killed']}"))
    assert "Killed at the Qualification gate Reason: annual revenue $20MM is below $50MM" in killed


def test_the_deals_page_filters_by_status(sign_in, deals):
    sam = sign_in("sam")
    done = sam.get("/deals?status=completed").get_data(as_text=True)
    assert "Tiny shop" in done and "Big plant" not in done
    running = sam.get("/deals?status=running").get_data(as_text=True)
    assert "Big plant" in running and "Tiny shop" not in running
    assert "Tiny shop" in sam.get("/deals?status=bogus").get_data(as_text=True), "an unknown status shows all"


def test_deals_are_shown_only_to_those_who_work_the_process(sign_in, deals):
    lou = sign_in("lou").get("/deals").get_data(as_text=True)  # Legal: in opportunity, not in discounts
    assert "Big plant" in lou and "Small discount" not in lou
    dora = sign_in("dora").get("/deals")  # Process Designer: no lane anywhere
    assert dora.status_code == 200 and "No deals" in text(dora) and "Big plant" not in dora.get_data(as_text=True)


def test_the_deal_page_shows_data_tasks_gates_history_and_diagram(sign_in, deals, driver):
    iid = deals["recycled"]
    r = sign_in("sam").get(f"/deals/{iid}")
    assert r.status_code == 200
    html, page = r.get_data(as_text=True), text(r)
    assert "<h1>Big plant</h1>" in html
    assert "Acme Industrial" in page and "Plant director" in page
    assert "Prospect annual revenue ($MM)" in page and "Annual revenue musd" not in page, \
        "data is labelled as the diagram's forms label it"
    task = driver.ready(iid)["Task_PrepareProposal"]
    assert f'<a href="/tasks/{task["id"]}">Prepare proposal</a>' in html
    gates = html[html.index('<table class="gates">'):]
    gates = gates[:gates.index("</table>")]
    rows = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in gates.split("<tr>")[2:]]
    assert rows[0].startswith("Qualification go decision qualification (rule Rule_Qualified)")
    assert rows[1].startswith("Discovery recycle lena meet the CFO first discovery_decision = recycle")
    assert rows[2].startswith("Discovery go lena sponsor found")
    assert "Discovery gate: recycle (by lena: 'meet the CFO first')" in page
    assert page.count("sam completed Discovery") == 2
    assert 'data-src="/diagrams/opportunity/1.bpmn"' in html
    assert "&#34;Task_Discovery&#34;: 2" in html, "visited twice, JSON escaped inside the attribute"


def test_the_deal_page_is_403_without_a_role_in_the_process(sign_in, deals):
    for name, iid in (("dora", deals["recycled"]), ("lou", deals["discount"])):
        r = sign_in(name).get(f"/deals/{iid}")
        assert r.status_code == 403, name
        body = r.get_data(as_text=True)
        for secret in ("Big plant", "Small discount", "Acme Industrial", "Plant director", "loyal customer",
                       'id="diagram"'):
            assert secret not in body, (name, secret)
        assert f"{name} may not see deal #{iid}" in text(r)


def test_the_diagram_source_is_the_bpmn_xml(sign_in, deals):
    r = sign_in("sam").get("/diagrams/opportunity/1.bpmn")
    assert r.status_code == 200
    assert r.mimetype == "application/xml"
    body = r.get_data(as_text=True)
    assert body.startswith("<?xml") and 'id="opportunity"' in body and "bpmndi:BPMNDiagram" in body
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_the_diagram_source_is_403_for_outsiders_and_404_for_unknown_versions(sign_in, deals):
    dora = sign_in("dora").get("/diagrams/opportunity/1.bpmn")
    assert dora.status_code == 403 and "bpmn:definitions" not in dora.get_data(as_text=True)
    assert sign_in("lou").get("/diagrams/discount_approval/1.bpmn").status_code == 403
    missing = sign_in("sam").get("/diagrams/opportunity/9.bpmn")
    assert missing.status_code == 404 and "no version 9 of process 'opportunity'" in text(missing)


def test_an_id_too_large_for_the_database_is_not_found_not_a_crash(sign_in):
    too_big = str(2**63)  # one past BIGINT: SQLite cannot even compare it with a column
    lena, ada = sign_in("lena"), sign_in("ada")
    assert lena.get(f"/deals/{too_big}").status_code == 404
    assert lena.get(f"/deals/{2**63 - 1}").status_code == 404  # the largest id that could exist, and does not
    assert ada.get(f"/audit/deals/{too_big}").status_code == 404
    assert lena.get(f"/diagrams/opportunity/{too_big}.bpmn").status_code == 404
