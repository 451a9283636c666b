"""A deal that goes round its loop hundreds of times keeps a small engine state and still finishes.

The 10,000-iteration run and its per-step cost are in bench/ (`make bench`, section 5)."""
import json

from sqlalchemy import func, select, text

from engine.services.instances import complete_task, start_instance
from engine.store.models import TaskRole
from engine.queries.records import verify_audit

ITERATIONS = 300  # the library alone loses its ready task past iteration 334 of this loop


def stored_state(sg, instance_id) -> tuple[int, int]:
    """(characters of the stored engine state, tasks in it)."""
    with sg.engine.connect() as conn:
        state = conn.execute(text("SELECT state FROM instances WHERE id = :i"), {"i": instance_id}).scalar_one()
    if isinstance(state, str):  # SQLite hands JSON back as text
        state = json.loads(state)
    return len(json.dumps(state)), len(state["tasks"]) + sum(len(sp["tasks"]) for sp in state["subprocesses"].values())


def test_a_revision_loop_of_300_rounds_keeps_its_state_small_and_finishes(sg, revision_loop):
    started = start_instance(sg, "revision_loop", "sam", {})
    iid, ready = started["id"], started["ready_tasks"]
    sizes = {}
    for i in range(1, ITERATIONS + 1):
        for element, user, data in (("Task_Draft", "sam", {"revision_note": f"revision {i:04d}"}),
                                    ("Task_Review", "fiona", {"approved": i == ITERATIONS})):
            [task] = [t for t in ready if t["element_id"] == element]
            result = complete_task(sg, task["id"], user, data)
            ready = result["ready_tasks"]
        if i in (10, ITERATIONS - 1):
            sizes[i] = stored_state(sg, iid)
    assert result["status"] == "completed" and result["ended_at_element"] == "EndEvent_Approved"
    early, late = sizes[10], sizes[ITERATIONS - 1]
    assert late[1] == early[1] <= 12, f"tasks kept in the engine state: {early[1]} at round 10, {late[1]} later"
    assert late[0] <= early[0] * 1.05, f"state grew from {early[0]} to {late[0]} characters"
    with sg.uow(write=False) as uow:
        # the inbox index holds open tasks only: none left once the deal is done
        assert uow.session.execute(select(func.count()).select_from(TaskRole)).scalar() == 0
    audit = verify_audit(sg)
    assert audit["ok"] and audit["events"] >= 2 * ITERATIONS
