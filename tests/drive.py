"""Drive deals through the service layer the way users do, one user task at a time."""
from __future__ import annotations

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from workflows import erp_pricing

GOOD_PROSPECT = {
    "deal_name": "Acme pumps",
    "customer": "Acme Industrial",
    "annual_revenue_musd": 120,
    "industry": "energy",
    "budget_confirmed": True,
    "deal_value": 500000,
}
DISCOVERY = {"pain_points": "Unplanned downtime on line 3", "decision_maker": "Plant director"}
DISCOVERY_GO = {"discovery_decision": "go", "discovery_note": "clear pain, budget holder engaged"}
PROPOSAL = {"price": 450000, "margin_pct": 31, "requested_delivery_date": "2027-03-01",
            "proposal_summary": "Two pump skids, installed"}
PRICING_OK = {"pricing_approved": True, "finance_comment": "margin fine"}
DELIVERY_OK = {"delivery_committed": True, "committed_delivery_date": "2027-03-15"}
QUALITY_OK = {"specs_approved": True, "quality_comment": "standard specs"}
GATE_GO = {"proposal_decision": "go", "proposal_rationale": "strategic account"}
CONTRACT_OK = {"contract_approved": True}
LOOK_BACK = {"lessons_learned": "Early plant visit built trust", "acquisition_cost": 18000}


class Driver:
    """Runs each step on a freshly built runtime, so every user task goes through a full
    save and restore of both the instance state and the version's spec."""

    def __init__(self, make_sg, clock=None, erp=True):
        self.make_sg, self.erp = make_sg, erp
        self.sg = make_sg(clock=clock)

    def fresh(self):
        self.sg = self.make_sg(clock=self.sg.clock)
        return self.sg

    def start(self, user="sam", process_id="opportunity", **data):
        values = {**GOOD_PROSPECT, **data} if process_id == "opportunity" else data
        return start_instance(self.fresh(), process_id, user, values)

    def ready(self, instance_id) -> dict[str, dict]:
        """The deal's ready user tasks, after the ERP stand-in priced any waiting quote (it answers at once,
        as the demo's does; `erp = False` leaves the deal waiting at 'Get list price from ERP')."""
        if self.erp:
            erp_pricing.serve_pending(self.sg)
        return {t["element_id"]: t for t in queries.ready_tasks(self.sg, instance_id=instance_id)}

    def work(self, instance_id, element_id, user, **data):
        tasks = self.ready(instance_id)
        assert element_id in tasks, f"{element_id} not ready; ready: {sorted(tasks)}"
        result = complete_task(self.fresh(), tasks[element_id]["id"], user, data)
        return self.priced(result) if self.erp else result

    def priced(self, result: dict) -> dict:
        """The step's result, or the deal as the ERP stand-in left it if the step reached its pricing task."""
        if not erp_pricing.serve_pending(self.sg):
            return result
        deal = self.show(result["id"])
        return {**result, **{k: deal[k] for k in ("status", "stage") if k in deal},
                "ready_tasks": [{k: t[k] for k in ("id", "element_id", "name", "role")}
                                for t in queries.ready_tasks(self.sg, instance_id=result["id"])]}

    def show(self, instance_id):
        return queries.instance(self.sg, instance_id)

    def history(self, instance_id):
        return queries.history(self.sg, instance_id)

    def to_proposal(self, **prospect):
        """A qualified deal through discovery and its gate; 'Prepare proposal' is ready."""
        iid = self.start(**prospect)["id"]
        self.work(iid, "Task_Discovery", "sam", **DISCOVERY)
        self.work(iid, "Task_DiscoveryGateReview", "lena", **DISCOVERY_GO)
        return iid

    def to_sign_offs(self, preparer="sam", **proposal):
        iid = self.to_proposal()
        self.work(iid, "Task_PrepareProposal", preparer, **{**PROPOSAL, **proposal})
        return iid

    def to_proposal_gate(self, **proposal):
        iid = self.to_sign_offs(**proposal)
        self.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
        self.work(iid, "Task_SignOffDelivery", "pete", **DELIVERY_OK)
        self.work(iid, "Task_SignOffQuality", "quinn", **QUALITY_OK)
        return iid

    def to_negotiation(self):
        iid = self.to_proposal_gate()
        self.work(iid, "Task_ProposalGateReview", "lena", **GATE_GO)
        self.work(iid, "Task_ContractReview", "lou", **CONTRACT_OK)
        return iid


# Steps of the opportunity process for tests that drive a deal to a chosen end.

def review(drive, iid, decision, **extra):
    """Lena decides the discovery gate."""
    drive.work(iid, "Task_DiscoveryGateReview", "lena", discovery_decision=decision,
               discovery_note=f"{decision} it", **extra)


def sign_offs_and_gate(drive, iid, margin_pct=31, decision="go"):
    """From 'Prepare proposal' through every sign-off (and the CFO's, on a low margin) to the proposal gate."""
    drive.work(iid, "Task_PrepareProposal", "sam", price=450000, margin_pct=margin_pct,
               requested_delivery_date="2027-03-01", proposal_summary="Two pump skids")
    if margin_pct < 15:
        drive.work(iid, "Task_CfoApproval", "carl", cfo_approved=True, cfo_comment="strategic")
    drive.work(iid, "Task_SignOffPricing", "fiona", **PRICING_OK)
    drive.work(iid, "Task_SignOffDelivery", "pete", **DELIVERY_OK)
    drive.work(iid, "Task_SignOffQuality", "quinn", **QUALITY_OK)
    drive.work(iid, "Task_ProposalGateReview", "lena", **(GATE_GO if decision == "go" else
                                                           {"proposal_decision": "kill",
                                                            "proposal_rationale": "margin too thin"}))


def close(drive, iid, outcome):
    """From the contract review to the close as won or lost, and the look-back."""
    drive.work(iid, "Task_ContractReview", "lou", **CONTRACT_OK)
    drive.work(iid, "Task_Negotiate", "sally", outcome=outcome,
               **({"final_price": 440000} if outcome == "won" else {"loss_reason": "lost on price"}))
    drive.work(iid, "Task_LookBack", "lena", **LOOK_BACK)
