"""Validating a diagram in the designer reads only what the diagram refers to: the decisions it
names, the processes it calls (and what those call and name), and, for a decision table, the
processes that use it. Every other deployed version stays unread however large it is.

Counted, not timed: the deployed files read and parsed, and the version rows loaded, while the
designer checks the diagram (bench/validation.py measures the time).
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from engine.bpmn import parsing
from engine.services.deployment import deploy
from engine.store.models import ProcessVersion, Source
from tests import diagram_factory as f
from tests.conftest import DIAGRAMS

from .test_designer import post_json


@pytest.fixture
def reads(monkeypatch):
    """What is read from the deployed versions meanwhile: {"files": parsed file names, "loaded": ...}."""
    seen = {"files": [], "loaded": []}
    real = parsing.read_document

    def read_document(file_name, content, deployed=False, *language):
        seen["files"].append(file_name)
        return real(file_name, content, deployed, *language)

    def loaded(target, context):
        seen["loaded"].append(getattr(target, "file_name", None) or getattr(target, "process_id", None))

    monkeypatch.setattr(parsing, "read_document", read_document)
    event.listen(Source, "load", loaded)
    event.listen(ProcessVersion, "load", loaded)
    yield seen
    event.remove(Source, "load", loaded)
    event.remove(ProcessVersion, "load", loaded)


def _big(pid: str, tasks: int = 200) -> str:
    """An unrelated process: a long chain of user tasks (the real case was 4.5 MB)."""
    chain = "".join(f'<bpmn:userTask id="T{i}" name="Step {i}" />'
                    f'<bpmn:sequenceFlow id="F{i}" sourceRef="T{i}" targetRef="T{i + 1}" />' for i in range(tasks))
    refs = "".join(f"<bpmn:flowNodeRef>T{i}</bpmn:flowNodeRef>" for i in range(tasks + 1))
    body = (f'<bpmn:process id="{pid}" isExecutable="true"><bpmn:laneSet id="LS_{pid}"><bpmn:lane id="L_{pid}" '
            f'name="Sales"><bpmn:flowNodeRef>S</bpmn:flowNodeRef>{refs}<bpmn:flowNodeRef>E</bpmn:flowNodeRef>'
            f'</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="S" /><bpmn:sequenceFlow id="FS" sourceRef="S" '
            f'targetRef="T0" />{chain}<bpmn:userTask id="T{tasks}" /><bpmn:sequenceFlow id="FE" '
            f'sourceRef="T{tasks}" targetRef="E" /><bpmn:endEvent id="E" /></bpmn:process>')
    return f.definitions(body, pid)


@pytest.fixture
def deployed(sg, catalog):
    """The catalog, a big unrelated process, a discount table and a chain mid_review -> leaf_review."""
    deploy(sg, f.files(("big.bpmn", _big("big_unrelated")), ("leaf.bpmn", f.process("leaf_review")),
                       ("discount.dmn", f.decision("discount")),
                       ("mid.bpmn", f.process("mid_review", called_element="leaf_review"))), "cli:test")


def _validate(b, kind: str, xml: str) -> dict:
    r = post_json(b, "/designer/validate", {"kind": kind, "xml": xml})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def _deployed_reads(reads) -> set:
    return {name for name in reads["files"] + reads["loaded"] if name not in ("diagram.bpmn", "diagram.dmn")}


def test_a_process_reads_the_decisions_it_names_and_the_processes_it_calls(sign_in, deployed, reads):
    dora = sign_in("dora")
    reads["files"].clear(), reads["loaded"].clear()
    # (discount reads deal_value, which the factory's start form asks for.)
    result = _validate(dora, "bpmn", f.process("caller", decision_ref="discount", called_element="mid_review"))
    assert [p for p in result["problems"] if p["severity"] == "error"] == []
    assert _deployed_reads(reads) == {"discount.dmn", "mid.bpmn", "leaf.bpmn"}


def test_a_process_that_refers_to_nothing_reads_no_deployed_version(sign_in, deployed, reads):
    dora = sign_in("dora")
    reads["files"].clear(), reads["loaded"].clear()
    assert _validate(dora, "bpmn", f.process("alone"))["ok"]
    assert _deployed_reads(reads) == set()
    # A reference to something not deployed is still refused, without reading the rest.
    result = _validate(dora, "bpmn", f.process("alone", decision_ref="no_such_table"))
    assert any("decision 'no_such_table' is not deployed" in p["reason"] for p in result["problems"])
    assert _deployed_reads(reads) == set()


def test_a_decision_table_reads_the_processes_that_use_it_and_what_they_need(sign_in, deployed, reads):
    dora = sign_in("dora")
    pricing = (DIAGRAMS / "pricing.dmn").read_text()
    changed = pricing.replace("&lt; 15<", "&lt; 16<", 1)
    assert changed != pricing
    reads["files"].clear(), reads["loaded"].clear()
    assert _validate(dora, "dmn", changed)["ok"]
    # opportunity uses pricing (and names qualification); nothing else is read.
    assert _deployed_reads(reads) == {"opportunity.bpmn", "qualification.dmn"}
