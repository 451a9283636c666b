"""Compacted engine state behaves like the library's full task tree, step by step.

Each scenario runs one diagram twice from the same start: once as SpiffWorkflow keeps it (the whole
history in the task tree) and once compacted after every step, both saved and restored through the
serializer at every step. After each step both must show the same ready tasks, the same data, the
same waiting timers and the same completion; the compacted one must stay small.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from engine.clock import FrozenClock
from engine.bpmn.compaction import compact
from engine.bpmn.dmn.task import Parser
from engine.bpmn.dmn.model import dmn_decisions
from engine.bpmn.runtime import Runner
from engine.bpmn.tasks import new_workflow
from engine.bpmn.script_engine import make_script_engine
from engine.bpmn.serialization import SpecStore
from tests.diagram_factory import definitions
from workflows.expressions import HELPERS

ROOT = Path(__file__).resolve().parent.parent
MODEL = {"elements": {}, "flows": {}}

# A loop through what compaction must keep right: a parallel split and join whose branches carry an
# interrupting and a non-interrupting boundary timer, a call activity that loops inside, and an
# exclusive gateway that goes round again.
LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_twin" targetNamespace="http://example.com/t">
  <bpmn:process id="twin" isExecutable="true">
    <bpmn:startEvent id="Begin" />
    <bpmn:exclusiveGateway id="Merge" />
    <bpmn:userTask id="A" />
    <bpmn:parallelGateway id="Split" />
    <bpmn:userTask id="B" />
    <bpmn:boundaryEvent id="B_Timeout" attachedToRef="B" cancelActivity="true">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="B_Late" />
    <bpmn:exclusiveGateway id="B_Merge" />
    <bpmn:userTask id="C" />
    <bpmn:boundaryEvent id="C_Reminder" attachedToRef="C" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT30M"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="C_Chase" />
    <bpmn:endEvent id="C_ChaseEnd" />
    <bpmn:parallelGateway id="Join" />
    <bpmn:callActivity id="Call" calledElement="twin_sub" />
    <bpmn:exclusiveGateway id="Again" default="f_done" />
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="f_start" sourceRef="Begin" targetRef="Merge" />
    <bpmn:sequenceFlow id="f_merge" sourceRef="Merge" targetRef="A" />
    <bpmn:sequenceFlow id="f_a" sourceRef="A" targetRef="Split" />
    <bpmn:sequenceFlow id="f_split_b" sourceRef="Split" targetRef="B" />
    <bpmn:sequenceFlow id="f_split_c" sourceRef="Split" targetRef="C" />
    <bpmn:sequenceFlow id="f_b" sourceRef="B" targetRef="B_Merge" />
    <bpmn:sequenceFlow id="f_b_timeout" sourceRef="B_Timeout" targetRef="B_Late" />
    <bpmn:sequenceFlow id="f_b_late" sourceRef="B_Late" targetRef="B_Merge" />
    <bpmn:sequenceFlow id="f_b_merge" sourceRef="B_Merge" targetRef="Join" />
    <bpmn:sequenceFlow id="f_c" sourceRef="C" targetRef="Join" />
    <bpmn:sequenceFlow id="f_c_reminder" sourceRef="C_Reminder" targetRef="C_Chase" />
    <bpmn:sequenceFlow id="f_c_chase" sourceRef="C_Chase" targetRef="C_ChaseEnd" />
    <bpmn:sequenceFlow id="f_join" sourceRef="Join" targetRef="Call" />
    <bpmn:sequenceFlow id="f_call" sourceRef="Call" targetRef="Again" />
    <bpmn:sequenceFlow id="f_again" sourceRef="Again" targetRef="Merge">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">again == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="Again" targetRef="Done" />
  </bpmn:process>
  <bpmn:process id="twin_sub" isExecutable="true">
    <bpmn:startEvent id="SubStart" />
    <bpmn:userTask id="SubWork" />
    <bpmn:exclusiveGateway id="SubAgain" default="f_sub_done" />
    <bpmn:endEvent id="SubEnd" />
    <bpmn:sequenceFlow id="f_sub_start" sourceRef="SubStart" targetRef="SubWork" />
    <bpmn:sequenceFlow id="f_sub_work" sourceRef="SubWork" targetRef="SubAgain" />
    <bpmn:sequenceFlow id="f_sub_again" sourceRef="SubAgain" targetRef="SubWork">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">sub_rounds &lt; 2</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_sub_done" sourceRef="SubAgain" targetRef="SubEnd" />
  </bpmn:process>
</bpmn:definitions>
"""


