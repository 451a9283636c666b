"""Diagram code that would hold the server (one C call running for hours, a gigabyte allocated at
once, a list that extends itself) is stopped by the sandbox's process limits: the step fails as an
incident naming the element and the limit, nothing of the deal changes, and the server goes on.

Every payload of issue 15 runs in a script task, a gateway condition, a decision table's input
expression and a form field's required_if condition, on SQLite and PostgreSQL. The limits are
lowered (as an operator may) so each payload is stopped within about a second.
"""
from __future__ import annotations

import threading
import time

import pytest

from bench.databases import scratch_database
from engine.queries import records as queries
from engine import sandbox
from engine.sandbox import pool as sandbox_pool
from stagegate.compose import bootstrap
from engine.clock import FrozenClock
from engine.services.deployment import deploy
from engine.errors import InvalidDiagram, StepFailed
from engine.services.instances import complete_task, start_instance
from engine.services.users import add_user
from tests.conftest import PG_URL, create_tables, postgres_available
from tests.diagram_factory import decision, definitions
from tests.snapshot import stored

TIGHT = sandbox.LIMITS.with_(cpu_seconds=0.5, wall_seconds=3, memory_mb=256)
CPU = {"cpu", "wall"}  # a CPU-bound payload: whichever comes first on a busy machine
MEMORY = {"memory"}
Y = "(1 << 10000) ** 9"  # a 90,000-bit number, built within the operator guards

# (name, expression, the limits that may stop it)
PAYLOADS = [
    ("nested C loop", "all(map(sorted, [range(10**6)]*10**6))", CPU),
    ("ljust", "len(' '.ljust(10**9))", MEMORY),
    ("format width", "f'{0:>{10**9}}'", MEMORY),
    ("percent width", "'%*d' % (10**9, 1)", MEMORY),
    ("to_bytes", "(1).to_bytes(10**9, 'big')", MEMORY),
    ("expandtabs", "'\\t'.expandtabs(10**9)", MEMORY),
    ("zfill", "s.zfill(10**9)", MEMORY),
    ("float precision", "f'{1.0:.1000000000f}'", MEMORY),
    ("replace", "('a'*1000).replace('a', 'b'*10**6)", MEMORY),
    ("self-extending list", "(xs := [0]).extend(map(abs, xs))", MEMORY | CPU),
    ("hash collisions", "len(set(range(0, (2**61-1)*10**6, 2**61-1)))", CPU),
    ("modular power", f"pow(3, {Y}, {Y} + 1)", CPU),
]
CONTEXTS = ["script", "condition", "decision input", "required_if"]
STOPPED_AT = {"script": "Task_Compute", "condition": "Gateway_Check", "decision input": "Task_Decide",
              "required_if": "Task_Enter"}


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def probe(pid: str, context: str, code: str) -> list[tuple[str, bytes]]:
    """A process: Enter (a form) -> the element running `code` in the given context -> Done."""
    required_if = (f'<camunda:properties><camunda:property id="required_if" value="{_x(code)}" />'
                   "</camunda:properties>") if context == "required_if" else ""
    middle, flows, files = "", [("Task_Enter", "EndEvent_Done", None)], []
    if context == "script":
        middle = f'<bpmn:scriptTask id="Task_Compute" name="Compute" scriptFormat="python"><bpmn:script>' \
                 f"result = {_x(code)}</bpmn:script></bpmn:scriptTask>"
        flows = [("Task_Enter", "Task_Compute", None), ("Task_Compute", "EndEvent_Done", None)]
    elif context == "condition":
        middle = '<bpmn:exclusiveGateway id="Gateway_Check" name="Check" default="Flow_Other" />' \
                 '<bpmn:endEvent id="EndEvent_Other" />'
        flows = [("Task_Enter", "Gateway_Check", None), ("Gateway_Check", "EndEvent_Done", code),
                 ("Gateway_Check", "EndEvent_Other", None)]
    elif context == "decision input":
        middle = f'<bpmn:businessRuleTask id="Task_Decide" name="Decide" camunda:decisionRef="d_{pid}" />'
        flows = [("Task_Enter", "Task_Decide", None), ("Task_Decide", "EndEvent_Done", None)]
        files.append((f"d_{pid}.dmn", decision(f"d_{pid}", input_expression=_x(code), input_entry="",
                                               output="1").encode()))
    lanes = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in ("StartEvent_1", "Task_Enter"))
    seq = [("StartEvent_1", "Task_Enter", None), *flows]
    body = f"""  <bpmn:process id="{pid}" name="Probe {pid}" isExecutable="true">
    <bpmn:laneSet id="LaneSet_{pid}"><bpmn:lane id="Lane_{pid}" name="Sales">{lanes}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_Enter" name="Enter"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="s" label="S" type="string" />
      <camunda:formField id="note" label="Note" type="string">{required_if}</camunda:formField>
    </camunda:formData></bpmn:extensionElements></bpmn:userTask>
    {middle}
    <bpmn:endEvent id="EndEvent_Done" />
"""
    for i, (a, b, cond) in enumerate(seq):
        fid = "Flow_Other" if b == "EndEvent_Other" else f"Flow_{i}"
        if cond:
            body += (f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}"><bpmn:conditionExpression '
                     f'xsi:type="bpmn:tFormalExpression">{_x(cond)}</bpmn:conditionExpression></bpmn:sequenceFlow>\n')
        else:
            body += f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}" />\n'
    body += "  </bpmn:process>\n"
    return [(f"{pid}.bpmn", definitions(body, pid).encode()), *files]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def bounded(request, tmp_path_factory):
    """One Stagegate per backend for the module (each test deploys its own process), with the
    sandbox's limits lowered so runaways are stopped quickly."""
    if request.param == "postgres" and postgres_available():
        pytest.skip(postgres_available())
    before = sandbox.LIMITS
    sandbox.LIMITS = TIGHT
    with scratch_database(request.param, tmp_path_factory.mktemp("bounded"), PG_URL, "b") as url:
        sg = bootstrap(url, clock=FrozenClock())
        create_tables(sg.engine)
        add_user(sg, "sam", ["Sales"], actor="cli:test")
        try:
            yield sg
        finally:
            sg.dispose()
            sandbox.LIMITS = before


