"""The auditor's pages: a deal's full history, the log with its exports, deployments, the chain check;
and the auditor's write requests, every one refused and audited."""
import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from engine.services.deployment import deploy
from engine.store.models import AuditEvent
from tests.conftest import DIAGRAMS
from tests.drive import PRICING_OK, PROPOSAL
from tests.snapshot import stored
from tests.tamper import tamper

from .conftest import text

READS = {"GET", "HEAD", "OPTIONS"}
SESSION = {"auth.login", "auth.logout"}
AUDIT_PAGES = ["/audit", "/audit/deployments", "/audit/verify", "/audit/export.csv", "/audit/export.json"]


def _write_routes(app, values):
    """(method, url) of every route that changes something, with real ids filled in."""
    for rule in app.url_map.iter_rules():
        methods = rule.methods - READS
        if getattr(app.view_functions[rule.endpoint], "reads_only", False):
            continue  # a POST that changes nothing, e.g. the what-if replay
        if not methods or rule.endpoint in SESSION or rule.endpoint.startswith(("api.", "engine_rest.")):
            continue  # the token APIs take no session: see test_api's and test_external_rest's auditor tests
        url = rule.rule
        for name, value in values.items():
            url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
        assert "<" not in url, f"no sample value for {rule.rule}: add one so the auditor test covers it"
        for method in sorted(methods):
            yield method, url


def _refusals(sg):
    with sg.uow(write=False) as uow:
        return [(e.actor, e.details) for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.kind == "refused").order_by(AuditEvent.seq)).scalars()]


