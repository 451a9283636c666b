"""The auditor reads everything and changes nothing: each use case refuses them, and audits the attempt."""
import pytest
from sqlalchemy import select

from engine.queries import records as queries
from engine.services.claims import claim_task, reassign_task, unclaim_task
from engine.services.deployment import collect_files, deploy
from engine.services.instances import complete_task, start_instance
from engine.store.models import AuditEvent, ProcessVersion
from engine.readonly import ReadOnlyRefused
from engine.services.users import add_user, set_password
from engine.queries.views import deal, diagram, visible_processes
from tests.conftest import DIAGRAMS
from tests.drive import GOOD_PROSPECT, PROPOSAL, Driver
from tests.snapshot import stored


@pytest.fixture
def drive(catalog, make_sg):
    return Driver(make_sg)


def _events(sg, kind):
    with sg.uow(write=False) as uow:
        return [(e.actor, e.instance_id, e.details) for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)).scalars()]


def test_every_use_case_refuses_the_auditor_and_records_the_attempt(drive):
    sg = drive.sg
    iid = drive.to_proposal()
    task_id = drive.ready(iid)["Task_PrepareProposal"]["id"]
    claim_task(sg, task_id, "sam")
    attempts = {
        "start 'opportunity'": lambda: start_instance(sg, "opportunity", "ada", GOOD_PROSPECT),
        "complete 'Prepare proposal'": lambda: complete_task(sg, task_id, "ada", PROPOSAL),
        "claim 'Prepare proposal'": lambda: claim_task(sg, task_id, "ada"),
        "release 'Prepare proposal'": lambda: unclaim_task(sg, task_id, "ada"),
        "reassign 'Prepare proposal'": lambda: reassign_task(sg, task_id, "ada", "sally"),
        "deploy diagrams": lambda: deploy(sg, collect_files([DIAGRAMS]), "ada"),
        "change the roles of 'ada'": lambda: add_user(sg, "ada", ["Finance Head"], "ada"),
        "set the password of 'sam'": lambda: set_password(sg, "sam", "a new password", "ada"),
    }
    for action, attempt in attempts.items():
        before = stored(sg)
        with pytest.raises(ReadOnlyRefused, match=f"ada is an auditor and may not {action}"):
            attempt()
        after = stored(sg)
        added = after.pop("audit")[len(before.pop("audit")):]
        assert after == before, f"{action}: nothing but the refusal is stored"
        assert [kind for _seq, kind, _hash in added] == ["refused"], action
        actor, instance_id, details = _events(sg, "refused")[-1]
        assert actor == "ada" and details["action"] == action
        if "Prepare proposal" in action:
            assert instance_id == iid and details["task_id"] == task_id
    assert len(_events(sg, "refused")) == len(attempts)
    assert queries.verify_audit(sg)["ok"]


def test_the_auditor_may_change_their_own_password(drive):
    set_password(drive.sg, "ada", "a new password", "ada")
    assert _events(drive.sg, "refused") == []


def test_the_auditor_sees_every_process_deal_and_diagram(drive):
    sg = drive.sg
    iid = drive.start()["id"]
    discount = drive.start(process_id="discount_approval", deal_name="Small discount", list_price=10000,
                           discount_pct=5, justification="loyal customer")["id"]
    with sg.uow(write=False) as uow:
        deployed = set(uow.session.execute(select(ProcessVersion.process_id)).scalars())
    assert {"opportunity", "discount_approval", "cpa_review"} <= deployed
    assert set(visible_processes(sg, "ada")) == deployed, "every deployed process, whoever's lanes"
    assert deal(sg, discount, "ada")["title"] == "Small discount"
    assert deal(sg, iid, "ada")["history"][0]["kind"] == "instance_started"
    assert diagram(sg, "discount_approval", 1, "ada").startswith(b"<?xml")
    assert _events(sg, "refused") == [], "reading is not an attempt to change anything"
