"""The floor a persisted completion is measured against: bare SpiffWorkflow in memory (CamundaParser,
BpmnWorkflow, no sandbox) and a bare SQLAlchemy Core UPDATE + COMMIT of one state-sized row."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text, bindparam, create_engine, event, update
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

import stagegate.compose as _bootstrap_mod
from workflows.expressions import HELPERS
from bench.common import Samples, perf, revision_steps


# --------------------------------------------------------------------------- bare SpiffWorkflow
def bare_specs(bpmn: Path, process_id: str, dmn: list[Path] = ()):
    parser = CamundaParser()
    parser.add_bpmn_file(str(bpmn))
    for d in dmn:
        parser.add_dmn_file(str(d))
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


# SpiffWorkflow's own script environment (no sandbox), with the helper functions diagrams may call
# (stagegate.compose's DIAGRAM_HELPERS when it exists: HELPERS plus e.g. business_days for timers)
BARE_SCRIPT_ENGINE = PythonScriptEngine(environment=TaskDataEnvironment(dict(getattr(_bootstrap_mod, "DIAGRAM_HELPERS", HELPERS))))


def bare_workflow(spec, subs, data: dict | None = None) -> BpmnWorkflow:
    wf = BpmnWorkflow(spec, subs, script_engine=BARE_SCRIPT_ENGINE)
    if data:
        wf.task_tree.data.update(data)
        for t in wf.get_tasks(state=TaskState.READY | TaskState.FUTURE | TaskState.LIKELY):
            t.data.update(data)
    wf.do_engine_steps()
    return wf


def bare_ready(wf: BpmnWorkflow, element_id: str):
    for t in wf.get_tasks(state=TaskState.READY, manual=True):
        if t.task_spec.bpmn_id == element_id:
            return t
    return None


def bare_step(wf: BpmnWorkflow, task, data: dict) -> None:
    task.data.update(data)
    task.run()
    wf.do_engine_steps()


def bare_complete(wf: BpmnWorkflow, task, data: dict) -> float:
    t0 = perf()
    bare_step(wf, task, data)
    return perf() - t0


def bare_revision(spec, subs, n_instances: int, iters: int) -> Samples:
    times = Samples()
    for _ in range(n_instances):
        wf = bare_workflow(spec, subs)
        for it in range(1, iters + 1):
            for element, _actor, data in revision_steps(it, it == iters):
                task = bare_ready(wf, element)
                assert task is not None, f"bare: no ready {element}"
                times.time(bare_step, wf, task, data)
        assert wf.completed
    return times


def bare_opportunity(spec, subs, n_instances: int, path: dict) -> Samples:
    """Replay the service's path to "Prepare proposal" in memory; time that completion only."""
    times = Samples()
    *before, (last_element, last_data) = path["steps"]
    for _ in range(n_instances):
        wf = bare_workflow(spec, subs, dict(path["start"]))
        for element, data in before:
            task = bare_ready(wf, element)
            assert task is not None, f"bare: opportunity has no ready {element}"
            bare_step(wf, task, dict(data))
        task = bare_ready(wf, last_element)
        assert task is not None, "bare: opportunity did not reach Prepare proposal"
        times.time(bare_step, wf, task, dict(last_data))
        assert not wf.completed
    return times


# --------------------------------------------------------------------------- bare commit
def bare_commit_engine(path: Path):
    eng = create_engine(f"sqlite:///{path}")

    @event.listens_for(eng, "connect")
    def _pragmas(dbapi_conn, _record):  # the same journal settings the service uses
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return eng


def bare_commits(eng, table_name: str, payload: str, n: int, as_json: bool) -> Samples:
    """Time n UPDATE+COMMITs of one row whose state column holds `payload` (or its parsed JSON)."""
    md = MetaData()
    table = Table(table_name, md, Column("id", Integer, primary_key=True), Column("lock_version", Integer),
                  Column("state", JSON if as_json else Text))
    md.create_all(eng)
    # two equally long values, so every commit really changes the row
    other = payload[:-2] + ("!" if payload[-2] != "!" else "?") + payload[-1]
    values = [json.loads(payload), json.loads(other)] if as_json and _is_json(other) else None
    if as_json and values is None:
        values = [json.loads(payload), json.loads(payload)]
        values[1]["_bench"] = 1
    if not as_json:
        values = [payload, other]
    with eng.begin() as conn:
        conn.execute(table.insert(), {"id": 1, "lock_version": 1, "state": values[0]})
    stmt = (update(table).where(table.c.id == 1)
            .values(state=bindparam("payload"), lock_version=table.c.lock_version + 1))
    def one(value):
        with eng.begin() as conn:
            conn.execute(stmt, {"payload": value})

    times = Samples()
    for i in range(n):
        times.time(one, values[(i + 1) % 2])
    return times


def _is_json(s: str) -> bool:
    try:
        json.loads(s)
        return True
    except ValueError:
        return False


def nearest_to_median(states: list[str]) -> str:
    sizes = sorted(len(s.encode()) for s in states)
    target = statistics.median_low(sizes)
    return next(s for s in states if len(s.encode()) == target)