def _wired(xml: str) -> bytes:
    """The document with each node's <incoming>/<outgoing> filled in from the sequence flows."""
    from lxml import etree

    ns = "http://www.omg.org/spec/BPMN/20100524/MODEL"
    root = etree.fromstring(xml.encode())
    for process in root.iter(f"{{{ns}}}process"):
        nodes = {el.get("id"): el for el in process if el.get("id")}
        for flow in process.iter(f"{{{ns}}}sequenceFlow"):
            for end, tag in (("sourceRef", "outgoing"), ("targetRef", "incoming")):
                node = nodes[flow.get(end)]
                ref = etree.Element(f"{{{ns}}}{tag}")
                ref.text = flow.get("id")
                node.insert(0, ref)
    return etree.tostring(root)


def _specs(process_id: str, bpmn: list) -> tuple:
    parser = Parser()
    for doc in bpmn:
        if isinstance(doc, Path):
            parser.add_bpmn_file(str(doc))
        else:
            parser.add_bpmn_str(_wired(doc))
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def _model_with_tables(dmn: list) -> dict:
    """MODEL with the decision tables of the DMN files, as a deployed version carries them."""
    tables = {d["id"]: d["table"] for path in dmn for d in dmn_decisions(etree.parse(str(path)).getroot(), path.name)}
    return {**MODEL, "decision_tables": tables}


class Twins:
    """The same instance as the library keeps it and compacted, restored from storage at every step."""

    def __init__(self, spec, subs, data: dict | None = None, model: dict = MODEL):
        self.model = model
        self.store = SpecStore()
        self.script_engine = make_script_engine(HELPERS)
        self.spec, self.subs = spec, subs
        self.clock = FrozenClock()
        runner = Runner(new_workflow(spec, subs, self.script_engine, dict(data or {})), model, self.clock)
        runner.advance()
        first = self.store.dump_state(runner.workflow)
        self.states = {"full": first, "compact": first}
        self.largest = 0

    def _runner(self, which: str) -> Runner:
        wf = self.store.load_state(self.states[which], self.spec, self.subs, self.script_engine)
        return Runner(wf, self.model, self.clock)

    def _save(self, which: str, runner: Runner) -> None:
        if which == "compact":
            compact(runner.workflow)
            self.largest = max(self.largest, _task_count(runner.workflow))
        self.states[which] = self.store.dump_state(runner.workflow)

    def view(self, which: str) -> dict:
        r = self._runner(which)
        return {"ready": sorted(t["element_id"] for t in r.ready_human_tasks()),
                "timers": sorted((t["element_id"], t["due_at"]) for t in r.waiting_timers()),
                "data": r.data(), "completed": r.completed}

    def same(self) -> dict:
        full, compacted = self.view("full"), self.view("compact")
        assert compacted == full
        return full

    def step(self, which: str, element_id: str, data: dict) -> dict:
        """Complete the ready task of `element_id` in one of the two; what it shows next."""
        r = self._runner(which)
        task = next(t for t in r.ready_human_tasks() if t["element_id"] == element_id)
        r.complete(task["id"], dict(data), "tester")
        r.advance()
        self._save(which, r)
        return self.view(which)

    def work(self, element_id: str, data: dict) -> dict:
        """Complete the ready task of `element_id` in both, then compare them."""
        for which in ("full", "compact"):
            self.step(which, element_id, data)
        return self.same()

    def wait(self, **delta) -> dict:
        """Let time pass and fire what is due, in both."""
        self.clock.advance(**delta)
        for which in ("full", "compact"):
            r = self._runner(which)
            r.advance()
            self._save(which, r)
        return self.same()


def _task_count(wf) -> int:
    return len(wf.tasks) + sum(len(sp.tasks) for sp in wf.subprocesses.values())


