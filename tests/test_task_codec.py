"""Engine state written and read by engine/bpmn/task_codec.py is SpiffWorkflow's own, both ways.

Every state the compaction scenarios save (loops through parallel and inclusive joins, boundary
timers that fire, a called process that loops, the opportunity recycled and held) is written by the
codec and by the library side by side and must be the same dict; every state they restore is read by
both and must give the same tree: ids, parents, children, states, data with its types, the timers
and events waiting. A state written one way reads back the other way.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.serialization import SpecStore
from tests import test_compaction as scenarios
from tests.test_compaction import Twins, _specs

LIBRARY = SpecStore(direct=False)
_dump, _load = SpecStore.dump_state, SpecStore.load_state


def same_tree(ours, theirs) -> None:
    """The two restored workflows (and their sub-workflows) hold the same task tree and data."""
    assert list(ours.tasks) == list(theirs.tasks)  # the library's order: readers walk the dict
    for task_id, a in ours.tasks.items():
        b = theirs.tasks[task_id]
        assert (a._parent, a._children, a.state, a.task_spec.name, a.triggered, a.last_state_change) == \
               (b._parent, b._children, b.state, b.task_spec.name, b.triggered, b.last_state_change)
        assert repr(a.data) == repr(b.data) and repr(a.internal_data) == repr(b.internal_data)  # types too
    assert ours.task_tree.id == theirs.task_tree.id
    assert getattr(ours.last_task, "id", None) == getattr(theirs.last_task, "id", None)
    assert (repr(ours.data), ours.success, ours.completed) == (repr(theirs.data), theirs.success, theirs.completed)
    if ours is ours.top_workflow:  # which holds the sub-workflows and the events they wait for
        assert sorted(map(str, ours.subprocesses)) == sorted(map(str, theirs.subprocesses))
        for key, sub in ours.subprocesses.items():
            same_tree(sub, theirs.subprocesses[key])
        assert sorted(map(str, ours.event_manager.tasks)) == sorted(map(str, theirs.event_manager.tasks))


@pytest.fixture
def held_to_the_library(monkeypatch):
    """Every dump and load of a SpecStore also done the library's way and compared; counts them."""
    compared = Counter()

    def dump_state(self, workflow):
        ours = _dump(self, workflow)
        assert ours == _dump(LIBRARY, workflow)
        compared["dumps"] += 1
        return ours

    def load_state(self, state, spec, subs, script_engine):
        ours = _load(self, state, spec, subs, script_engine)
        same_tree(ours, _load(LIBRARY, state, spec, subs, script_engine))
        compared["loads"] += 1
        return ours

    monkeypatch.setattr(SpecStore, "dump_state", dump_state)
    monkeypatch.setattr(SpecStore, "load_state", load_state)
    return compared


@pytest.mark.parametrize("scenario", [
    scenarios.test_revision_loop_matches_and_stays_small,
    scenarios.test_parallel_loop_matches_and_stays_small,
    scenarios.test_loop_through_joins_boundary_timers_and_call_activity,
    scenarios.test_inclusive_join_in_a_loop_waits_for_every_taken_branch,
    scenarios.test_opportunity_recycles_and_holds_match,
], ids=lambda f: f.__name__.removeprefix("test_"))
def test_every_state_of_the_scenario_is_written_and_read_as_the_library_does(scenario, held_to_the_library):
    scenario()
    assert held_to_the_library["dumps"] >= 5 and held_to_the_library["loads"] >= 5


def test_typed_nested_and_removed_values_cross_between_codec_and_library():
    """Data the registry types (instants, durations), nested lists and dicts, and a variable a task
    dropped: each way's state reads back the other way unchanged."""
    twins = Twins(*_specs("twin", [scenarios.LOOP_BPMN]))
    twins.work("A", {"again": False, "x": 1, "y": 1, "round": 1, "sub_rounds": 0,
                     "when": datetime(2027, 3, 1, 9, 30, tzinfo=timezone.utc), "grace": timedelta(days=2, hours=3),
                     "lines": [{"sku": "P-1", "qty": 2}, [1, 2.5, None]], "terms": {"net": {"days": 30}}})
    runner = twins._runner("compact")
    ready = next(t for t in runner.workflow.tasks.values() if t.task_spec.name == "B" and t.state == TaskState.READY)
    del ready.data["y"]  # as a script or an output mapping drops a variable
    ready.data["terms"] = {"net": {"days": 45}}
    ours, theirs = twins.store.dump_state(runner.workflow), LIBRARY.dump_state(runner.workflow)
    assert ours == theirs
    task = ours["tasks"][str(ready.id)]
    assert task["delta"]["deletions"] == ["y"] and task["delta"]["updates"]["terms"] == {"net": {"days": 45}}
    for state in (ours, theirs):
        for reader in (twins.store, LIBRARY):
            wf = reader.load_state(state, twins.spec, twins.subs, twins.script_engine)
            data = wf.tasks[ready.id].data
            assert "y" not in data and data["terms"] == {"net": {"days": 45}}
            assert data["when"] == datetime(2027, 3, 1, 9, 30, tzinfo=timezone.utc)
            assert data["grace"] == timedelta(days=2, hours=3) and data["lines"] == [{"sku": "P-1", "qty": 2}, [1, 2.5, None]]
            same_tree(wf, LIBRARY.load_state(theirs, twins.spec, twins.subs, twins.script_engine))
            data["lines"].append("changed by B")  # a task's own copy: its parent's data stays as it was
            assert wf.tasks[ready._parent].data["lines"] == [{"sku": "P-1", "qty": 2}, [1, 2.5, None]]


def test_a_variable_named_typename_is_data_where_the_library_took_it_for_an_object():
    twins = Twins(*_specs("twin", [scenarios.LOOP_BPMN]))
    view = twins.work("A", {"again": False, "x": 1, "y": 1, "round": 1, "sub_rounds": 0, "typename": "Acme type"})
    assert view["ready"] == ["B", "C"] and view["data"]["typename"] == "Acme type"
    with pytest.raises(TypeError):
        LIBRARY.load_state(twins.states["compact"], twins.spec, twins.subs, twins.script_engine)