_serial = iter(range(10**6))


def deal_at_enter(sg, context: str, code: str) -> tuple[int, str]:
    """A deal of a freshly deployed probe, waiting at Enter; returns (deal id, task id)."""
    pid = f"probe_{next(_serial)}"
    deploy(sg, probe(pid, context, code), actor="cli:test")
    iid = start_instance(sg, pid, "sam", {})["id"]
    return iid, queries.ready_tasks(sg, instance_id=iid)[0]["id"]


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("name, code, limits", PAYLOADS, ids=[p[0] for p in PAYLOADS])
def test_a_runaway_evaluation_is_an_incident_naming_the_element_and_the_limit(bounded, context, name, code, limits):
    sg = bounded
    iid, task_id = deal_at_enter(sg, context, code)
    before = stored(sg, with_incidents=False)
    started = time.monotonic()
    with pytest.raises(StepFailed) as failed:
        complete_task(sg, task_id, "sam", {"s": "1"})
    took = time.monotonic() - started
    assert failed.value.element_id == STOPPED_AT[context]
    assert failed.value.limit in limits, str(failed.value)
    assert f"sandbox's {sandbox.LIMIT_NAMES[failed.value.limit]} limit" in str(failed.value)
    assert took < TIGHT.wall_seconds + 5, f"stopped after {took:.1f} s"
    after = stored(sg, with_incidents=False)
    assert after["instances"] == before["instances"] and after["human_tasks"] == before["human_tasks"], \
        "the step was rolled back: the deal and its tasks are as they were"
    assert [e[1] for e in after["audit"][len(before["audit"]):]] == ["incident"]
    incident = queries.instance(sg, iid)["open_incidents"][0]
    assert incident["element_id"] == STOPPED_AT[context]
    event = [e for e in queries.history(sg, iid) if e["kind"] == "incident"][-1]
    assert event["details"]["limit"] == failed.value.limit
    assert [t["id"] for t in queries.ready_tasks(sg, instance_id=iid)] == [task_id], "the task is still ready"
    # The server goes on: the same process evaluates the next thing in a fresh worker.
    assert sandbox.evaluate("[x * 2 for x in range(3)]", {}) == [0, 2, 4]


def test_a_runaway_decision_input_is_stopped_once_not_once_per_evaluation(bounded):
    sg = bounded
    _, task_id = deal_at_enter(sg, "decision input", PAYLOADS[0][1])
    killed = sandbox_pool.expressions().stats["killed"]
    with pytest.raises(StepFailed) as failed:
        complete_task(sg, task_id, "sam", {"s": "1"})
    assert failed.value.limit in CPU
    assert sandbox_pool.expressions().stats["killed"] == killed + 1, "the input was not evaluated again"


