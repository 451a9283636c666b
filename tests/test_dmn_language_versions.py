"""Decision files stored before FEEL became the default keep deciding as they did: a cell without
an expressionLanguage was Python then, and stays Python for them; new files are FEEL."""
from __future__ import annotations

import hashlib

import pytest

from engine.services.deployment import deploy
from engine.errors import InvalidDiagram
from engine.store.models import DecisionVersion, Source
from tests import diagram_factory as f
from tests.drive import Driver

# Python cells, no expressionLanguage: what a table deployed before this change looked like.
OLD = f.table("parity", [("R_even", ["? % 2 == 0"], ['"even"']), ("R_other", ["-"], ['"odd"'])],
              hit_policy="FIRST").replace(' expressionLanguage="python"', "").encode()


@pytest.fixture
def driver(make_sg, staff):
    staff({"sam": ["Sales"]})
    return Driver(make_sg)


def store_as_before(sg, content: bytes) -> None:
    """The rows the deploy of an earlier version wrote: the file (no language recorded) and its decision."""
    sha = hashlib.sha256(content).hexdigest()
    with sg.uow() as uow:
        uow.session.add(Source(sha256=sha, kind="dmn", file_name="parity.dmn", content=content, stored_at=sg.now()))
        uow.session.flush()
        uow.session.add(DecisionVersion(decision_id="parity", version=1, name="parity", dmn_sha256=sha,
                                        deployed_at=sg.now(), deployed_by="cli:test"))
        uow.commit()


def harness():
    return ("harness.bpmn", f.deciding_process("harness", "parity", {"amount": "long"}).encode())


def test_a_table_stored_before_feel_still_decides_in_python(driver):
    store_as_before(driver.sg, OLD)
    deploy(driver.sg, [harness()], actor="cli:test")  # the process uses the stored table
    iid = driver.start(process_id="harness")["id"]
    driver.work(iid, "Task_Enter", "sam", amount=4)
    assert driver.show(iid)["data"]["result"] == "even"


def test_deploying_the_same_old_file_again_changes_nothing(driver):
    store_as_before(driver.sg, OLD)
    results = deploy(driver.sg, [harness(), ("parity.dmn", OLD)], actor="cli:test")
    assert {"kind": "decision", "id": "parity", "version": 1, "changed": False} in results


def test_the_same_cells_in_a_new_file_are_feel_and_refused_saying_so(driver):
    store_as_before(driver.sg, OLD)
    changed = OLD.replace(b'"odd"', b'"not even"')
    with pytest.raises(InvalidDiagram) as refused:
        deploy(driver.sg, [harness(), ("parity.dmn", changed)], actor="cli:test")
    reasons = " | ".join(p.reason for p in refused.value.problems)
    assert "cell `? % 2 == 0` is not FEEL the engine reads" in reasons, reasons


def test_new_files_record_that_their_cells_default_to_feel(driver):
    fresh = f.table("tier", [("R1", ["< 100"], ['"small"'])], language="feel")
    deploy(driver.sg, [("tier.dmn", fresh.encode())], actor="cli:test")
    with driver.sg.uow(write=False) as uow:
        assert uow.session.get(Source, hashlib.sha256(fresh.encode()).hexdigest()).dmn_language == "feel"