def test_revision_loop_matches_and_stays_small():
    twins = Twins(*_specs("revision_loop", [ROOT / "bench" / "revision_loop.bpmn"]))
    for i in range(1, 26):
        twins.work("Task_Draft", {"revision_note": f"revision {i}"})
        view = twins.work("Task_Review", {"approved": i == 25})
    assert view["completed"] and view["data"]["revision_note"] == "revision 25"
    assert twins.largest <= 12


def test_parallel_loop_matches_and_stays_small():
    twins = Twins(*_specs("ploop", [ROOT / "bench" / "parallel_loop.bpmn"]))
    for i in range(1, 21):
        assert twins.work("A", {"again": i < 20, "round": i})["ready"] == ["B", "C"]
        twins.work("C", {"c_round": i})
        view = twins.work("B", {"b_round": i})
    assert view["completed"]
    # (c_round is the library's business: the branch that reaches the join last overwrites the
    # merged data with its own copy, stale values included; the twins agree on it either way.)
    assert (view["data"]["round"], view["data"]["b_round"]) == (20, 20)
    assert twins.largest <= 20  # while the full tree keeps every task it ran


def test_loop_through_joins_boundary_timers_and_call_activity():
    twins = Twins(*_specs("twin", [LOOP_BPMN]))
    rounds = 9
    for i in range(1, rounds + 1):
        view = twins.work("A", {"again": i < rounds, "x": i % 2, "y": 1, "round": i, "sub_rounds": 0})
        assert view["ready"] == ["B", "C"] and len(view["timers"]) == 2
        if i % 3 == 0:
            # Both timers fire: B is interrupted (B_Late takes over), C gets a reminder and stays open.
            view = twins.wait(hours=2)
            assert view["ready"] == ["B_Late", "C", "C_Chase"]
            twins.work("C_Chase", {"chased": i})
            twins.work("B_Late", {"late": i})
        elif i % 3 == 1:
            view = twins.wait(minutes=45)  # only C's reminder is due
            assert view["ready"] == ["B", "C", "C_Chase"]
            twins.work("B", {"b": i})
        else:
            twins.work("B", {"b": i})
        view = twins.work("C", {"c": i})
        for n in range(2):  # the called process loops too
            assert "SubWork" in view["ready"], view
            view = twins.work("SubWork", {"sub_rounds": n + 1})
        # Left over from the reminder branch: C_Chase when it was not worked yet.
        if "C_Chase" in view["ready"]:
            view = twins.work("C_Chase", {"chased": i})
        assert view["ready"] == (["A"] if i < rounds else [])
    assert view["completed"]
    assert (view["data"]["round"], view["data"]["sub_rounds"]) == (rounds, 2)
    assert twins.largest <= 80  # the same at every round (it peaks at 69); the full tree keeps every task


INCLUSIVE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_incl" targetNamespace="http://example.com/t">
  <bpmn:process id="incl" isExecutable="true">
    <bpmn:startEvent id="Begin" />
    <bpmn:exclusiveGateway id="Merge" />
    <bpmn:userTask id="A" />
    <bpmn:inclusiveGateway id="Fork" />
    <bpmn:userTask id="D" />
    <bpmn:userTask id="E" />
    <bpmn:inclusiveGateway id="Gather" />
    <bpmn:exclusiveGateway id="Again" default="f_done" />
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="f_start" sourceRef="Begin" targetRef="Merge" />
    <bpmn:sequenceFlow id="f_merge" sourceRef="Merge" targetRef="A" />
    <bpmn:sequenceFlow id="f_a" sourceRef="A" targetRef="Fork" />
    <bpmn:sequenceFlow id="f_fork_d" sourceRef="Fork" targetRef="D">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">x &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_fork_e" sourceRef="Fork" targetRef="E">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">y &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_d" sourceRef="D" targetRef="Gather" />
    <bpmn:sequenceFlow id="f_e" sourceRef="E" targetRef="Gather" />
    <bpmn:sequenceFlow id="f_gather" sourceRef="Gather" targetRef="Again" />
    <bpmn:sequenceFlow id="f_again" sourceRef="Again" targetRef="Merge">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">again == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="Again" targetRef="Done" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_inclusive_join_in_a_loop_waits_for_every_taken_branch():
    """With the full history the library's inclusive join counts branches finished in earlier rounds
    and fires early (round 3 here: after D alone); compacted, each round waits for its own branches."""
    twins = Twins(*_specs("incl", [INCLUSIVE_BPMN]))
    view = twins.work("A", {"again": True, "x": 1, "y": 1})  # round 1 has no history: both agree
    assert view["ready"] == ["D", "E"]
    assert twins.work("D", {"d": 1})["ready"] == ["E"]
    assert twins.work("E", {"e": 1})["ready"] == ["A"]
    for i in range(2, 9):
        taken = ["D", "E"] if i % 2 else ["E"]
        view = twins.step("compact", "A", {"again": i < 8, "x": i % 2, "y": 1})
        assert view["ready"] == taken
        for n, element in enumerate(taken):
            view = twins.step("compact", element, {element.lower(): i})
            assert view["ready"] == (taken[n + 1:] or (["A"] if i < 8 else []))
    assert view["completed"]
    full = twins.step("full", "A", {"again": True, "x": 1, "y": 1})
    assert full["ready"] == ["D", "E"]