def test_a_runaway_rule_cell_is_an_incident_too(bounded):
    sg = bounded
    pid = f"probe_{next(_serial)}"
    files = probe(pid, "decision input", "s")
    files[1] = (files[1][0], decision(f"d_{pid}", input_expression="s", input_entry=_x(PAYLOADS[10][1]),
                                      output="1").encode())
    deploy(sg, files, actor="cli:test")
    iid = start_instance(sg, pid, "sam", {})["id"]
    with pytest.raises(StepFailed) as failed:
        complete_task(sg, queries.ready_tasks(sg, instance_id=iid)[0]["id"], "sam", {"s": "1"})
    assert (failed.value.element_id, failed.value.limit in CPU) == ("Task_Decide", True)
    assert "the decision table was stopped" in str(failed.value)


def test_a_helper_shows_its_name_not_a_memory_address(bounded):
    sg = bounded
    iid, task_id = deal_at_enter(sg, "script", "'%s' % percent + ' ' + str(clamp) + f' {business_days!r}'")
    complete_task(sg, task_id, "sam", {"s": "1"})
    shown = queries.instance(sg, iid)["data"]["result"]
    assert shown == "<helper percent> <helper clamp> <helper business_days>"
    assert "0x" not in shown


def test_a_4_mb_condition_is_refused_at_deploy_at_once_and_stopped_at_run_time(bounded, monkeypatch):
    sg = bounded
    huge = " or ".join(["s == 'x'"] * 330_000)  # about 4 MB
    started = time.monotonic()
    with pytest.raises(InvalidDiagram) as refused:
        deploy(sg, probe("probe_huge", "condition", huge), actor="cli:test")
    assert time.monotonic() - started < 5, "refused by its size, before it is parsed"
    assert "Flow_2" in str(refused.value) and "size limit is 10,000" in str(refused.value)
    # A version deployed under a higher limit (an operator lowered it since) cannot make a step compile it.
    monkeypatch.setattr(sandbox, "LIMITS", TIGHT.with_(expression_chars=100_000))
    _, task_id = deal_at_enter(sg, "condition", " or ".join(["s == 'x'"] * 2_000))
    monkeypatch.setattr(sandbox, "LIMITS", TIGHT)
    with pytest.raises(StepFailed) as failed:
        complete_task(sg, task_id, "sam", {"s": "1"})
    assert (failed.value.element_id, failed.value.limit) == ("Gateway_Check", "size")
    assert "characters long; the sandbox's size limit is 10,000" in str(failed.value)


def test_what_a_script_sends_back_is_bounded_in_size_and_kind(bounded):
    sg = bounded
    iid, task_id = deal_at_enter(sg, "script", "['x' * 1100] * 1000 + [s]")  # over 1 MiB of text
    with pytest.raises(StepFailed) as failed:
        complete_task(sg, task_id, "sam", {"s": "1"})
    assert failed.value.limit == "size" and "the result is" in str(failed.value)
    iid, task_id = deal_at_enter(sg, "script", "{s}")
    with pytest.raises(StepFailed) as failed:
        complete_task(sg, task_id, "sam", {"s": "1"})
    assert "the variable `result` is or holds a set, which is not plain data" in str(failed.value)
    assert queries.instance(sg, iid)["status"] == "running"


def test_another_request_is_answered_while_a_runaway_is_being_killed(bounded, monkeypatch):
    """Through the service, in threads: a step stuck in one C call does not hold the others."""
    sg = bounded
    monkeypatch.setattr(sandbox, "LIMITS", TIGHT.with_(cpu_seconds=3, wall_seconds=4))
    _, runaway = deal_at_enter(sg, "script", PAYLOADS[0][1])
    iid, fine = deal_at_enter(sg, "script", "s * 2")
    outcome = {}

    def run():
        try:
            complete_task(sg, runaway, "sam", {"s": "1"})
        except StepFailed as exc:
            outcome["limit"] = exc.limit

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)  # the runaway is inside its evaluation
    started = time.monotonic()
    if sg.engine.dialect.name == "postgresql":
        complete_task(sg, fine, "sam", {"s": "2"})  # another deal's step, writes and all
        assert queries.instance(sg, iid)["data"]["result"] == "22"
    else:
        # SQLite has one writer at a time (the runaway's step holds it until it is stopped): reads go on.
        assert [t["id"] for t in queries.ready_tasks(sg, instance_id=iid)] == [fine]
    answered = time.monotonic() - started
    assert thread.is_alive(), "the runaway was still being evaluated meanwhile"
    assert answered < 1.0, f"the other request took {answered:.2f} s"
    thread.join(15)
    assert outcome["limit"] in CPU
