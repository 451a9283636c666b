"""Metrics on a hand-built history with known answers: deals played through the real services
on a controlled clock (won, lost, recycled then killed, disqualified, stalled, fresh)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows import metrics
from engine.clock import FrozenClock
from engine.services.deployment import deploy
from engine.errors import NotFound, Refused
from workflows.metrics.behind import ids_behind
from engine.clock import utc
from tests.conftest import DIAGRAMS
from tests.drive import (CONTRACT_OK, DELIVERY_OK, DISCOVERY, DISCOVERY_GO, GATE_GO, PRICING_OK, PROPOSAL,
                         QUALITY_OK, Driver)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=59)

RECYCLE = {"discovery_decision": "recycle", "discovery_note": "map the buying committee"}
KILL = {"proposal_decision": "kill", "proposal_rationale": "margin too thin for the risk"}
SIGN_OFFS = [("Task_SignOffPricing", "fiona", PRICING_OK), ("Task_SignOffDelivery", "pete", DELIVERY_OK),
             ("Task_SignOffQuality", "quinn", QUALITY_OK)]


def _through_proposal(discovery_days, proposal_days, sign_off_day, decision=GATE_GO):
    """Steps from discovery to the proposal gate: (day, element, user, data)."""
    d_done, gate_day = discovery_days
    prepared, decided = proposal_days
    return [(d_done, "Task_Discovery", "sam", DISCOVERY), (gate_day, "Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
            (prepared, "Task_PrepareProposal", "sam", PROPOSAL),
            *[(sign_off_day, e, u, v) for e, u, v in SIGN_OFFS],
            (decided, "Task_ProposalGateReview", "lena", decision)]


# Each deal: the day it starts, its start data, and its steps on later days (days after T0).
PLAN = {
    "won": (0, {}, [*_through_proposal((2, 3), (5, 7), 6),
                    (8, "Task_ContractReview", "lou", CONTRACT_OK),
                    (10, "Task_Negotiate", "sam", {"outcome": "won", "final_price": 400000}),
                    (11, "Task_LookBack", "lena", {"lessons_learned": "plant visit early", "acquisition_cost": 18000})]),
    "lost": (1, {}, [*_through_proposal((3, 6), (7, 8), 7.5),
                     (10, "Task_ContractReview", "lou", CONTRACT_OK),
                     (13, "Task_Negotiate", "sam", {"outcome": "lost", "loss_reason": "competitor undercut"}),
                     (14, "Task_LookBack", "lena", {"lessons_learned": "procurement too late",
                                                    "acquisition_cost": 12000})]),
    "recycled": (2, {}, [(3, "Task_Discovery", "sam", DISCOVERY), (4, "Task_DiscoveryGateReview", "lena", RECYCLE),
                         (6, "Task_Discovery", "sally", {**DISCOVERY, "recycle_note": "met the CFO"}),
                         (8, "Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
                         (9, "Task_PrepareProposal", "sam", PROPOSAL), *[(9.5, e, u, v) for e, u, v in SIGN_OFFS],
                         (10, "Task_ProposalGateReview", "lena", KILL)]),
    "disqualified": (3, {"annual_revenue_musd": 30}, []),
    "stalled": (1, {}, []),
    "fresh": (55, {}, [(57, "Task_Discovery", "sam", DISCOVERY), (58, "Task_DiscoveryGateReview", "lena", DISCOVERY_GO)]),
}


def figures_of(sg, scope):
    """The figures with the deals behind them, after checking that the database-aggregated report
    (what the page shows) gives the very same numbers."""
    fast, slow = metrics.report(sg, scope), metrics.detail(sg, scope)
    groups = slow.pop("groups")
    assert [r.pop("entered_at")[:16] for r in fast["stalled"]] == [r.pop("entered_at")[:16] for r in slow["stalled"]]
    assert fast == slow
    # Each number's drill-down, read for that number alone, lists the deals the full computation counted.
    with sg.uow(write=False) as uow:
        behind = {key: ids_behind(uow.session, scope, key, utc(sg.now())) for key in groups}
    assert behind == groups
    return {**slow, "groups": groups}


@pytest.fixture
def history(make_sg, catalog):
    """Play PLAN in time order; returns (sg at NOW, deal ids by name)."""
    clock = FrozenClock(T0)
    drive = Driver(make_sg, clock=clock)
    events = []
    for name, (start_day, data, steps) in PLAN.items():
        events.append((start_day, 0, name, None))
        events += [(day, i + 1, name, step) for i, (day, *step) in enumerate(steps)]
    ids = {}
    for day, _, name, step in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        clock._now = T0 + timedelta(days=day)
        if step is None:
            ids[name] = drive.start(**PLAN[name][1])["id"]
        else:
            element, user, data = step
            drive.work(ids[name], element, user, **data)
    clock._now = NOW
    return drive.fresh(), ids


def test_every_figure_on_a_known_history_and_in_a_period(history):
    sg, ids = history
    r = figures_of(sg, metrics.Scope())
    funnel = {g["gate"]: g for g in r["funnel"]}
    assert [g["gate"] for g in r["funnel"]] == ["qualification", "discovery", "proposal"]
    assert {k: funnel["qualification"][k] for k in ("entered", "go", "kill", "conversion_pct")} == {
        "entered": 6, "go": 5, "kill": 1, "conversion_pct": 83.3}
    # The recycled deal passed the discovery gate twice: it counts once per pass.
    assert {k: funnel["discovery"][k] for k in ("entered", "go", "recycle", "kill", "hold", "deals", "conversion_pct")} \
        == {"entered": 5, "go": 4, "recycle": 1, "kill": 0, "hold": 0, "deals": 4, "conversion_pct": 80.0}
    assert {k: funnel["proposal"][k] for k in ("entered", "go", "kill", "conversion_pct")} == {
        "entered": 3, "go": 2, "kill": 1, "conversion_pct": 66.7}

    stages = {s["stage"]: s for s in r["stages"]}
    assert [s["stage"] for s in r["stages"]] == ["Qualification", "Discovery", "Proposal", "Negotiation", "Closed"]
    # Discovery stays of 3, 5, 6 (the recycled deal's two passes are one stay) and 3 days (the fresh
    # deal); the stalled deal has not left it.
    assert (stages["Discovery"]["stays"], stages["Discovery"]["median_days"], stages["Discovery"]["p90_days"]) == (4, 4.0, 5.7)
    assert (stages["Proposal"]["stays"], stages["Proposal"]["median_days"], stages["Proposal"]["p90_days"]) == (3, 2.0, 3.6)
    assert (stages["Negotiation"]["median_days"], stages["Negotiation"]["p90_days"]) == (4.0, 4.8)
    assert (stages["Closed"]["stays"], stages["Closed"]["median_days"]) == (2, 1.0)
    assert (stages["Qualification"]["stays"], stages["Qualification"]["median_days"]) == (6, 0.0)
    assert (stages["Discovery"]["open"], stages["Discovery"]["stalled"]) == (1, 1)
    assert (stages["Proposal"]["open"], stages["Proposal"]["stalled"]) == (1, 0)  # one day in: not stalled
    assert [(d["id"], d["stage"], d["days_in_stage"]) for d in r["stalled"]] == [(ids["stalled"], "Discovery", 58.0)]

    o = r["outcomes"]
    assert {k: o[k] for k in ("closed", "won", "lost", "killed", "win_rate_pct", "avg_cycle_days", "avg_deal_size",
                              "acquisition_cost", "cpa")} == {
        "closed": 4, "won": 1, "lost": 1, "killed": 2, "win_rate_pct": 50.0, "avg_cycle_days": 12.0,
        "avg_deal_size": 400000.0, "acquisition_cost": 30000.0, "cpa": 30000.0}
    assert r["trend"] == [
        {"month": "2026-03", "started": 5, "won": 1, "lost": 1, "killed": 2, "win_rate_pct": 50.0},
        {"month": "2026-04", "started": 1, "won": 0, "lost": 0, "killed": 0, "win_rate_pct": None}]

    groups = r["groups"]
    assert groups["funnel/discovery/recycle"] == [ids["recycled"]]
    assert groups["funnel/qualification/kill"] == [ids["disqualified"]]
    assert groups["killed"] == sorted([ids["recycled"], ids["disqualified"]])
    assert groups["won"] == [ids["won"]] and groups["stalled"] == [ids["stalled"]]
    behind = metrics.deals_behind(sg, metrics.Scope(), "funnel/proposal/kill")
    assert [(d["id"], d["status"]) for d in behind["deals"]] == [(ids["recycled"], "completed")]
    # A long list is paged in id order; a page past the end shows the last one.
    killed = sorted([ids["recycled"], ids["disqualified"]])
    pages = [metrics.deals_behind(sg, metrics.Scope(), "killed", page=n, per_page=1) for n in (1, 2, 9)]
    assert [([d["id"] for d in p["deals"]], p["page"], p["pages"], p["count"]) for p in pages] == [
        ([killed[0]], 1, 2, 2), ([killed[1]], 2, 2, 2), ([killed[1]], 2, 2, 2)]

    # A period counts what happened in it.
    r = figures_of(sg, metrics.scope_from(None, None, "2026-03-01", "2026-03-12"))
    o = r["outcomes"]
    # Closed by 12 March: the deal killed at the proposal gate (12 March) and the disqualified one.
    assert (o["closed"], o["won"], o["killed"], o["win_rate_pct"], o["cpa"]) == (2, 0, 2, None, None)
    assert [(g["gate"], g["entered"]) for g in r["funnel"]] == [("qualification", 5), ("discovery", 4), ("proposal", 3)]
    later = figures_of(sg, metrics.scope_from(None, None, "2026-04-01", None))
    assert later["outcomes"]["closed"] == 0
    assert [(g["gate"], g["entered"], g["go"]) for g in later["funnel"]] == [("qualification", 1, 1), ("discovery", 1, 1)]
    assert metrics.lessons_by_month(sg, metrics.scope_from(None, None, "2026-03-14", "2026-03-31"))[0]["reviews"][0][
        "lessons_learned"] == "procurement too late"


def test_no_deals_gives_empty_figures_not_errors(sg, catalog):
    r = figures_of(sg, metrics.Scope())
    assert (r["deals"], r["funnel"], r["stages"], r["stalled"], r["trend"]) == (0, [], [], [], [])
    assert r["outcomes"]["closed"] == 0 and r["outcomes"]["win_rate_pct"] is None and r["outcomes"]["cpa"] is None
    with pytest.raises(NotFound):
        metrics.deals_behind(sg, metrics.Scope(), "funnel/qualification/go")


def test_filter_by_process_version(make_sg, sg, catalog):
    drive = Driver(make_sg, clock=sg.clock)
    first = drive.start(annual_revenue_musd=10)["id"]
    source = (DIAGRAMS / "opportunity.bpmn").read_bytes().replace(b'name="Opportunity identified"',
                                                                  b'name="Opportunity spotted"')
    files = [("opportunity.bpmn", source)] + [(p.name, p.read_bytes()) for p in DIAGRAMS.glob("*.dmn")]
    assert any(d["version"] == 2 for d in deploy(sg, files, "cli:test"))
    second = drive.start(annual_revenue_musd=20)["id"]
    assert figures_of(sg, metrics.scope_from(version=1))["groups"]["killed"] == [first]
    assert figures_of(sg, metrics.scope_from(version="2"))["groups"]["killed"] == [second]
    assert figures_of(sg, metrics.Scope())["outcomes"]["killed"] == 2


@pytest.mark.parametrize("args, message", [
    ({"version": "two"}, "version 'two' is not a whole number"),
    ({"version": 0}, "versions start at 1"),
    ({"date_from": "2026-02-30"}, "from date '2026-02-30' is not a date"),
    ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "ends (2026-03-01) before it starts"),
])
def test_bad_filters_say_what_is_wrong(args, message):
    with pytest.raises(Refused, match=message.replace("(", r"\(").replace(")", r"\)")):
        metrics.scope_from(**args)