def test_opportunity_recycles_and_holds_match():
    from tests.drive import DISCOVERY, GOOD_PROSPECT

    diagrams = ROOT / "diagrams"
    spec, subs = _specs("opportunity", [diagrams / "opportunity.bpmn"])
    twins = Twins(spec, subs, GOOD_PROSPECT, _model_with_tables(sorted(diagrams.glob("*.dmn"))))
    for i in range(3):
        twins.work("Task_Discovery", {**DISCOVERY, "pain_points": f"pain {i}"})
        twins.work("Task_DiscoveryGateReview", {"discovery_decision": "recycle", "discovery_note": f"again {i}"})
    twins.work("Task_Discovery", DISCOVERY)
    view = twins.work("Task_DiscoveryGateReview", {"discovery_decision": "hold", "discovery_note": "budget freeze",
                                                   "hold_days": 30})
    assert view["ready"] == [] and len(view["timers"]) == 1
    view = twins.wait(days=45)
    assert view["ready"] == ["Task_DiscoveryGateReview"]
    view = twins.work("Task_DiscoveryGateReview", {"discovery_decision": "kill", "discovery_note": "no budget"})
    assert view["completed"]


LATE_BPMN = definitions("""  <bpmn:process id="late" isExecutable="true">
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Wait" />
    <bpmn:boundaryEvent id="Timeout" attachedToRef="Wait" cancelActivity="true">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="Route" />
    <bpmn:userTask id="Late" />
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="f_start" sourceRef="Begin" targetRef="Wait" />
    <bpmn:sequenceFlow id="f_wait" sourceRef="Wait" targetRef="Done" />
    <bpmn:sequenceFlow id="f_timeout" sourceRef="Timeout" targetRef="Route" />
    <bpmn:sequenceFlow id="f_route" sourceRef="Route" targetRef="Late" />
    <bpmn:sequenceFlow id="f_late" sourceRef="Late" targetRef="Done" />
  </bpmn:process>
""", "late")


def test_a_timer_that_fired_is_still_known_as_fired_after_compaction_dropped_it():
    """A step compacts (and serializes) before its rows are written; the timer row of a
    timer that fired in the step and was compacted away must still be marked fired, not cancelled."""
    twins = Twins(*_specs("late", [LATE_BPMN]))
    full, compacted = twins._runner("full"), twins._runner("compact")
    (timer,) = compacted.waiting_timers()
    twins.clock.advance(hours=2)
    for r in (full, compacted):
        r.advance()
        assert [t["element_id"] for t in r.ready_human_tasks()] == ["Late"]
    compacted.compact()  # as a step settles, before its rows are written
    assert compacted.task(timer["id"]) is None  # compaction dropped it: the gateway after it is the new root
    assert full.timer_fired(timer["id"], "Timeout")
    for element in ("Timeout", "Wait", "Route", "Late", "Begin"):
        assert compacted.timer_fired(timer["id"], element) == full.timer_fired(timer["id"], element), element
    assert [t["element_id"] for t in compacted.ready_human_tasks()] == ["Late"]
