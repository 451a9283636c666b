"""Demo data: the catalog, one user per role, and a few dozen deals at every stage and outcome.

Deals are played through the real services on a simulated clock over the past months, so
their timestamps, timers and escalations look like a real pipeline's.
"""
from __future__ import annotations

import heapq
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from engine.queries import records as queries
from engine.clock import FrozenClock
from engine.services.deployment import collect_files, deploy
from engine.services.instances import complete_task, start_instance
from engine.services.messages import correlate_message
from engine.services.timers import fire_due_timers
from engine.services.users import add_user
from workflows import demo_integrations, erp_pricing

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams"

DEMO_PASSWORD = "stagegate"  # for the demo database only

DEMO_USERS = {
    "sam": ["Sales"],
    "sally": ["Sales"],
    "fiona": ["Finance"],
    "pete": ["Supply"],
    "quinn": ["Quality"],
    "lou": ["Legal"],
    "lena": ["Sales Leadership"],
    "carl": ["Finance Head"],
    "hank": ["Supply Head"],
    "hedy": ["Quality Head"],
    "dora": ["Process Designer"],
    "ada": ["Auditor"],
}
# Who to sign in as to see each kind of work (make run's ready block): login -> persona.
DEMO_PERSONAS = {
    "sam": "a salesperson", "fiona": "a sign-off owner (Finance)", "lena": "a gatekeeper (Sales Leadership)",
    "dora": "the process designer", "ada": "the auditor", "alex": "the administrator",
}

_CUSTOMERS = [
    ("Acme Industrial", "energy"), ("Borealis Aero", "aerospace"), ("Corner Shop Ltd", "consumer"),
    ("Delta Medical", "medical"), ("Evergreen Motors", "automotive"), ("Fjord Energy", "energy"),
    ("Gamma Auto", "automotive"), ("Helios Power", "energy"), ("Ionic Devices", "medical"),
    ("Juniper Jets", "aerospace"), ("Kestrel Mining", "other"), ("Lumen Health", "medical"),
    ("Meridian Wind", "energy"), ("Nimbus Avionics", "aerospace"), ("Orion Trucks", "automotive"),
]
_PRODUCTS = ["pump skids", "turbine seals", "line upgrade", "compressor fleet", "chassis jigs",
             "stent tooling", "gearbox overhaul", "valve retrofit", "test rig", "control cabinets"]

# Where each demo deal stops: (fate, count).
_FATES = [
    ("low_revenue", 3), ("not_served", 3), ("no_budget", 2),
    ("discovery", 3), ("discovery_gate", 2), ("killed_discovery", 3), ("hold", 2), ("recycle_won", 2),
    ("proposal", 2), ("sign_offs", 2), ("overdue_sign_offs", 2), ("cfo", 2), ("proposal_gate", 2),
    ("killed_proposal", 3), ("contract", 1), ("negotiation", 2),
    ("look_back", 2), ("won", 7), ("lost", 4),
]
_ORDER = ["discovery", "discovery_gate", "proposal", "sign_offs", "proposal_gate", "contract", "negotiation",
          "look_back", "closed"]


