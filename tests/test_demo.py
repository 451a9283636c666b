"""The demo database a new user sees first: every stage and outcome, realistic times, intact audit."""
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from workflows import metrics
from engine.store import open_tasks
from engine.queries import records as queries
from stagegate.compose import bootstrap
from workflows.demo import DEMO_USERS, load_demo
from engine.queries.inbox import deals, inbox
from workflows.metrics import cost_per_acquisition
from workflows.metrics.behind import ids_behind
from engine.clock import utc
from engine.store.models import AuditEvent
from tests.conftest import create_tables

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def test_demo_covers_every_stage_gate_outcome_and_role(database_url):
    made = []

    def factory(clock):
        sg = bootstrap(database_url, clock=clock)
        if not made:
            create_tables(sg.engine)
        made.append(sg)
        return sg

    result = load_demo(factory, now=NOW)
    sg = made[-1]
    assert len(result["deals"]) >= 40
    rows = deals(sg, "lena", limit=1000)
    assert len(rows) == len(result["deals"])
    running_stages = {d["stage"] for d in rows if d["status"] == "running"}
    assert {"Discovery", "Proposal", "Negotiation", "Closed"} <= running_stages
    ends = {d["ended_at_element"] for d in rows if d["status"] == "completed"}
    assert {"EndEvent_Disqualified", "EndEvent_DiscoveryKilled", "EndEvent_ProposalKilled", "EndEvent_Won",
            "EndEvent_Lost"} <= ends
    outcomes = {(g["gate"], g["outcome"]) for g in queries.gate_decisions(sg, limit=10000)}
    assert {("qualification", "go"), ("qualification", "kill"), ("discovery", "go"), ("discovery", "kill"),
            ("discovery", "hold"), ("discovery", "recycle"), ("proposal", "go"), ("proposal", "kill")} <= outcomes
    for user in DEMO_USERS:
        if user not in ("dora", "ada"):  # the designer and the auditor work no lane
            assert inbox(sg, user)["tasks"], f"{user} has an empty inbox"
    assert any(t["overdue"] for t in inbox(sg, "pete")["tasks"])
    # Escalations close with the sign-offs they chase: a head's inbox holds only those still open.
    ready = queries.ready_tasks(sg)
    still_open = {(t["instance_id"], t["element_id"]) for t in ready}
    escalations = [t for t in ready if t["element_id"].startswith("Task_Escalate")]
    assert escalations and all((t["instance_id"], t["element_id"].replace("Escalate", "SignOff")) in still_open
                               for t in escalations), escalations
    with sg.uow(write=False) as uow:
        ended = Counter((e.kind, e.details.get("reason")) for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.element_id.like("Task_Escalate%"))).scalars())
    assert ended[("task_completed", None)] > 0, "some escalations were handled by the heads"
    assert ended[("task_cancelled", "escalation_closed")] > 0, "others closed with the sign-off they chased"
    with sg.uow(write=False) as uow:
        integrated = Counter((e.kind, e.element_id) for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.kind.in_(("external_task_completed", "message_correlated")))).scalars())
    assert integrated[("external_task_completed", "Task_ErpListPrice")] > 0, "the ERP stand-in priced proposals"
    assert integrated[("message_correlated", "Boundary_ContractSigned")] > 0, "signed contracts closed Legal's review"
    cpa = cost_per_acquisition(sg)
    assert cpa["won"] >= 5 and cpa["closed"] > cpa["won"] and cpa["cpa"] > 0
    starts = sorted(d["started_at"] for d in rows)
    assert starts[0] < (NOW - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M") < starts[-1] < NOW.isoformat()
    assert queries.verify_audit(sg)["ok"]
    # The counters and stays kept at each step agree with the raw history they summarise.
    with sg.engine.connect() as conn:
        assert open_tasks.disagreements(conn) == {}
    fast, slow = metrics.report(sg, metrics.Scope()), metrics.detail(sg, metrics.Scope())
    groups = slow.pop("groups")
    with sg.uow(write=False) as uow:
        assert {key: ids_behind(uow.session, metrics.Scope(), key, utc(sg.now())) for key in groups} == groups
    assert fast["funnel"] == slow["funnel"] and fast["outcomes"] == slow["outcomes"] and fast["trend"] == slow["trend"]
    assert fast["stages"] == slow["stages"] and fast["stages"][0]["stays"] > 0
    for sg in made:
        sg.dispose()