def test_every_write_route_refuses_the_auditor_and_records_the_attempt(app, sg, sign_in, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    ada = sign_in("ada")
    token = ada.token("/")
    values = {"task_id": task_id, "instance_id": iid, "process_id": "opportunity", "version": 1,
              "kind": "bpmn", "key": "opportunity", "token_id": 1, "sub_id": 1, "filter_id": 1}
    routes = list(_write_routes(app, values))
    assert len(routes) >= 5, routes  # complete, claim, release, reassign, start at least
    for method, url in routes:
        before = stored(sg)
        r = ada.client.open(url, method=method, data={"csrf_token": token, "to_user": "sally", **PROPOSAL})
        assert r.status_code == 403, f"{method} {url} answered {r.status_code}"
        assert "auditors read, they change nothing" in text(r)
        after = stored(sg)
        assert len(after.pop("audit")) == len(before.pop("audit")) + 1 and after == before, f"{method} {url}"
        actor, details = _refusals(sg)[-1]
        assert actor == "ada" and details["path"] == url and details["action"] == f"{method} {url}"
    assert len(_refusals(sg)) == len(routes)


def test_the_audit_pages_are_for_auditors_only(sign_in, driver):
    iid = driver.start()["id"]
    sam = sign_in("sam")
    for path in AUDIT_PAGES + [f"/audit/deals/{iid}"]:
        r = sam.get(path)
        assert r.status_code == 403 and "needs the role 'auditor'" in text(r), path
    assert 'href="/audit"' not in sam.get("/").get_data(as_text=True), "no Audit link for staff"
    ada = sign_in("ada")
    assert 'href="/audit"' in ada.get("/").get_data(as_text=True)
    for path in AUDIT_PAGES + [f"/audit/deals/{iid}"]:
        assert ada.get(path).status_code == 200, path


def _entry(html, element_id) -> str:
    """The text of the (first) timeline entry of `element_id`, as a reader sees it."""
    start = html.index(">", html.index(f'data-element="{element_id}"')) + 1
    return " ".join(re.sub(r"<[^>]+>", " ", html[start:html.index("</li>", start)]).split()).replace(" :", ":")


def test_a_gate_kill_shows_its_inputs_the_rule_and_the_reason(sign_in, driver):
    iid = driver.start(annual_revenue_musd=30)["id"]
    html = sign_in("ada").get(f"/audit/deals/{iid}").get_data(as_text=True)
    decision = _entry(html, "Task_CheckQualification")
    assert "decision qualification: rule Rule_RevenueTooLow" in decision
    assert "Inputs Annual revenue ($MM) 30 Budget confirmed yes Industry energy" in decision
    assert "Matched rule Rule_RevenueTooLow (Prospect annual revenue below the $50MM floor)" in decision
    gate = _entry(html, "Gateway_Qualification")
    assert "Qualification gate: kill" in gate
    assert "Decided by decision qualification (rule Rule_RevenueTooLow): annual revenue $30MM is below $50MM" in gate
    assert "Inputs qualified no" in gate
    assert "On the figures Prospect annual revenue ($MM) 30" in gate
    assert "deal ended: Disqualified" in text(sign_in("ada").get(f"/audit/deals/{iid}"))


def test_a_sign_off_shows_who_signed_on_which_figures(sign_in, driver):
    iid = driver.to_sign_offs()
    driver.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
    entry = _entry(sign_in("ada").get(f"/audit/deals/{iid}").get_data(as_text=True), "Task_SignOffPricing")
    assert "fiona completed Sign off pricing and margin" in entry
    assert "Submitted Comment margin fine Pricing and margin approved yes" in entry
    assert "Gross margin (%) 31" in entry and "Quoted price ($) 450,000" in entry


def test_the_diagram_shows_the_path_taken_and_where_the_deal_is(sign_in, driver):
    iid = driver.to_sign_offs()
    html = sign_in("ada").get(f"/audit/deals/{iid}").get_data(as_text=True)
    attrs = dict(re.findall(r'data-(flows|visited|current|timeline)="([^"]*)"', html))
    unescape = lambda v: json.loads(v.replace("&#34;", '"'))  # noqa: E731
    flows, visited, current = unescape(attrs["flows"]), unescape(attrs["visited"]), unescape(attrs["current"])
    assert attrs["timeline"] == "#timeline"
    assert {"Task_Discovery", "Task_DiscoveryGateReview", "Task_PrepareProposal"} <= set(visited)
    assert set(current) == {"Task_SignOffPricing", "Task_SignOffDelivery", "Task_SignOffQuality"}
    # flows out of plain tasks and through merges are part of the path, not just the gateways' choices
    assert {"Flow_StartToCheck", "Flow_DiscoveryGo", "Flow_ProposalToSplit", "Flow_SplitToPricing"} <= set(flows)
    assert "Flow_PricingToJoin" not in flows, "the sign-offs are not done yet"


def test_a_won_deal_shows_only_the_won_flow_out_of_won_or_lost(sign_in, driver):
    iid = driver.to_negotiation()
    driver.work(iid, "Task_Negotiate", "sally", outcome="won", final_price=440000)
    page = sign_in("ada").get(f"/audit/deals/{iid}")
    html = page.get_data(as_text=True)
    flows = json.loads(unescape_attr(dict(re.findall(r'data-(flows|visited)="([^"]*)"', html))["flows"]))
    assert "Flow_Won" in flows and "Flow_CloseMergeToLookBack" in flows
    assert "Flow_Lost" not in flows, "the deal never took the lost flow"
    assert "Won or lost?: won" in _entry(html, "Gateway_Outcome")
    assert "won, lost" not in text(page)


def unescape_attr(value: str) -> str:
    return value.replace("&#34;", '"')


def test_the_log_filters_pages_and_refuses_a_bad_filter(sign_in, driver):
    driver.start(annual_revenue_musd=30)
    iid = driver.to_proposal()
    for _ in range(6):
        driver.start(annual_revenue_musd=400, budget_confirmed=False)
    ada = sign_in("ada")
    lena = text(ada.get("/audit?actor=lena"))
    # her review, and the gate decision the engine took on it
    assert "2 events" in lena and "completed Discovery gate review" in lena and "Discovery gate: go" in lena
    kills = text(ada.get("/audit?outcome=kill"))
    assert "7 events" in kills and "Qualification gate: kill" in kills
    total = int(re.search(r"(\d+) events", text(ada.get("/audit"))).group(1))
    assert total > 50
    first = ada.get("/audit?page=1").get_data(as_text=True)
    assert 'rel="next"' in first and 'rel="prev"' not in first and "Page 1 of 2" in text(ada.get("/audit"))
    second = ada.get("/audit?page=2")
    assert f"#{total}" not in text(ada.get("/audit")) and "Page 2 of 2" in text(second)
    assert len(re.findall(r'<td data-label="#">', second.get_data(as_text=True))) == total - 50
    assert "Page 1 of" in text(ada.get("/audit?page=zero")), "a bad page number shows the first page"
    bad = ada.get("/audit?since=yesterday&version=two")
    assert bad.status_code == 422
    assert "'yesterday' is not a date" in text(bad) and "'two' is not a version number" in text(bad)
    assert ada.get("/audit/export.csv?until=31-12-2026").status_code == 422
    assert iid


def test_the_person_behind_a_gate_decision_is_found_by_the_actor_filter_in_the_log_and_both_exports(sign_in,
                                                                                                    driver):
    iid = driver.to_proposal()
    ada = sign_in("ada")
    page = ada.get("/audit?actor=lena&kind=gate_decided")
    words = text(page)
    assert "1 event" in words and "engine (after lena)" in words
    assert "Discovery gate: go (by lena: 'clear pain, budget holder engaged')" in words
    assert '<option value="lena" selected>' in page.get_data(as_text=True)
    assert "Qualification gate: go" in text(ada.get("/audit?actor=sam&kind=gate_decided")), "decided on sam's start"
    assert "2 events" in text(ada.get("/audit?actor=engine&kind=gate_decided")), "still the engine's events too"

    rows = list(csv.DictReader(io.StringIO(ada.get("/audit/export.csv?actor=lena&kind=gate_decided")
                                           .get_data(as_text=True))))
    assert [(r["actor"], r["on_behalf_of"], r["kind"], r["instance_id"], r["outcome"]) for r in rows] == [
        ("engine", "lena", "gate_decided", str(iid), "go")]
    events = json.loads(ada.get("/audit/export.json?actor=lena&kind=gate_decided").get_data(as_text=True))
    assert [(e["actor"], e["on_behalf_of"], e["details"]["gate"]) for e in events] == [("engine", "lena", "discovery")]
    assert events[0]["details"]["on_behalf_of"] == "lena", "the column says what the hashed details say"


def test_the_actor_filter_reads_indexes_not_the_whole_trail(tmp_path):
    """Checked on SQLite's query plan (PostgreSQL plans by table statistics: bench.audit_filter measures it)."""
    from sqlalchemy import func, select as sql_select

    from engine.queries.audit_log import _filtered, log_filter
    from stagegate.compose import bootstrap
    from engine.store.models import Base
    sg = bootstrap(f"sqlite:///{tmp_path / 'plan.db'}")
    Base.metadata.create_all(sg.engine)

    def plan(**chosen) -> str:
        query = _filtered(sql_select(func.count()).select_from(AuditEvent), log_filter(**chosen))
        with sg.engine.connect() as conn:
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            return " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))

    alone = plan(actor="lena")
    assert "ix_audit_events_actor" in alone and "ix_audit_events_on_behalf_of" in alone, alone
    for chosen in ({"actor": "lena"}, {"actor": "lena", "kind": "gate_decided"}):
        assert "SCAN audit_events" not in plan(**chosen), chosen
    sg.dispose()


def test_sign_ins_and_role_changes_are_in_the_log(sg, sign_in):
    from engine.services.users import add_user
    add_user(sg, "sally", ["Sales Leadership"], "cli:admin")
    ada = sign_in("ada")
    r = ada.get("/audit/export.json")
    rows = json.loads(r.get_data(as_text=True))
    kinds = {(e["kind"], e["actor"]) for e in rows}
    assert ("signed_in", "ada") in kinds and ("roles_granted", "cli:admin") in kinds
    granted = [e for e in rows if e["kind"] == "roles_granted"][-1]
    assert granted["details"] == {"user": "sally", "roles": ["sales leadership"]}
    ada.client.post("/logout", data={"csrf_token": ada.token("/")})
    ada.login("ada", password="wrong password")
    rows = json.loads(sign_in("ada").get("/audit/export.json").get_data(as_text=True))
    assert ("signed_out", "ada") in {(e["kind"], e["actor"]) for e in rows}
    # Nobody proved who they were: the attempt is anonymous, the name tried is in its details.
    failed = [e for e in rows if e["kind"] == "sign_in_failed"]
    assert [(e["actor"], e["details"]["user"]) for e in failed] == [("anonymous", "ada")]


def test_deployment_history_names_who_deployed_what_with_a_link_to_the_diff(sg, sign_in, tmp_path):
    changed = (DIAGRAMS / "opportunity.bpmn").read_text().replace('name="Discovery gate review"',
                                                                   'name="Discovery gate check"')
    (tmp_path / "opportunity.bpmn").write_text(changed)
    from engine.services.deployment import collect_files
    sg.clock.advance(days=1)
    deploy(sg, collect_files([tmp_path / "opportunity.bpmn"]), "dora", comment="renamed the review")
    html = sign_in("ada").get("/audit/deployments").get_data(as_text=True)
    row = html.split("<tbody>")[1].split("</tr>")[0]  # newest first
    assert "dora" in row and "renamed the review" in row
    assert 'href="/designer/processes/opportunity/diff?base=1&amp;head=2"' in row
    assert "Qualification gate criteria (qualification) v1 cli:test" in text(sign_in("ada").get("/audit/deployments"))


def test_the_verify_page_names_the_first_broken_event(sg, sign_in, driver):
    iid = driver.start()["id"]
    ada = sign_in("ada")
    assert "Intact: all" in text(ada.get("/audit/verify"))
    with sg.uow(write=False) as uow:
        seq = uow.session.execute(select(AuditEvent.seq).where(
            AuditEvent.instance_id == iid, AuditEvent.kind == "instance_started")).scalar_one()
    tamper(sg.engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=seq)
    page = text(ada.get("/audit/verify"))
    assert f"Broken at event {seq} (instance_started by mallory at " in page
    assert f"deal #{iid}" in page and "altered" in page


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exports_carry_the_filtered_events_with_their_data(sign_in, driver, fmt):
    driver.start(annual_revenue_musd=30)
    driver.to_proposal()
    r = sign_in("ada").get(f"/audit/export.{fmt}?kind=gate_decided")
    assert r.status_code == 200 and r.is_streamed
    assert "attachment" in r.headers["Content-Disposition"]
    body = r.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body))) if fmt == "csv" else json.loads(body)
    assert [(row["kind"], row["outcome"]) for row in rows] == [
        ("gate_decided", "kill"), ("gate_decided", "go"), ("gate_decided", "go")]
    details = rows[0]["details"] if fmt == "json" else json.loads(rows[0]["details"])
    assert details["decided_by"]["rules"] == ["Rule_RevenueTooLow"]


def test_a_formula_as_a_user_name_is_inert_in_the_csv_and_exact_in_the_json(sg, sign_in):
    formula = '=HYPERLINK("http://evil.example","click")'
    from engine.services.users import add_user
    add_user(sg, formula, ["Sales"], "cli:admin")  # a name an operator let through
    sign_in(formula)  # audited under that name
    ada = sign_in("ada")
    rows = list(csv.DictReader(io.StringIO(ada.get("/audit/export.csv?kind=signed_in").get_data(as_text=True))))
    assert [row["actor"] for row in rows] == ["'" + formula, "ada"]  # a spreadsheet shows it as text
    events = json.loads(ada.get("/audit/export.json?kind=signed_in").get_data(as_text=True))
    assert [e["actor"] for e in events] == [formula, "ada"]
