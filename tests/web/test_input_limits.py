"""Input size and shape, where users meet them: bodies past the request limit (413), text fields
past their maxlength, JSON too deep or holding what no database stores, query values past what
a column holds (400 naming the parameter), downloads of odd ids, and audit exports that fail.

Chunked bodies through a real server are in tests/test_serve_limits.py; the sweep of every
route with hostile values is tests/web/test_hostile_input.py.
"""
from __future__ import annotations

import json
import re

from sqlalchemy import select, text as sql, update

from engine import audit
from engine.services.deployment import deploy
from engine.limits import DEFAULT_MAXLENGTH, MAX_JSON_DEPTH
from engine.store.models import Instance, ProcessVersion
from tests import diagram_factory as f
from tests.drive import GOOD_PROSPECT, PROPOSAL
from tests.snapshot import stored

from .conftest import text


def _ready(driver, iid, element_id):
    return driver.ready(iid)[element_id]["id"]


# -- request size -----------------------------------------------------------------------------------

def test_a_20_mb_start_field_is_refused_with_413_naming_the_limit_and_nothing_is_stored(sg, api):
    sam = api("sam")
    before = stored(sg)
    r = sam("POST", "/api/v1/instances", {"process_id": "opportunity",
                                           "data": {**GOOD_PROSPECT, "customer": "x" * 20_000_000}})
    assert r.status_code == 413
    message = r.get_json()["error"]
    assert "at most 1 MB" in message and "Nothing was stored" in message, message
    assert stored(sg) == before


def test_a_form_past_the_request_limit_is_a_413_page(sg, sign_in):
    sam = sign_in("sam")
    before = stored(sg)
    r = sam.post("/start/opportunity", {**GOOD_PROSPECT, "customer": "x" * 2_000_000}, page="/start/opportunity")
    assert r.status_code == 413 and "a request may carry at most 1 MB" in text(r)
    assert stored(sg) == before


def test_the_designer_takes_a_diagram_of_up_to_5_mb_and_says_so_past_it(sign_in):
    dora = sign_in("dora")
    token = dora.token("/designer/")
    r = dora.client.post("/designer/validate", json={"kind": "bpmn", "xml": "x" * (11 * 1024 * 1024)},
                         headers={"X-CSRFToken": token})
    assert r.status_code == 413 and "a diagram may be at most 5 MB" in r.get_json()["message"]
    # 2 MB (past the 1 MB of other pages) is read and checked: it is just not a diagram.
    r = dora.client.post("/designer/validate", json={"kind": "bpmn", "xml": "x" * (2 * 1024 * 1024)},
                         headers={"X-CSRFToken": token})
    assert r.status_code == 200 and not r.get_json()["ok"]


# -- text fields ----------------------------------------------------------------------------------

def test_a_text_field_without_maxlength_takes_at_most_10000_characters(sg, api, sign_in):
    sam = api("sam")
    before = stored(sg)
    r = sam("POST", "/api/v1/instances", {"process_id": "opportunity",
                                           "data": {**GOOD_PROSPECT, "customer": "x" * (DEFAULT_MAXLENGTH + 1)}})
    assert r.status_code == 400 and r.get_json()["errors"] == {"customer": "must be at most 10000 characters"}
    assert stored(sg) == before
    r = sam("POST", "/api/v1/instances", {"process_id": "opportunity",
                                           "data": {**GOOD_PROSPECT, "customer": "x" * DEFAULT_MAXLENGTH}})
    assert r.status_code == 201
    # The browser is told too, so it stops the typing there.
    page = sign_in("sam").get("/start/opportunity").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="customer"[^>]*maxlength="10000"', page), page
    assert re.search(r'<input[^>]*name="deal_name"[^>]*maxlength="200"', page), "the diagram's own maxlength"


def test_a_diagram_may_allow_a_longer_text_up_to_the_cap(sg, api):
    xml = f.process().replace('<camunda:constraint name="required" />',
                              '<camunda:constraint name="maxlength" config="50000" />', 1)
    deploy(sg, f.files(("deal.bpmn", xml)), "cli:test")
    sam = api("sam")
    r = sam("POST", "/api/v1/instances", {"process_id": "deal_review", "data": {"deal_name": "x" * 50_000}})
    assert r.status_code == 201, r.get_json()
    r = sam("POST", "/api/v1/instances", {"process_id": "deal_review", "data": {"deal_name": "x" * 50_001}})
    assert r.status_code == 400 and r.get_json()["errors"] == {"deal_name": "must be at most 50000 characters"}


# -- JSON shape -------------------------------------------------------------------------------------

def _deep(n: int) -> str:
    return "[" * n + "]" * n


