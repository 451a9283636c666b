"""Demo data: one user per role and opportunities at every stage, made through the services."""
from __future__ import annotations

from pathlib import Path

from . import queries
from .deployment import collect_files, deploy
from .instances import complete_task, start_instance
from .users import add_user

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams"

DEMO_USERS = {
    "sam": ["Sales"],
    "fiona": ["Finance"],
    "pete": ["Supply"],
    "lena": ["Sales Leadership"],
    "dora": ["Process Designer"],
}

_PROSPECTS = [
    ("Acme pumps retrofit", "Acme Industrial", 240, "energy", True, 850000),
    ("Borealis turbine seals", "Borealis Aero", 1200, "aerospace", True, 2300000),
    ("Corner shop fittings", "Corner Shop Ltd", 4, "consumer", True, 12000),
    ("Delta stent tooling", "Delta Medical", 310, "medical", True, 640000),
    ("Evergreen line upgrade", "Evergreen Motors", 95, "automotive", False, 410000),
    ("Fjord compressor fleet", "Fjord Energy", 560, "energy", True, 1750000),
    ("Gamma chassis jigs", "Gamma Auto", 780, "automotive", True, 920000),
]


def _work(sg, iid, element_id, user, data):
    task = next(t for t in queries.ready_tasks(sg, instance_id=iid) if t["element_id"] == element_id)
    complete_task(sg, task["id"], user, data)


def load_demo(sg) -> dict:
    """Deploy the catalog, add the demo users and run a handful of deals to different points."""
    deployed = deploy(sg, collect_files([DIAGRAMS]), "cli:demo", comment="demo catalog")
    for name, roles in DEMO_USERS.items():
        add_user(sg, name, roles, "cli:demo")
    deals = []
    for i, (title, customer, revenue, industry, budget, value) in enumerate(_PROSPECTS):
        deal = start_instance(sg, "opportunity", "sam", {
            "deal_name": title, "customer": customer, "annual_revenue_musd": revenue, "industry": industry,
            "budget_confirmed": budget, "deal_value": value})
        iid = deal["id"]
        deals.append(iid)
        if deal["status"] != "running" or i == 0:
            continue  # killed at qualification, or left waiting for its proposal
        _work(sg, iid, "Task_PrepareProposal", "sam", {
            "price": value, "margin_pct": 18 + i, "requested_delivery_date": f"2027-0{1 + i % 8}-15",
            "proposal_summary": f"Proposal for {customer}"})
        if i == 1:
            continue  # waiting for both sign-offs
        _work(sg, iid, "Task_SignOffPricing", "fiona", {"pricing_approved": True, "finance_comment": "within policy"})
        _work(sg, iid, "Task_SignOffDelivery", "pete", {"delivery_committed": True,
                                                        "committed_delivery_date": f"2027-0{2 + i % 7}-01"})
        if i == 3:
            continue  # waiting for the proposal gate
        decision = "kill" if i == 6 else "go"
        _work(sg, iid, "Task_ProposalGateReview", "lena", {"proposal_decision": decision,
                                                          "proposal_rationale": "reviewed against gate criteria"})
        if decision == "go":
            _work(sg, iid, "Task_Negotiate", "sam", {"outcome": "won" if i == 5 else "lost",
                                                     "final_price": int(value * 0.97),
                                                     "loss_reason": "" if i == 5 else "competitor undercut on price"})
    return {"deployed": deployed, "users": DEMO_USERS, "deals": deals}