def _steps(fate: str, rng: random.Random, value: int):
    """The user steps of one deal: (element_id, user, data, hours to wait before it)."""
    def hours(lo, hi):
        return rng.uniform(lo, hi)

    stop = {"discovery": "discovery", "discovery_gate": "discovery_gate", "proposal": "proposal",
            "sign_offs": "sign_offs", "overdue_sign_offs": "sign_offs", "cfo": "sign_offs",
            "proposal_gate": "proposal_gate", "contract": "contract", "negotiation": "negotiation",
            "look_back": "look_back"}.get(fate, "closed")

    def reached(point):
        return _ORDER.index(stop) > _ORDER.index(point)

    if fate in ("low_revenue", "not_served", "no_budget") or not reached("discovery"):
        return  # stopped at the qualification gate, or waiting for discovery
    yield "Task_Discovery", "sam", {"pain_points": "Unplanned downtime and scrap on the main line",
                                    "decision_maker": "Operations director"}, hours(24, 24 * 6)
    if fate == "killed_discovery":
        yield "Task_DiscoveryGateReview", "lena", {"discovery_decision": "kill",
                                                   "discovery_note": "no executive sponsor"}, hours(12, 72)
        return
    if fate == "hold":
        yield "Task_DiscoveryGateReview", "lena", {"discovery_decision": "hold", "hold_days": 21,
                                                   "discovery_note": "budget cycle starts next quarter"}, hours(12, 72)
        return
    if fate == "recycle_won":
        yield "Task_DiscoveryGateReview", "lena", {"discovery_decision": "recycle",
                                                   "discovery_note": "map the buying committee first"}, hours(12, 72)
        yield "Task_Discovery", "sally", {"pain_points": "Downtime; buying committee mapped",
                                          "decision_maker": "CFO and plant director",
                                          "recycle_note": "met the CFO"}, hours(48, 24 * 7)
    if not reached("discovery_gate"):
        return
    yield "Task_DiscoveryGateReview", "lena", {"discovery_decision": "go",
                                               "discovery_note": "clear pain and a budget holder"}, hours(12, 72)
    if not reached("proposal"):
        return
    margin = 11 if fate == "cfo" else rng.randint(16, 38)
    yield "Task_PrepareProposal", "sam", {"price": value, "margin_pct": margin,
                                          "requested_delivery_date": "2027-06-30",
                                          "proposal_summary": "Supply, install and commission"}, hours(24, 24 * 8)
    if not reached("sign_offs"):
        return
    if margin < 15 or value > 1_000_000:  # pricing.dmn sends these to the CFO
        yield "Task_CfoApproval", "carl", {"cfo_approved": True, "cfo_comment": "strategic logo"}, hours(8, 48)
    yield "Task_SignOffPricing", "fiona", {"pricing_approved": True, "finance_comment": "within policy"}, hours(2, 18)
    # On the recycled deals the plant manager is slow: past the 3-business-day SLA (at most 5 days).
    yield "Task_SignOffDelivery", "pete", {"delivery_committed": True, "committed_delivery_date": "2027-07-15"}, \
        hours(24 * 6, 24 * 8) if fate == "recycle_won" else hours(2, 18)
    yield "Task_SignOffQuality", "quinn", {"specs_approved": True, "quality_comment": "standard specs"}, hours(2, 18)
    if not reached("proposal_gate"):
        return
    decision = "kill" if fate == "killed_proposal" else "go"
    yield "Task_ProposalGateReview", "lena", {"proposal_decision": decision,
                                              "proposal_rationale": "margin below target for the risk"
                                              if decision == "kill" else "fits our capacity and margin"}, hours(8, 72)
    if decision == "kill" or not reached("contract"):
        return
    if value % 20000:
        yield "Task_ContractReview", "lou", {"contract_approved": True, "legal_comment": "standard terms"}, \
            hours(24, 24 * 5)
    else:  # the customer signs the terms as sent: the e-signature service's message closes Legal's review
        yield MESSAGE + "contract signed", ESIGN, {"contract_signed_via": "e-signature"}, hours(24, 24 * 5)
    if not reached("negotiation"):
        return
    won = fate in ("won", "recycle_won", "look_back") and not (fate == "look_back" and rng.random() < 0.5)
    yield "Task_Negotiate", "sam", ({"outcome": "won", "final_price": int(value * rng.uniform(0.9, 1.0))} if won else
                                    {"outcome": "lost", "loss_reason": rng.choice(
                                        ["competitor undercut on price", "project postponed", "chose in-house"])}), \
        hours(24 * 5, 24 * 20)
    if not reached("look_back"):
        return
    yield "Task_LookBack", "lena", {"lessons_learned": "Early plant visit built trust; pricing review took too long"
                                    if won else "We engaged procurement too late",
                                    "acquisition_cost": rng.randint(6, 40) * 1000,
                                    "repeat_customer_profile": won}, hours(24, 24 * 7)


MESSAGE = "message:"  # a step that is a message from outside, not a user task
ESIGN = "esign"  # the e-signature service's account (Integration role)

_HEADS = {"Task_EscalatePricing": "carl", "Task_EscalateDelivery": "hank", "Task_EscalateQuality": "hedy"}