def test_json_nested_1000_deep_is_a_400_naming_the_depth(sg, api, sign_in, driver):
    sam, dora = api("sam"), sign_in("dora")
    iid = driver.to_proposal()
    task_id = _ready(driver, iid, "Task_PrepareProposal")
    before = stored(sg)
    bodies = {"/api/v1/instances": '{"process_id": "opportunity", "data": {"customer": ' + _deep(1000) + "}}",
              f"/api/v1/tasks/{task_id}/complete": '{"data": {"price": ' + _deep(1000) + "}}"}
    for path, body in bodies.items():
        r = sam("POST", path, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.status_code)
        assert f"deeper than {MAX_JSON_DEPTH} levels" in r.get_json()["error"], r.get_json()
    r = dora.client.post("/designer/validate", data='{"kind": "bpmn", "xml": ' + _deep(1000) + "}",
                         content_type="application/json", headers={"X-CSRFToken": dora.token("/designer/")})
    assert r.status_code == 400 and f"deeper than {MAX_JSON_DEPTH} levels" in r.get_json()["message"]
    assert stored(sg) == before


def test_a_lone_surrogate_in_start_or_complete_data_is_a_400_naming_it(sg, api, sign_in, driver):
    sam, dora = api("sam"), sign_in("dora")
    iid = driver.to_proposal()
    task_id = _ready(driver, iid, "Task_PrepareProposal")
    before = stored(sg)
    start = json.dumps({"process_id": "opportunity", "data": {**GOOD_PROSPECT, "customer": "Acme \ud800"}})
    complete = json.dumps({"data": {**PROPOSAL, "proposal_summary": "\ud800"}})
    for path, body in (("/api/v1/instances", start), (f"/api/v1/tasks/{task_id}/complete", complete)):
        r = sam("POST", path, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "lone surrogate (U+D800)" in r.get_json()["error"], r.get_json()
    r = dora.client.post("/designer/validate", data=json.dumps({"kind": "bpmn", "xml": "<a>\ud800</a>"}),
                         content_type="application/json", headers={"X-CSRFToken": dora.token("/designer/")})
    assert r.status_code == 400 and "lone surrogate" in r.get_json()["message"]
    assert stored(sg) == before


def test_web_forms_refuse_a_nul_and_keep_bytes_that_are_not_utf_8_as_text(sg, sign_in, driver):
    sam = sign_in("sam")
    token = sam.token("/start/opportunity")
    form = "&".join(f"{k}={v}" for k, v in {**GOOD_PROSPECT, "budget_confirmed": "true"}.items() if k != "customer")
    before = stored(sg)
    r = sam.client.post("/start/opportunity", data=f"csrf_token={token}&{form}&customer=Acme%00",
                        content_type="application/x-www-form-urlencoded")
    assert r.status_code == 422 and "holds a NUL character" in text(r)
    assert stored(sg) == before
    # A browser sends a lone surrogate as U+FFFD already; the bytes of one (not UTF-8) stay as sent.
    r = sam.client.post("/start/opportunity", data=f"csrf_token={token}&{form}&customer=Acme%ED%A0%80",
                        content_type="application/x-www-form-urlencoded")
    assert r.status_code == 302
    with sg.uow(write=False) as uow:
        customer = uow.session.execute(select(Instance.data).order_by(Instance.id.desc())).scalars().first()["customer"]
    assert customer == "Acme%ED%A0%80"
    iid = driver.to_proposal()
    task = _ready(driver, iid, "Task_PrepareProposal")
    r = sam.post(f"/tasks/{task}", {**PROPOSAL, "proposal_summary": "two skids\x00"}, page=f"/tasks/{task}")
    assert r.status_code == 422 and "holds a NUL character" in text(r)


# -- query values -----------------------------------------------------------------------------------

HUGE = "99999999999999999999"


def test_query_values_past_what_a_column_holds_are_4xx_saying_which(sign_in):
    ada, lena, dora = sign_in("ada"), sign_in("lena"), sign_in("dora")
    cases = [
        (ada, f"/audit?version={HUGE}", 422, "is not a version number (1 to 9,223,372,036,854,775,807)"),
        (ada, "/audit?version=²", 422, "'²' is not a version number"),
        (ada, f"/audit/export.json?version={HUGE}", 422, "nothing exported: version"),
        (ada, f"/audit/export.csv?version={HUGE}", 422, "nothing exported: version"),
        (ada, "/audit?since=2026-01-01&until=9999-12-31", 422, "must be from 1900-01-01 to 9998-12-31"),
        (lena, f"/metrics?version={HUGE}", 400, "version must be at most 9,223,372,036,854,775,807"),
        (lena, "/metrics?version=²", 400, "version '²' is not a whole number"),
        (lena, "/metrics?from=2026-01-01&to=9999-12-31", 400, "to date must be from 1900-01-01 to 9998-12-31"),
        (lena, f"/metrics.csv?version={HUGE}", 400, "version must be at most"),
        (dora, f"/designer/processes/opportunity/diff?base={HUGE}&head=1", 400, "query parameter base: must be at most"),
        (dora, "/designer/processes/opportunity/edit?version=²", 400, "query parameter version: '²' is not a whole"),
        (sign_in("sam"), "/?process=a%00b", 400, "query parameter process: holds a NUL character"),
    ]
    for b, path, status, message in cases:
        r = b.get(path)
        assert r.status_code == status and message in text(r), (path, r.status_code, text(r)[:300])


def test_a_page_number_that_is_not_one_shows_the_first_page(sign_in, driver):
    driver.start(annual_revenue_musd=30)
    assert "Page 1 of" in text(sign_in("ada").get("/audit?page=²"))
    r = sign_in("lena").get("/metrics/deals?key=funnel/qualification/kill&page=²")
    assert r.status_code == 200 and "1 deal behind" in text(r)


def test_a_30_digit_cpa_threshold_is_refused_saying_the_limit(sg, sign_in):
    lena = sign_in("lena")
    before = stored(sg)
    r = lena.post("/metrics/cpa-review", {"threshold": "9" * 30}, page="/metrics", follow_redirects=True)
    assert r.status_code == 200
    assert "Nothing was flagged: the CPA threshold must be at most 9,223,372,036,854,775,807" in text(r)
    assert stored(sg) == before


def test_api_query_and_body_ids_past_bounds_are_400_naming_the_field(api):
    sam = api("sam")
    r = sam("GET", f"/api/v1/gate-decisions?instance_id={HUGE}")
    assert r.status_code == 400 and r.get_json()["errors"] == {"instance_id": "must be at most 9,223,372,036,854,775,807"}
    r = sam("GET", "/api/v1/tasks?role=" + "r" * 256)
    assert r.status_code == 400 and r.get_json()["errors"] == {"role": "is longer than 255 characters"}
    r = sam("POST", "/api/v1/instances", {"process_id": "opportunity\x00", "data": GOOD_PROSPECT})
    assert r.status_code == 400 and r.get_json()["errors"] == {"process_id": "holds a NUL character"}


# -- downloads and exports --------------------------------------------------------------------------

def test_a_version_whose_id_holds_a_line_break_downloads_under_a_safe_name(sg, sign_in):
    # Deploy refuses such ids now; a database from before may still hold one.
    with sg.engine.begin() as conn:
        conn.execute(update(ProcessVersion).where(ProcessVersion.process_id == "discount_approval")
                     .values(process_id="discount\r\napproval"))
    r = sign_in("dora").get("/designer/bpmn/discount%0D%0Aapproval/versions/1?download=1")
    assert r.status_code == 200 and r.data.startswith(b"<?xml")
    assert r.headers["Content-Disposition"] == 'attachment; filename="discount__approval-v1.bpmn"'


def _events(sg, n):
    with sg.uow() as uow:
        for i in range(n):
            audit.record(uow.session, sg.now(), "cli:test", "note", details={"i": i})
        uow.commit()


def _export_breaking_midway(sg, ada, path):
    """Read the export's first chunks, then take the audit table away as a failing disk would."""
    _events(sg, 1100)  # more than one batch of 1,000
    r = ada.client.get(path, buffered=False)
    assert r.status_code == 200
    chunks, body = iter(r.response), ""
    while body.count("\n") < 2:  # a row or two are out: the first batch has been read
        body += next(chunks).decode()
    with sg.engine.begin() as conn:
        conn.execute(sql("ALTER TABLE audit_events RENAME TO audit_events_gone"))
    try:
        body += "".join(c.decode() for c in chunks)
    finally:
        with sg.engine.begin() as conn:
            conn.execute(sql("ALTER TABLE audit_events_gone RENAME TO audit_events"))
        r.close()
    return body


def test_a_json_export_that_fails_midway_is_visibly_broken(sg, sign_in):
    body = _export_breaking_midway(sg, sign_in("ada"), "/audit/export.json")
    assert not body.rstrip().endswith("]"), "no closing bracket: a JSON reader refuses the file"
    last = json.loads(body.rstrip().splitlines()[-1])
    assert last["export_failed"].startswith("the export failed after 1000 events") and "incomplete" in last["export_failed"]
    try:
        json.loads(body)
    except ValueError:
        pass
    else:
        raise AssertionError("a broken export parsed as complete JSON")


def test_a_csv_export_that_fails_midway_ends_with_a_failure_row(sg, sign_in):
    body = _export_breaking_midway(sg, sign_in("ada"), "/audit/export.csv")
    last = body.rstrip().splitlines()[-1]
    assert last.startswith("#export-failed,") and "the export failed after 1000 events" in last
    assert len(body.splitlines()) == 1 + 1000 + 1, "the header, the rows read, the failure row"
