"""The metrics pages: who may see them, drill-downs, CSV, bad filters, what-if and CPA reviews."""
from __future__ import annotations

import csv
import io
import time

import pytest

from engine.services.users import add_user
from tests.conftest import DIAGRAMS

from .conftest import text

DEPLOYED_DMN = (DIAGRAMS / "qualification.dmn").read_text()
FLOOR_100 = DEPLOYED_DMN.replace("&lt; 50<", "&lt; 100<").replace("&gt;= 50<", "&gt;= 100<")


def replay(b, data, **kwargs):
    """Post a what-if replay as the metrics page's form does, follow its job page until the
    replay is done, and return that page (the replay runs in the background)."""
    r = b.post("/metrics/what-if", data, page="/metrics", **kwargs)
    assert r.status_code == 303, r.get_data(as_text=True)
    page = r.headers["Location"]
    deadline = time.monotonic() + 120
    while b.get(page + ".json").get_json()["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the replay did not finish"
        time.sleep(0.05)
    return b.get(page)


@pytest.fixture
def deals(driver):
    """A won deal (acquisition cost 41,000), a deal killed at qualification, one at revenue 70 (open)."""
    won = driver.to_negotiation()
    driver.work(won, "Task_Negotiate", "sam", outcome="won", final_price=400000)
    driver.work(won, "Task_LookBack", "lena", lessons_learned="the plant visit won it", acquisition_cost=41000)
    killed = driver.start(annual_revenue_musd=20)["id"]
    mid = driver.start(annual_revenue_musd=70)["id"]
    return {"won": won, "killed": killed, "mid": mid}


def test_leadership_designers_and_auditors_see_the_metrics_others_get_403(sg, sign_in, deals):
    add_user(sg, "audrey", ["Auditor"], "cli:test")
    for user in ("lena", "dora", "audrey"):
        b = sign_in(user)
        page = b.get("/metrics")
        assert page.status_code == 200, user
        body = text(page)
        assert "Funnel by gate" in body and "Time in stage" in body and "Trend per month" in body
        assert 'href="/metrics"' in b.get("/").get_data(as_text=True)  # the nav link
        assert "the plant visit won it" in body  # look-back lessons
        assert replay(b, {"dmn_xml": FLOOR_100}).status_code == 200, \
            f"{user}: a what-if replay changes nothing, so auditors may run it too"

    b = sign_in("sam")
    for url in ("/metrics", "/metrics.csv", "/metrics/deals?key=won"):
        r = b.get(url)
        assert r.status_code == 403, url
        assert "Acme" not in text(r) and "41,000" not in text(r)
    assert b.post("/metrics/what-if", {"dmn_xml": FLOOR_100}).status_code == 403
    assert 'href="/metrics"' not in b.get("/").get_data(as_text=True)


def test_every_number_links_to_its_deals_and_the_csv_has_them_too(sign_in, deals):
    b = sign_in("lena")
    html = b.get("/metrics").get_data(as_text=True)
    assert "/metrics/deals?key=funnel/qualification/kill" in html
    r = b.get("/metrics/deals?key=funnel/qualification/kill")
    assert r.status_code == 200
    assert f'href="/deals/{deals["killed"]}"' in r.get_data(as_text=True)
    assert f'href="/deals/{deals["won"]}"' not in r.get_data(as_text=True)
    assert "1 deal behind" in text(r)
    assert b.get("/metrics/deals?key=no/such").status_code == 404
    # A page number past the end, or not a number, still lists the deals (the last, or the first, page).
    for page in ("7", "x"):
        r = b.get(f"/metrics/deals?key=funnel/qualification/kill&page={page}")
        assert r.status_code == 200 and f'href="/deals/{deals["killed"]}"' in r.get_data(as_text=True)

    r = b.get("/metrics.csv?from=2000-01-01")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = {(x["section"], x["item"], x["measure"]): x for x in csv.DictReader(io.StringIO(r.get_data(as_text=True)))}
    assert rows[("funnel", "qualification", "entered")]["value"] == "3"
    assert rows[("funnel", "qualification", "kill")]["deal_ids"] == str(deals["killed"])
    assert rows[("outcomes", "", "cpa")]["value"] == "41000.0"
    assert rows[("outcomes", "", "won")]["deal_ids"] == str(deals["won"])

    r = b.get("/metrics?from=2026-02-30")
    assert r.status_code == 400
    assert "from date '2026-02-30' is not a date" in text(r)


def test_what_if_from_pasted_xml_or_a_file_and_bad_drafts(sign_in, deals):
    b = sign_in("dora")
    r = replay(b, {"dmn_xml": FLOOR_100})
    assert r.status_code == 200
    body = text(r)
    assert "Passes replayed: 3" in body and "Would change: 1" in body and "go → kill" in body
    assert f'href="/deals/{deals["mid"]}"' in r.get_data(as_text=True)
    upload = {"dmn_file": (io.BytesIO(DEPLOYED_DMN.encode()), "qualification.dmn")}
    r = replay(b, upload, content_type="multipart/form-data")
    assert r.status_code == 200 and "Would change: 0" in text(r) and "No recorded outcome would change" in text(r)

    for xml, message in (("", "Paste the decision table's XML or choose a .dmn file"),
                         ("<definitions", "draft.dmn:1: XML syntax error"),
                         (DEPLOYED_DMN.replace("&lt; 50<", "&lt; 50 +<"), "does not compile")):
        r = b.post("/metrics/what-if", {"dmn_xml": xml}, page="/metrics")
        assert r.status_code == 400 and message in text(r)
    assert b.post("/metrics/what-if", {"dmn_xml": FLOOR_100}, token=False).status_code == 400  # no CSRF token


def test_only_leadership_flags_costly_deals_for_review_once(sign_in, deals):
    b = sign_in("lena")
    assert 'name="threshold"' in b.get("/metrics").get_data(as_text=True)
    r = b.post("/metrics/cpa-review", {"threshold": "30000"}, page="/metrics", follow_redirects=True)
    assert "1 high-CPA reviews started" in text(r)
    assert "Review high-CPA deal" in text(b.get("/"))
    r = b.post("/metrics/cpa-review", {"threshold": "30000"}, page="/metrics", follow_redirects=True)
    assert "0 high-CPA reviews started" in text(r) and "1 deals already had one" in text(r)
    r = b.post("/metrics/cpa-review", {"threshold": "many"}, page="/metrics", follow_redirects=True)
    assert "'many' is not a whole number" in text(r)

    b = sign_in("dora")  # a designer reads the metrics but does not start reviews
    assert 'name="threshold"' not in b.get("/metrics").get_data(as_text=True)
    assert b.post("/metrics/cpa-review", {"threshold": "30000"}, page="/metrics").status_code == 403


def test_an_auditors_runaway_table_is_stopped_and_the_page_names_the_limit(sg, sign_in, deals, monkeypatch):
    from engine import sandbox

    monkeypatch.setattr(sandbox, "JOB_LIMITS", sandbox.JOB_LIMITS.with_(cpu_seconds=1, wall_seconds=4))
    runaway = DEPLOYED_DMN.replace("&lt; 50<", "? == len(set(range(0, (2**61-1)*10**6, 2**61-1)))<")
    add_user(sg, "audrey", ["Auditor"], "cli:test")
    b = sign_in("audrey")
    started = time.monotonic()
    r = b.post("/metrics/what-if", {"dmn_xml": runaway}, page="/metrics")
    assert r.status_code == 303 and time.monotonic() - started < 2, "posting returns at once"
    page = r.headers["Location"]
    waiting = b.get(page)
    assert waiting.status_code == 200
    html = waiting.get_data(as_text=True)
    assert f'data-status-url="{page}.json"' in html and "js/what_if_job.js" in html
    assert "Replaying the recorded gate decisions" in text(waiting) or "Waiting for the replay" in text(waiting)
    assert b.get("/metrics").status_code == 200, "the server answers meanwhile"
    deadline = time.monotonic() + 60
    while (status := b.get(page + ".json").get_json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "failed" and status["limit"] in ("cpu", "wall"), status
    body = text(b.get(page))
    assert "The replay did not finish (limit: " in body and "it went over the sandbox's" in body
    assert sign_in("lena").get(page).status_code == 404, "a replay is its poster's"
