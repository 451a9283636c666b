"""Camunda's invoice example (platform-invoice.v2.bpmn, platform-invoiceBusinessDecisions.dmn,
platform-reviewInvoice.bpmn) deployed as its authors wrote it, but for its archive service task (a
Java delegate, refused until external tasks exist), and driven along its three paths: approve,
reject then clarify, reject then give up. Each step runs on a freshly built runtime."""
from __future__ import annotations

import re
from functools import partial

import pytest

from engine.clock import FrozenClock
from engine.errors import InvalidDiagram
from engine.queries import records as queries
from engine.services.claims import claim_task
from engine.services.deployment import deploy
from engine.services.instances import complete_task, start_instance
from tests.conftest import SHARED

CORPUS = SHARED / "corpus" / "camunda"
FILES = ("platform-invoice.v2.bpmn", "platform-invoiceBusinessDecisions.dmn", "platform-reviewInvoice.bpmn")
STAFF = {"tina": ["Team Assistant"], "ann": ["accounting"], "sal": ["sales"], "max": ["management"],
         "demo": ["Team Assistant"], "rita": ["Team Assistant"]}


def _without_java_archive(xml: str) -> str:
    """The one element replaced: the archive service task (camunda:class) becomes a Python script task."""
    xml, n = re.subn(r'<serviceTask id="ServiceTask_1"[^>]*>', '<scriptTask id="ServiceTask_1" name="Archive Invoice" '
                     'scriptFormat="python">', xml)
    assert n == 1
    head = xml.index('<scriptTask id="ServiceTask_1"')
    end = xml.index("</serviceTask>", head)
    return xml[:end] + "<script>archived = True</script></scriptTask>" + xml[end + len("</serviceTask>"):]


def _files() -> list[tuple[str, bytes]]:
    out = []
    for name in FILES:
        content = (CORPUS / name).read_bytes()
        out.append((name, _without_java_archive(content.decode()).encode() if name == FILES[0] else content))
    return out


def test_unchanged_the_invoice_deploys_its_java_archive_task_becoming_an_external_task(sg):
    files = [(name, (CORPUS / name).read_bytes()) for name in FILES]
    deployed = {r["id"] for r in deploy(sg, files, "cli:test") if r["kind"] == "process"}
    assert {"invoice", "ReviewInvoice"} <= deployed, deployed
    archive = sg.specs.version(*_version_of(sg, "invoice")).model["elements"]["ServiceTask_1"]
    assert archive["topic"] == "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService"


def _version_of(sg, process_id):
    from sqlalchemy import select
    from engine.store.models import ProcessVersion
    with sg.uow(write=False) as uow:
        pv = uow.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == process_id)).scalar_one()
        uow.session.expunge(pv)
    return pv.id, lambda: pv


@pytest.fixture
def invoice(make_sg, staff):
    staff(STAFF)
    clock = FrozenClock()
    fresh = partial(make_sg, clock=clock)
    deploy(fresh(), _files(), "cli:test")

    def tasks(iid):
        return queries.ready_tasks(fresh(), instance_id=iid)

    def start(amount, category):
        return start_instance(fresh(), "invoice", "tina", {"amount": amount, "invoiceCategory": category,
                                                           "creditor": "Great Pizza for Everyone Inc.",
                                                           "invoiceNumber": "GPFE-23232323"},
                              business_key="GPFE-23232323")["id"]
    return fresh, tasks, start


def _approve_task(tasks, iid):
    [task] = tasks(iid)
    assert task["element_id"] == "approveInvoice"
    return task


def test_approve_path_the_decision_picks_the_approvers_and_accounting_pays(invoice):
    fresh, tasks, start = invoice
    iid = start(100, "Misc")  # day-to-day expense: accounting and sales approve (COLLECT)
    data = queries.instance(fresh(), iid)["data"]
    assert data["approverGroups"] == ["accounting", "sales"]
    task = _approve_task(tasks, iid)
    assert (sorted(task["roles"]), task["claimed_by"]) == (["accounting", "sales"], None)
    claim_task(fresh(), task["id"], "sal")
    complete_task(fresh(), task["id"], "sal", {"approved": True})
    assert queries.instance(fresh(), iid)["data"]["approver"] == "sal"  # the assignment listener
    [pay] = tasks(iid)
    assert (pay["element_id"], pay["roles"]) == ("prepareBankTransfer", ["accounting"])
    done = complete_task(fresh(), pay["id"], "ann", {})
    assert done["status"] == "completed"
    deal = queries.instance(fresh(), iid)
    assert (deal["ended_at_element"], deal["data"]["archived"], deal["business_key"]) == (
        "invoiceProcessed", True, "GPFE-23232323")


def _reject_then_review(fresh, tasks, iid, clarified: bool):
    task = _approve_task(tasks, iid)
    assert task["roles"] == ["management"]  # budget (250..1000, Misc): management
    claim_task(fresh(), task["id"], "max")
    complete_task(fresh(), task["id"], "max", {"approved": False})
    [assign] = tasks(iid)  # the called ReviewInvoice: demo assigns a reviewer
    assert (assign["element_id"], assign["claimed_by"]) == ("assignReviewer", "demo")
    complete_task(fresh(), assign["id"], "demo", {"reviewer": "rita"})
    [review] = tasks(iid)
    assert (review["element_id"], review["claimed_by"]) == ("reviewInvoice", "rita")
    complete_task(fresh(), review["id"], "rita", {"clarified": clarified})


def test_reject_then_clarify_goes_back_to_the_approver_who_rejected(invoice):
    fresh, tasks, start = invoice
    iid = start(500, "Misc")
    _reject_then_review(fresh, tasks, iid, clarified=True)
    again = _approve_task(tasks, iid)
    assert again["claimed_by"] == "max"  # the create listener: back to `approver`
    complete_task(fresh(), again["id"], "max", {"approved": True})
    [pay] = tasks(iid)
    assert pay["element_id"] == "prepareBankTransfer"


def test_reject_then_give_up_ends_unprocessed(invoice):
    fresh, tasks, start = invoice
    iid = start(500, "Misc")
    _reject_then_review(fresh, tasks, iid, clarified=False)
    deal = queries.instance(fresh(), iid)
    assert (deal["status"], deal["ended_at_element"], deal["data"]["clarified"]) == (
        "completed", "invoiceNotProcessed", False)
    assert tasks(iid) == []