def _handle_escalations(sg, instance_id: int, fate: str) -> None:
    """Department heads chase what escalated to them (except on the deals left overdue for the demo).
    An escalation whose sign-off is done first closes with it, without the head."""
    if fate == "overdue_sign_offs":
        return
    for t in queries.ready_tasks(sg, instance_id=instance_id):
        if t["element_id"] in _HEADS:
            complete_task(sg, t["id"], _HEADS[t["element_id"]], {"escalation_action": "called the approver"})


def _prospect(fate: str, i: int, rng: random.Random) -> dict:
    customer, industry = _CUSTOMERS[i % len(_CUSTOMERS)]
    revenue = rng.randint(60, 2400)
    budget = True
    if fate == "low_revenue":
        revenue = rng.randint(5, 45)
    elif fate == "not_served":
        industry = rng.choice(["consumer", "other"])
    elif fate == "no_budget":
        budget = False
    if fate != "not_served" and industry not in ("automotive", "aerospace", "medical", "energy"):
        industry = "energy"  # a prospect meant to pass qualification must be in a served industry
    # Deals waiting on sign-offs stay within finance authority, so Finance has work in the demo.
    value = rng.randint(8, 90) * 10000 if fate in ("sign_offs", "overdue_sign_offs") else rng.randint(8, 250) * 10000
    return {"deal_name": f"{customer} {_PRODUCTS[i % len(_PRODUCTS)]}", "customer": customer,
            "annual_revenue_musd": revenue, "industry": industry, "budget_confirmed": budget,
            "deal_value": value}


def load_demo(sg_factory, now: datetime | None = None, days: int = 150, seed: int = 7) -> dict:
    """Deploy the catalog, add the demo users and play the demo deals over the past `days` days.

    `sg_factory(clock)` builds the runtime on the demo database with the given clock."""
    now = now or datetime.now(timezone.utc)
    clock = FrozenClock(now - timedelta(days=days))
    sg = sg_factory(clock)
    rng = random.Random(seed)
    deployed = deploy(sg, collect_files([DIAGRAMS]), "cli:demo", comment="demo catalog")
    for name, roles in DEMO_USERS.items():
        add_user(sg, name, roles, "cli:demo", password=DEMO_PASSWORD)
    add_user(sg, ESIGN, ["Integration"], "cli:demo")  # no password: systems use API tokens
    erp_pricing.ensure_user(sg)

    fates = [f for f, n in _FATES for _ in range(n)]
    rng.shuffle(fates)
    queue: list = []
    for i, fate in enumerate(fates):
        start_at = clock.now() + timedelta(days=(days - 40) * i / len(fates), hours=rng.uniform(0, 20))
        heapq.heappush(queue, (start_at, i, "start", fate, None))
    deals, plans = {}, {}
    while queue:
        at, i, kind, fate, step = heapq.heappop(queue)
        if at > now:
            continue  # the rest of this deal lies in the future: it stays where it is
        clock._now = at
        fire_due_timers(sg)
        if kind == "start":
            data = _prospect(fate, i, rng)
            deals[i] = start_instance(sg, "opportunity", "sam", data)["id"]
            plans[i] = _steps(fate, rng, data["deal_value"])
        elif step[0].startswith(MESSAGE):
            # As `stagegate message "contract signed" --business-key <deal number>` would send it.
            correlate_message(sg, step[0].removeprefix(MESSAGE), step[1], business_key=str(deals[i]),
                              variables=step[2])
        else:
            element, user, values = step
            ready = {t["element_id"]: t for t in queries.ready_tasks(sg, instance_id=deals[i])}
            if element not in ready:
                raise RuntimeError(f"demo deal {deals[i]} ({fate}): {element} is not ready; ready: {sorted(ready)}")
            complete_task(sg, ready[element]["id"], user, values)
            _handle_escalations(sg, deals[i], fate)
        erp_pricing.serve_pending(sg)  # the ERP stand-in prices a proposal as soon as it is made
        nxt = next(plans[i], None)
        if nxt is not None:
            element, user, values, wait = nxt
            heapq.heappush(queue, (at + timedelta(hours=wait), i, "step", fate, (element, user, values)))
    clock._now = now
    fire_due_timers(sg)
    demo_integrations.set_up(sg, DEMO_USERS, DEMO_PASSWORD, now)
    return {"deployed": deployed, "users": {**DEMO_USERS, **demo_integrations.DEMO_ADMIN}, "deals": sorted(deals.values())}
