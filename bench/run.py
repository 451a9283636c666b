"""Stagegate benchmark: what one persisted task completion costs, and what it is made of.

Run from the repository root:

    .venv/bin/python -m bench.run            # full run (a few minutes)
    .venv/bin/python -m bench.run --quick    # short run; the long loop stops at 100 iterations
    .venv/bin/python bench/run.py [--quick]

It measures, in one run, side by side:

1. `complete_task` through the service layer (SQLite file in WAL mode, audit included):
   revision_loop on fresh instances (3 Draft+Review iterations each) and opportunity's
   "Prepare proposal" task;
2. the same user tasks run by bare SpiffWorkflow in memory
   (CamundaParser + BpmnWorkflow; task.data.update + task.run + workflow.do_engine_steps);
3. a bare SQLAlchemy Core UPDATE + COMMIT of one row whose JSON/text column has the byte
   size of a real serialized instance state (taken from the service run);
4. ratios and completions per second;
5. per-step cost after 10, 100 and 1,000 revision-loop iterations of one instance, through
   the service layer and bare SpiffWorkflow (which stalls once ready tasks fall beyond its
   task-iterator depth of 1,000), with the persisted state size at those points;

and then a cProfile of `complete_task` and a breakdown of its time by phase.

The benchmark only reads engine code; it monkeypatches nothing permanently (the phase
breakdown wraps a few functions for its own run and restores them).
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import json
import math
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first on the path, not the root
    sys.path.insert(0, str(ROOT))

from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text, bindparam, create_engine, event, text, update  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

import stagegate.compose as _bootstrap_mod  # noqa: E402
from stagegate.compose import bootstrap  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.services.deployment import collect_files, deploy  # noqa: E402
from engine.services.instances import complete_task, start_instance  # noqa: E402
from engine.queries.records import instance as instance_query  # noqa: E402
from engine.queries.records import ready_tasks, verify_audit  # noqa: E402
from engine.errors import Refused  # noqa: E402
from engine.queries.records import task as task_query  # noqa: E402
from engine.services.users import add_user  # noqa: E402
from workflows.expressions import HELPERS  # noqa: E402

DIAGRAMS = ROOT / "diagrams"
REVISION_BPMN = DIAGRAMS / "revision_loop.bpmn"
OPPORTUNITY_BPMN = DIAGRAMS / "opportunity.bpmn"

USERS = {"sam": ["Sales"], "fiona": ["Finance"], "pete": ["Supply"], "lena": ["Sales Leadership"]}
OPPORTUNITY_START = {"deal_name": "Bench deal", "customer": "Acme Motors", "annual_revenue_musd": 120,
                     "industry": "automotive", "budget_confirmed": True, "deal_value": 250000}
PROPOSAL = {"price": 240000, "margin_pct": 32, "requested_delivery_date": "2026-03-31",
            "proposal_summary": "Two production lines, commissioning included."}
ITERS_PER_INSTANCE = 3  # fresh revision_loop instances: Draft+Review x3, the last review approves
WINDOW = 2  # per-step cost at iteration N = median of the completions of iterations N-2 .. N+2

FULL = dict(rev_instances=50, opp_instances=150, bare_rev_instances=200, bare_opp_instances=500, commits=1000,
            profile_instances=20, breakdown_instances=20, long_points=(10, 100, 1000, 10000), long_cap=10000 + WINDOW,
            service_budget_s=420.0, bare_budget_s=60.0, parallel_iterations=10000, inbox_instances=100_000,
            inbox_calls=100)
QUICK = dict(rev_instances=10, opp_instances=30, bare_rev_instances=50, bare_opp_instances=100, commits=200,
             profile_instances=5, breakdown_instances=5, long_points=(10, 100, 300), long_cap=300 + WINDOW,
             service_budget_s=180.0, bare_budget_s=60.0, parallel_iterations=300, inbox_instances=10_000,
             inbox_calls=30)
HEADLINE: dict[str, str] = {}  # the figures, printed together at the end


perf = time.perf_counter
cpu = time.thread_time


class Samples:
    """Wall and CPU (this thread) time of each timed call."""

    def __init__(self):
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __len__(self) -> int:
        return len(self.wall)

    def time(self, fn, *a, **k):
        w0, c0 = perf(), cpu()
        result = fn(*a, **k)  # a call that raises is not recorded
        c1, w1 = cpu(), perf()
        self.wall.append(w1 - w0)
        self.cpu.append(c1 - c0)
        return result


# --------------------------------------------------------------------------- helpers
def summarize(xs: list[float]) -> dict:
    """n, median, p95 (nearest rank), mean, in seconds."""
    s = sorted(xs)
    n = len(s)
    if not n:
        return {"n": 0, "median": math.nan, "p95": math.nan, "mean": math.nan, "total": 0.0}
    return {"n": n, "median": statistics.median(s), "p95": s[max(0, math.ceil(0.95 * n) - 1)],
            "mean": statistics.fmean(s), "total": sum(s)}


def ms(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 1000:.3f}"


def kb(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,} B ({n / 1024:.1f} KiB)"


def rule(title: str) -> None:
    print()
    print(f"== {title} " + "=" * max(0, 96 - len(title)))


def machine_info(tmp: str) -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    fs = "?"
    try:
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and tmp.startswith(parts[1]) and len(parts[1]) >= len(best):
                best, fs = parts[1], f"{parts[2]} on {parts[1]}"
    except OSError:
        pass
    import subprocess

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    dirty = git("status", "--porcelain", "--", "engine", "workflows")
    code = f"git {git('rev-parse', '--short', 'HEAD') or '?'}" + (
        f" + uncommitted changes in {len(dirty.splitlines())} engine/workflows file(s)" if dirty else " (engine/ clean)")
    return [
        ("code", code),
        ("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min, at start; other work on the box skews timings)"),
        ("nproc", f"{affinity} (os.cpu_count {os.cpu_count()})"),
        ("cpu", cpu),
        ("platform", platform.platform()),
        ("python", f"{platform.python_implementation()} {sys.version.split()[0]} ({sys.executable})"),
        ("SpiffWorkflow", metadata.version("SpiffWorkflow")),
        ("SQLAlchemy", metadata.version("SQLAlchemy")),
        ("SQLite", f"{sqlite3.sqlite_version} (pysqlite module {getattr(sqlite3, 'version', '?')})"),
        ("databases", f"{tmp} ({fs})"),
        ("service DB", "SQLite file, journal_mode=WAL, synchronous=NORMAL (engine.store.db), BEGIN IMMEDIATE per use case"),
        ("clock", "engine.clock.SystemClock"),
    ]


# --------------------------------------------------------------------------- service layer
def make_service(tmp: str, name: str):
    url = f"sqlite:///{Path(tmp) / name}"
    sg = bootstrap(url, clock=SystemClock(), migrate=True)
    for user, roles in USERS.items():
        add_user(sg, user, roles, actor="cli:bench")
    deploy(sg, collect_files([DIAGRAMS]), actor="cli:bench")
    return sg


def state_text(sg, instance_id: int) -> str:
    with sg.engine.connect() as conn:
        return conn.execute(text("SELECT CAST(state AS TEXT) FROM instances WHERE id = :i"), {"i": instance_id}).scalar_one()


def state_info(sg, instance_id: int) -> tuple[int, int]:
    """(bytes of the stored state, number of engine tasks in it)."""
    with sg.engine.connect() as conn:
        row = conn.execute(text("SELECT length(CAST(state AS BLOB)), "
                                "(SELECT count(*) FROM json_each(instances.state, '$.tasks')) "
                                "FROM instances WHERE id = :i"), {"i": instance_id}).one()
    return int(row[0]), int(row[1])


def ready_one(sg, instance_id: int, element_id: str) -> dict | None:
    for t in ready_tasks(sg, instance_id=instance_id):
        if t["element_id"] == element_id:
            return t
    return None


def revision_steps(iteration: int, last: bool):
    yield "Task_Draft", "sam", {"revision_note": f"revision {iteration}"}
    yield "Task_Review", "fiona", {"approved": last}


def service_revision(sg, n_instances: int, iters: int, keep_states: bool = True):
    """Times of every complete_task on fresh instances, with the stored state after each."""
    times, states = Samples(), []
    for _ in range(n_instances):
        iid = start_instance(sg, "revision_loop", "sam", {})["id"]
        for it in range(1, iters + 1):
            for element, actor, data in revision_steps(it, it == iters):
                task = ready_one(sg, iid, element)
                assert task is not None, f"no ready {element} on instance {iid}"
                times.time(complete_task, sg, task["id"], actor, data)
                if keep_states:
                    states.append(state_text(sg, iid))
        assert instance_query(sg, iid)["status"] == "completed"
    return times, states


PREFERRED_OPTIONS = ("go", "won", "approve", "approved", "yes", "accept")


def fill_form(fields: list[dict], overrides: dict) -> dict:
    """Valid values for a diagram form: the overrides it knows, plain defaults for the rest.

    The opportunity diagram changes while this benchmark lives; filling its forms from their
    definitions keeps the drive to "Prepare proposal" working when fields or steps are added.
    """
    out = {}
    for f in fields:
        fid, kind, c = f["id"], f.get("type") or "string", f.get("constraints") or {}
        if fid in overrides:
            out[fid] = overrides[fid]
        elif "readonly" in c:
            continue
        elif kind == "boolean":
            out[fid] = True
        elif kind == "long":
            v = max(1, int(c["min"])) if c.get("min") not in (None, "") else 1
            out[fid] = min(v, int(c["max"])) if c.get("max") not in (None, "") else v
        elif kind == "date":
            out[fid] = (date.today() + timedelta(days=60)).isoformat()
        elif kind == "enum":
            ids = [o["id"] for o in f.get("options", [])]
            out[fid] = next((i for i in PREFERRED_OPTIONS if i in ids), ids[0] if ids else "")
        else:
            text_ = "bench value"
            if c.get("minlength") not in (None, ""):
                text_ = text_.ljust(int(c["minlength"]), "x")
            out[fid] = text_[: int(c["maxlength"])] if c.get("maxlength") not in (None, "") else text_
    return out


class Actors:
    """Bench users made on demand, one or more per role (separation of duties may refuse one)."""

    def __init__(self, sg):
        self.sg = sg
        self.by_role: dict[str, list[str]] = defaultdict(list)

    def _add(self, role: str) -> str:
        name = f"bench-{role.replace(' ', '-')}-{len(self.by_role[role]) + 1}"
        add_user(self.sg, name, [role], actor="cli:bench")
        self.by_role[role].append(name)
        return name

    def complete(self, task: dict, data: dict, samples: Samples | None = None) -> dict:
        """complete_task as some user holding the task's role; only a successful call is timed."""
        role = (task.get("roles") or [task.get("role") or "sales"])[0]
        candidates = list(self.by_role[role]) or [self._add(role)]
        for attempt in range(4):
            name = candidates[attempt] if attempt < len(candidates) else self._add(role)
            try:
                if samples is not None:
                    return samples.time(complete_task, self.sg, task["id"], name, data)
                return complete_task(self.sg, task["id"], name, data)
            except Refused:
                continue
        raise RuntimeError(f"no bench user may complete {task['element_id']}")


def start_form(sg, process_id: str) -> list[dict]:
    from sqlalchemy import select

    from engine.store.models import ProcessVersion
    with sg.uow(write=False) as uow:
        pv = uow.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                                 .order_by(ProcessVersion.version.desc()).limit(1)).scalar_one()
        return list(pv.model.get("start_form", []))


def service_opportunity(sg, n_instances: int, keep_states: bool = True):
    """Drive fresh opportunities to "Prepare proposal" (untimed) and time that one completion.

    Returns the times, the stored states after it, and the path taken: the start data and
    (element, data) of every human task completed, for the bare library to replay.
    """
    times, states = Samples(), []
    actors = Actors(sg)
    start = fill_form(start_form(sg, "opportunity"), OPPORTUNITY_START)
    path: list[tuple[str, dict]] = []
    for n in range(n_instances):
        r = start_instance(sg, "opportunity", actors.by_role["sales"][0] if actors.by_role["sales"] else "sam", start)
        iid = r["id"]
        for _guard in range(20):
            ready = ready_tasks(sg, instance_id=iid)
            target = next((t for t in ready if t["element_id"] == "Task_PrepareProposal"), None)
            if target is not None or not ready:
                break
            t = ready[0]
            data = fill_form(task_query(sg, t["id"])["form"], {})
            actors.complete(t, data)
            if n == 0:
                path.append((t["element_id"], data))
        assert target is not None, f"opportunity {iid} did not reach Prepare proposal: {ready_tasks(sg, instance_id=iid)}"
        data = fill_form(task_query(sg, target["id"])["form"], PROPOSAL)
        data = {k: v for k, v in data.items() if k in {f["id"] for f in task_query(sg, target["id"])["form"]}}
        actors.complete(target, data, times)
        if n == 0:
            path.append((target["element_id"], data))
        if keep_states:
            states.append(state_text(sg, iid))
    return times, states, {"start": start, "steps": path}


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


# --------------------------------------------------------------------------- long loop
def service_long(tmp: str, cap: int, points: tuple, budget_s: float) -> dict:
    """One revision_loop instance driven through `cap` Draft+Review iterations (approved=False)."""
    sg = make_service(tmp, "long.db")
    started_instance = start_instance(sg, "revision_loop", "sam", {})
    iid, ready = started_instance["id"], started_instance["ready_tasks"]
    per_iter: dict[int, list[float]] = {}
    cpu_iter: dict[int, list[float]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    note, reached = None, 0
    started = perf()
    try:
        for it in range(1, cap + 1):
            for element, actor, data in revision_steps(it, False):
                # complete_task returns the ready tasks: no extra query between steps
                task = next((t for t in ready if t["element_id"] == element), None)
                if task is None:
                    st = instance_query(sg, iid)["status"]
                    note = f"stalled at iteration {it}: no ready {element} although the instance is {st}"
                    raise StopIteration
                t0, c0 = perf(), cpu()
                ready = complete_task(sg, task["id"], actor, data)["ready_tasks"]
                cpu_iter.setdefault(it, []).append(cpu() - c0)
                per_iter.setdefault(it, []).append(perf() - t0)
            reached = it
            if it in points or it == cap:
                sizes[it] = state_info(sg, iid)
            if perf() - started > budget_s and it < cap:
                sizes[it] = state_info(sg, iid)
                note = (f"capped by the time budget: stopped after iteration {it} "
                        f"({perf() - started:.0f} s > {budget_s:.0f} s)")
                break
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001 - report, do not crash the benchmark
        note = f"failed at iteration {reached + 1}: {type(exc).__name__}: {exc}"
    elapsed = perf() - started
    # Does the instance still finish after all those loops?
    final = None
    if note is None or note.startswith("capped"):
        try:
            draft = ready_one(sg, iid, "Task_Draft")
            complete_task(sg, draft["id"], "sam", {"revision_note": "final"})
            review = ready_one(sg, iid, "Task_Review")
            t0 = perf()
            r = complete_task(sg, review["id"], "fiona", {"approved": True})
            final = f"after {reached} loops, one more Draft + Review(approved=True) -> status '{r['status']}', " \
                    f"ended at {r['ended_at_element']} (last step {ms(perf() - t0)} ms)"
        except Exception as exc:  # noqa: BLE001
            final = f"could not finish the instance: {type(exc).__name__}: {exc}"
    audit = verify_audit(sg)
    sg.dispose()
    return {"per_iter": per_iter, "cpu_iter": cpu_iter, "sizes": sizes, "note": note, "reached": reached,
            "elapsed": elapsed, "final": final, "audit": audit}


def bare_long(cap: int, points: tuple, budget_s: float) -> dict:
    spec, subs = bare_specs(REVISION_BPMN, "revision_loop")
    wf = bare_workflow(spec, subs)
    per_iter: dict[int, list[float]] = {}
    tasks_at: dict[int, int] = {}
    note, reached = None, 0
    started = perf()
    try:
        for it in range(1, cap + 1):
            for element, _actor, data in revision_steps(it, False):
                task = bare_ready(wf, element)
                if task is None:
                    hidden = [t for t in wf.tasks.values() if t.state == TaskState.READY]
                    where = ", ".join(f"{t.task_spec.bpmn_id or t.task_spec.name} at depth {t.depth}" for t in hidden)
                    note = (f"stalled at iteration {it}: get_tasks() finds no ready {element} and the workflow "
                            f"is not completed (completed={wf.completed}); READY in workflow.tasks: "
                            f"{where or 'none'}")
                    raise StopIteration
                per_iter.setdefault(it, []).append(bare_complete(wf, task, data))
            reached = it
            if it in points or it == cap:
                tasks_at[it] = len(wf.tasks)
            if perf() - started > budget_s and it < cap:
                tasks_at[it] = len(wf.tasks)
                note = f"capped by the time budget: stopped after iteration {it}"
                break
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001
        note = f"failed at iteration {reached + 1}: {type(exc).__name__}: {exc}"
    tasks_at.setdefault(reached, len(wf.tasks))
    return {"per_iter": per_iter, "tasks_at": tasks_at, "note": note, "reached": reached,
            "elapsed": perf() - started}


def window_median(per_iter: dict[int, list[float]], n: int) -> tuple[float | None, int, str]:
    its = [i for i in range(max(1, n - WINDOW), n + WINDOW + 1) if i in per_iter]
    xs = [x for i in its for x in per_iter[i]]
    if n not in per_iter or not xs:
        return None, 0, ""
    return statistics.median(xs), len(xs), f"{its[0]}-{its[-1]}"


# --------------------------------------------------------------------------- profile and breakdown
def _short(filename: str) -> str:
    for prefix in (str(ROOT) + os.sep, *[p + os.sep for p in sys.path if p.endswith("site-packages")]):
        if filename.startswith(prefix):
            return filename[len(prefix):]
    return filename


def drive(sg, iid: int, first: int, last: int) -> list[float]:
    """Complete Draft+Review(approved=False) of iterations first..last on one instance; times per completion."""
    times = []
    for it in range(first, last + 1):
        for element, actor, data in revision_steps(it, False):
            task = ready_one(sg, iid, element)
            assert task is not None, f"no ready {element} at iteration {it}"
            t0 = perf()
            complete_task(sg, task["id"], actor, data)
            times.append(perf() - t0)
    return times


class _Swap:
    """Temporarily replace this module's `complete_task` (what service_revision and drive call)."""

    def __init__(self, replacement):
        self.replacement = replacement

    def __enter__(self):
        self.original = globals()["complete_task"]
        globals()["complete_task"] = self.replacement

    def __exit__(self, *exc):
        globals()["complete_task"] = self.original


def _profile_table(prof: cProfile.Profile, calls: int, by: str) -> str:
    st = pstats.Stats(prof)
    total = st.total_tt
    idx = 3 if by == "cumulative" else 2
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][idx], reverse=True)[:10]
    out = [f"  top 10 by {'cumulative' if by == 'cumulative' else 'own (tot)'} time "
           f"({calls} complete_task calls, {total * 1000 / calls:.3f} ms per call under the profiler)",
           f"  {'ncalls':>9} {'tottime/call ms':>16} {'cumtime/call ms':>16} {'cum %':>6}  function"]
    for (fn, line, name), (_cc, nc, tt, ct, _callers) in rows:
        where = name if fn == "~" else f"{_short(fn)}:{line}({name})"
        out.append(f"  {nc:>9} {tt * 1000 / calls:>16.3f} {ct * 1000 / calls:>16.3f} {100 * ct / total:>5.1f}%  {where}")
    return "\n".join(out)


def profile_complete_task(tmp: str, n_instances: int, long_at: int, long_n: int) -> str:
    """cProfile of complete_task on fresh instances, and on one instance after `long_at` loops."""
    sg = make_service(tmp, "profile.db")
    service_revision(sg, 1, ITERS_PER_INSTANCE, keep_states=False)  # warm caches
    original = complete_task
    fresh, late = cProfile.Profile(), cProfile.Profile()

    def under(prof):
        def profiled(*a, **k):
            prof.enable()
            try:
                return original(*a, **k)
            finally:
                prof.disable()
        return profiled

    try:
        with _Swap(under(fresh)):
            service_revision(sg, n_instances, ITERS_PER_INSTANCE, keep_states=False)
        iid = start_instance(sg, "revision_loop", "sam", {})["id"]
        drive(sg, iid, 1, long_at)
        with _Swap(under(late)):
            drive(sg, iid, long_at + 1, long_at + long_n)
    finally:
        sg.dispose()
    calls = n_instances * ITERS_PER_INSTANCE * 2
    return "\n".join([
        f"  (a) fresh instances (iterations 1-{ITERS_PER_INSTANCE})",
        _profile_table(fresh, calls, "cumulative"), "",
        _profile_table(fresh, calls, "tottime"), "",
        f"  (b) one instance after {long_at} loops (iterations {long_at + 1}-{long_at + long_n})",
        _profile_table(late, 2 * long_n, "cumulative"),
    ])


class PhaseTimer:
    """Exclusive time per wrapped function: nested wrapped calls are charged to themselves only.

    Only counts while `active` (i.e. inside complete_task), so the untimed bookkeeping of the
    benchmark (ready_tasks, start_instance) does not leak into the phases.
    """

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[float] = []
        self.active = False
        self._undo: list = []

    def wrap(self, owner, attr: str, phase: str) -> None:
        fn = getattr(owner, attr)
        had_own = attr in vars(owner)
        timer = self

        @functools.wraps(fn)
        def wrapped(*a, **k):
            if not timer.active:
                return fn(*a, **k)
            timer.stack.append(0.0)
            t0 = perf()
            try:
                return fn(*a, **k)
            finally:
                elapsed = perf() - t0
                inner = timer.stack.pop()
                timer.totals[phase] += elapsed - inner
                if timer.stack:
                    timer.stack[-1] += elapsed

        setattr(owner, attr, wrapped)
        self._undo.append((owner, attr, fn, had_own))

    def restore(self) -> None:
        for owner, attr, fn, had_own in reversed(self._undo):
            if had_own:
                setattr(owner, attr, fn)
            else:
                delattr(owner, attr)
        self._undo.clear()

    def take(self, times) -> dict:
        times = getattr(times, "wall", times)
        n, total = len(times), sum(times)
        out = {name: t / n for name, t in self.totals.items()}
        out[REST] = (total - sum(self.totals.values())) / n
        out[TOTAL] = total / n
        self.totals = defaultdict(float)
        return out


REST = "rest (use-case code, ORM bookkeeping, wrapper overhead)"
TOTAL = "total per completion (with wrappers in place)"


def phase_breakdown(tmp: str, n_instances: int, long_at: int, long_n: int) -> tuple[dict, dict, int, int]:
    import engine.audit as audit_mod
    import engine.store.db as db_mod
    import engine.bpmn.forms as forms_mod
    import engine.bpmn.runtime as runtime_mod
    from sqlalchemy.orm import Session

    sg = make_service(tmp, "breakdown.db")
    service_revision(sg, 1, ITERS_PER_INSTANCE, keep_states=False)
    pt = PhaseTimer()
    pt.wrap(sg.specs, "load_state", "restore workflow from state (deepcopy + from_dict)")
    pt.wrap(sg.specs, "dump_state", "serialize workflow state (to_dict)")
    pt.wrap(runtime_mod.Runner, "complete", "engine: run the user task")
    pt.wrap(runtime_mod.Runner, "advance", "engine: advance (gateway, next task)")
    for attr in ("is_ready", "ready_human_tasks", "data"):
        pt.wrap(runtime_mod.Runner, attr, "engine: find task / list ready tasks / data")
    pt.wrap(audit_mod, "record", "audit.record (canonical JSON, hash, head row)")
    pt.wrap(forms_mod, "validate", "form validation")
    pt.wrap(Session, "execute", "ORM reads (SELECTs + JSON decode of rows)")
    pt.wrap(Session, "get", "ORM reads (SELECTs + JSON decode of rows)")
    pt.wrap(Session, "flush", "ORM flush (INSERT/UPDATE incl. JSON encode)")
    pt.wrap(Session, "commit", "COMMIT (WAL append)")
    pt.wrap(db_mod.UnitOfWork, "__enter__", "session open + BEGIN IMMEDIATE")
    pt.wrap(db_mod.UnitOfWork, "__exit__", "rollback/close session")
    original = complete_task

    def active(*a, **k):
        pt.active = True
        try:
            return original(*a, **k)
        finally:
            pt.active = False

    try:
        with _Swap(active):
            times, _ = service_revision(sg, n_instances, ITERS_PER_INSTANCE, keep_states=False)
        fresh = pt.take(times)
        iid = start_instance(sg, "revision_loop", "sam", {})["id"]
        drive(sg, iid, 1, long_at)
        pt.totals = defaultdict(float)
        with _Swap(active):
            late_times = drive(sg, iid, long_at + 1, long_at + long_n)
        late = pt.take(late_times)
    finally:
        pt.restore()
        sg.dispose()
    return fresh, late, len(times), len(late_times)


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter run; the long loop stops at 100 iterations")
    ap.add_argument("--keep", action="store_true", help="keep the temporary databases")
    ap.add_argument("--long-only", action="store_true", help="run only section 5 (the long loop)")
    ap.add_argument("--long-budget", type=float, default=None, metavar="SECONDS",
                    help="time budget of the service long loop (default 180 s; raise it to see 1,000 iterations)")
    args = ap.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.long_budget is not None:
        cfg["service_budget_s"] = args.long_budget
    tmp = tempfile.mkdtemp(prefix="stagegate-bench-")
    run_started = perf()
    try:
        return _run(cfg, tmp, args.quick, args.long_only)
    finally:
        print(f"\n(total benchmark wall time {perf() - run_started:.1f} s; load average at end "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()) + ")")
        if args.keep:
            print(f"(databases kept in {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _run(cfg: dict, tmp: str, quick: bool, long_only: bool = False) -> int:
    print(f"Stagegate benchmark ({'quick' if quick else 'full'} run{', long loop only' if long_only else ''})")
    rule("Machine")
    for k, v in machine_info(tmp):
        print(f"  {k:<14} {v}")
    if not long_only:
        _short_runs(cfg, tmp)
    _long_runs(cfg, tmp, quick)
    if not long_only:
        _inbox(cfg, tmp)
        _profiles(cfg, tmp)
    rule("Summary (issue 9 figures, all from this run)")
    for k, v in HEADLINE.items():
        print(f"  {k}: {v}")
    return 0


def _short_runs(cfg: dict, tmp: str) -> None:

    # 1. service layer
    sg = make_service(tmp, "service.db")
    service_revision(sg, 2, ITERS_PER_INSTANCE, keep_states=False)  # warm-up: spec cache, imports, pages
    service_opportunity(sg, 2, keep_states=False)
    gc.collect()
    svc_rev, rev_states = service_revision(sg, cfg["rev_instances"], ITERS_PER_INSTANCE)
    gc.collect()
    svc_opp, opp_states, opp_path = service_opportunity(sg, cfg["opp_instances"])
    sg.dispose()
    rev_payload = nearest_to_median(rev_states)
    opp_payload = nearest_to_median(opp_states)
    rev_sizes = [len(s.encode()) for s in rev_states]

    # 2. bare SpiffWorkflow
    rspec, rsubs = bare_specs(REVISION_BPMN, "revision_loop")
    ospec, osubs = bare_specs(OPPORTUNITY_BPMN, "opportunity", sorted(DIAGRAMS.glob("*.dmn")))
    bare_revision(rspec, rsubs, 5, ITERS_PER_INSTANCE)
    bare_opportunity(ospec, osubs, 5, opp_path)
    gc.collect()
    lib_rev = bare_revision(rspec, rsubs, cfg["bare_rev_instances"], ITERS_PER_INSTANCE)
    gc.collect()
    lib_opp = bare_opportunity(ospec, osubs, cfg["bare_opp_instances"], opp_path)

    # 3. bare commits
    ceng = bare_commit_engine(Path(tmp) / "bare_commit.db")
    bare_commits(ceng, "warmup", rev_payload, 50, as_json=False)
    gc.collect()
    commit_rev_text = bare_commits(ceng, "rev_text", rev_payload, cfg["commits"], as_json=False)
    commit_rev_json = bare_commits(ceng, "rev_json", rev_payload, cfg["commits"], as_json=True)
    commit_opp_text = bare_commits(ceng, "opp_text", opp_payload, cfg["commits"], as_json=False)
    commit_opp_json = bare_commits(ceng, "opp_json", opp_payload, cfg["commits"], as_json=True)
    ceng.dispose()

    rows = [
        ("service complete_task  revision_loop (iters 1-3)", svc_rev),
        ("service complete_task  opportunity Prepare proposal", svc_opp),
        ("bare SpiffWorkflow     revision_loop (iters 1-3)", lib_rev),
        ("bare SpiffWorkflow     opportunity Prepare proposal", lib_opp),
        (f"bare UPDATE+COMMIT Text  {len(rev_payload.encode()):>6,} B (revision_loop state)", commit_rev_text),
        (f"bare UPDATE+COMMIT JSON  {len(rev_payload.encode()):>6,} B (revision_loop state)", commit_rev_json),
        (f"bare UPDATE+COMMIT Text  {len(opp_payload.encode()):>6,} B (opportunity state)", commit_opp_text),
        (f"bare UPDATE+COMMIT JSON  {len(opp_payload.encode()):>6,} B (opportunity state)", commit_opp_json),
    ]
    S = {name: summarize(xs.wall) for name, xs in rows}
    C = {name: summarize(xs.cpu) for name, xs in rows}
    rule("1-3. Cost of one completion / one commit (fresh instances)")
    print(f"  revision_loop: fresh instances, {ITERS_PER_INSTANCE} Draft+Review iterations each (last review approves);"
          f" opportunity: one Prepare proposal per fresh instance,")
    print("  reached untimed via: start -> " + " -> ".join(e for e, _ in opp_path["steps"][:-1] + [("timed: " + opp_path["steps"][-1][0], None)]))
    print(f"  Stored revision_loop state after a completion: median {kb(int(statistics.median(rev_sizes)))}, "
          f"min {min(rev_sizes):,} B, max {max(rev_sizes):,} B; opportunity after Prepare proposal: "
          f"{kb(len(opp_payload.encode()))}.")
    print("  Bare library timing = task.data.update + task.run + workflow.do_engine_steps (no persistence).")
    print("  Bare commit = one SQLAlchemy Core UPDATE of a row (id, lock_version, state) + COMMIT, same WAL/NORMAL file"
          " settings; Text = pre-serialized string, JSON = dict through the JSON type (json.dumps).")
    print()
    print("  Wall = perf_counter; CPU = thread_time of the same calls (less sensitive to other load on the box).")
    print()
    head = (f"  {'measurement':<60} {'n':>5} {'median ms':>10} {'p95 ms':>9} {'mean ms':>9} {'per s (median)':>15}"
            f" {'per s (mean)':>13} {'CPU median ms':>14}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for name, _ in rows:
        s = S[name]
        print(f"  {name:<60} {s['n']:>5} {ms(s['median']):>10} {ms(s['p95']):>9} {ms(s['mean']):>9} "
              f"{1 / s['median']:>15,.0f} {1 / s['mean']:>13,.0f} {ms(C[name]['median']):>14}")

    rule("4. Ratios (medians)")
    r = S
    def ratio(a, b):
        return r[a]["median"] / r[b]["median"]
    n = [name for name, _ in rows]
    print(f"  {'':<30} {'service / bare library':>24} {'service / commit Text':>22} {'service / commit JSON':>22}")
    print(f"  {'revision_loop (Draft/Review)':<30} {ratio(n[0], n[2]):>23.1f}x {ratio(n[0], n[4]):>21.1f}x {ratio(n[0], n[5]):>21.1f}x")
    print(f"  {'opportunity (Prepare proposal)':<30} {ratio(n[1], n[3]):>23.1f}x {ratio(n[1], n[6]):>21.1f}x {ratio(n[1], n[7]):>21.1f}x")
    def cratio(a, b):
        return C[a]["median"] / C[b]["median"]
    print(f"  {'same, on CPU-time medians:':<30} {'':>24} {'':>22} {'':>22}")
    print(f"  {'  revision_loop':<30} {cratio(n[0], n[2]):>23.1f}x {cratio(n[0], n[4]):>21.1f}x {cratio(n[0], n[5]):>21.1f}x")
    print(f"  {'  opportunity':<30} {cratio(n[1], n[3]):>23.1f}x {cratio(n[1], n[6]):>21.1f}x {cratio(n[1], n[7]):>21.1f}x")
    print(f"  completions per second (1/median): service rev {1 / r[n[0]]['median']:,.0f}, opp {1 / r[n[1]]['median']:,.0f}"
          f" | bare lib rev {1 / r[n[2]]['median']:,.0f}, opp {1 / r[n[3]]['median']:,.0f}"
          f" | bare commit (Text) rev-size {1 / r[n[4]]['median']:,.0f}, opp-size {1 / r[n[6]]['median']:,.0f}")
    HEADLINE["persisted completions/s (revision_loop)"] = (
        f"service {1 / r[n[0]]['median']:,.0f}/s (median {ms(r[n[0]]['median'])} ms, SQLite WAL, audit included) | "
        f"bare UPDATE+COMMIT of a same-size row {1 / r[n[4]]['median']:,.0f}/s ({ms(r[n[4]]['median'])} ms) | "
        f"bare library in memory {1 / r[n[2]]['median']:,.0f}/s ({ms(r[n[2]]['median'])} ms) | "
        f"service/commit {ratio(n[0], n[4]):.1f}x, service/library {ratio(n[0], n[2]):.1f}x")
    HEADLINE["persisted completions/s (opportunity)"] = (
        f"service {1 / r[n[1]]['median']:,.0f}/s ({ms(r[n[1]]['median'])} ms) | bare commit "
        f"{1 / r[n[6]]['median']:,.0f}/s | bare library {1 / r[n[3]]['median']:,.0f}/s")
    overhead = r[n[0]]["median"] - r[n[2]]["median"] - r[n[4]]["median"]
    print(f"  revision_loop: service median - bare library - bare commit = {ms(overhead)} ms per completion "
          f"not explained by engine work or the write itself")



def _long_runs(cfg: dict, tmp: str, quick: bool) -> None:
    rule("5. Per-step cost as one instance loops (revision_loop, approved=False each time)")
    points = cfg["long_points"]
    cap = cfg["long_cap"]
    print(f"  Target: {cap} iterations (= {2 * cap} completions); per-step cost at iteration N = median of the "
          f"Draft+Review completions of iterations N-{WINDOW}..N+{WINDOW}.")
    if quick:
        print(f"  --quick: capped at {cap - WINDOW} iterations.")
    print(f"  Service time budget {cfg['service_budget_s']:.0f} s, bare library budget {cfg['bare_budget_s']:.0f} s.")
    gc.collect()
    bl = bare_long(cap, points, cfg["bare_budget_s"])
    gc.collect()
    extra = (bl["reached"],) if bl["note"] and bl["reached"] else ()
    sl = service_long(tmp, cap, tuple(points) + extra, cfg["service_budget_s"])
    print()
    head = (f"  {'iteration':>9} | {'service ms/step':>15} {'(n, iters)':>12} {'stored state':>24} {'tasks':>6} | "
            f"{'bare lib ms/step':>16} {'(n, iters)':>12} {'tasks':>6} | {'svc/bare':>8}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    shown = list(points)
    if sl["reached"] and sl["reached"] not in shown and sl["note"]:
        shown.append(sl["reached"])
    if bl["reached"] and bl["reached"] not in shown and bl["note"]:
        shown.append(bl["reached"])
    for p in sorted(shown):
        sm, sn, sits = window_median(sl["per_iter"], p)
        bm, bn, bits = window_median(bl["per_iter"], p)
        size = sl["sizes"].get(p)
        s_cell = f"{ms(sm):>15} {f'({sn}, {sits})':>12}" if sm is not None else f"{'not reached':>15} {'':>12}"
        b_cell = f"{ms(bm):>16} {f'({bn}, {bits})':>12}" if bm is not None else f"{'stalled' if bl['note'] and 'stalled' in bl['note'] else 'not reached':>16} {'':>12}"
        size_cell = f"{size[0]:>12,} B ({size[0] / 1048576:5.2f} MiB)" if size else f"{'':>24}"
        tasks_cell = f"{size[1]:>6}" if size else f"{'':>6}"
        btasks = bl["tasks_at"].get(p)
        rat = f"{sm / bm:>7.1f}x" if sm is not None and bm is not None else f"{'':>8}"
        print(f"  {p:>9} | {s_cell} {size_cell} {tasks_cell} | {b_cell} {btasks if btasks is not None else '':>6} | {rat}")
    print()
    print(f"  service: reached iteration {sl['reached']} in {sl['elapsed']:.1f} s; "
          + (sl["note"] or f"no stall: went past {max(points)} iterations without losing ready work"))
    if sl["final"]:
        print(f"  service: {sl['final']}")
    a = sl["audit"]
    print(f"  service: audit chain ok={a['ok']} over {a['events']:,} events")
    print(f"  bare library: reached iteration {bl['reached']} in {bl['elapsed']:.1f} s; "
          + (bl["note"] or "no stall"))
    first, last = points[0], max(p for p in points if p in sl["per_iter"]) if sl["per_iter"] else None
    if last is not None and last != first:
        a, _, _ = window_median(sl["per_iter"], first)
        b, _, _ = window_median(sl["per_iter"], last)
        ca, _, _ = window_median(sl["cpu_iter"], first)
        cb, _, _ = window_median(sl["cpu_iter"], last)
        verdict = "within" if b <= 1.5 * a else "NOT within"
        line = (f"per-step cost at iteration {last:,} / at iteration {first}: wall {ms(b)} / {ms(a)} ms = {b / a:.2f}x "
                f"({verdict} the 1.5x target), CPU {ms(cb)} / {ms(ca)} ms = {cb / ca:.2f}x; stored state "
                f"{sl['sizes'].get(first, (0,))[0]:,} B -> {sl['sizes'].get(last, (0,))[0]:,} B")
        print(f"  service: {line}")
        HEADLINE["long loop (revision_loop, service)"] = line + (f"; {sl['final']}" if sl["final"] else "")
    if bl["note"]:
        HEADLINE["long loop (bare library)"] = f"reached iteration {bl['reached']}: {bl['note'][:120]}"
    _parallel_loop(cfg)


def _parallel_loop(cfg: dict) -> None:
    from bench.probe_parallel_loop import run as run_parallel

    n = cfg["parallel_iterations"]
    rule(f"5b. A loop through a parallel split and join, {n:,} iterations (Runner in memory, state saved, "
         f"compacted and restored at every step)")
    gc.collect()
    r = run_parallel(n)
    points = [p for p in (10, 100, 1000, 10000) if p <= r["reached"]]
    print(f"  {'iteration':>9} | {'ms per iteration (A, B, C)':>26} | {'stored state':>14} {'tasks':>6}")
    for p in points:
        xs = [r["per_iter"][i] for i in range(max(1, p - WINDOW), p + WINDOW + 1) if i in r["per_iter"]]
        size = r["sizes"].get(p)
        print(f"  {p:>9} | {ms(statistics.median(xs)):>26} | {size[0] if size else 0:>12,} B {size[1] if size else '':>6}")
    outcome = r["note"] or f"all {n:,} iterations ran and the instance completed: {r['completed']}"
    print(f"  {outcome} ({r['elapsed']:.1f} s)")
    HEADLINE["parallel split/join loop"] = outcome



INBOX_USERS = {"sam": ["Sales"], "lena": ["Sales Leadership"], "fiona": ["Finance"], "carl": ["Finance Head"],
               "lou": ["Legal"], "mia": ["Finance", "Sales"]}
# (share of open instances, their ready tasks: element, name, lane role, stage, has an SLA due date)
INBOX_MIX = [
    (0.20, [("Task_Discovery", "Discovery", "sales", "Discovery", False)]),
    (0.15, [("Task_PrepareProposal", "Prepare proposal", "sales", "Proposal", False)]),
    (0.15, [("Task_DiscoveryGateReview", "Discovery gate review", "sales leadership", "Discovery", False)]),
    (0.25, [("Task_SignOffPricing", "Sign off pricing and margin", "finance", "Proposal", True),
            ("Task_SignOffDelivery", "Sign off delivery date", "supply", "Proposal", True),
            ("Task_SignOffQuality", "Sign off specifications", "quality", "Proposal", True)]),
    (0.10, [("Task_ContractReview", "Review contract", "legal", "Negotiation", False)]),
    (0.15, [("Task_LookBack", "Look back", "sales leadership", "Closed", False)]),
]


def seed_open_instances(sg, n: int, history_per_instance: int = 2) -> dict:
    """`n` running opportunities with their open tasks (and some finished ones), written in bulk.

    Rows have the shape the service writes (instances, human_tasks, human_task_roles); going
    through start_instance/complete_task for 100,000 deals would take most of an hour."""
    import random
    import uuid
    from datetime import datetime, timezone

    from sqlalchemy import select

    from engine.store.models import HumanTask, Instance, ProcessVersion, TaskRole
    from engine.store.open_tasks import recount
    rnd = random.Random(9)
    with sg.engine.connect() as conn:
        pv_id, version = conn.execute(select(ProcessVersion.id, ProcessVersion.version)
                                      .where(ProcessVersion.process_id == "opportunity")).first()
        first_id = (conn.execute(text("SELECT coalesce(max(id), 0) FROM instances")).scalar() or 0) + 1
    now = datetime.now(timezone.utc)
    weights = [w for w, _ in INBOX_MIX]
    counts = {"instances": 0, "open tasks": 0, "finished tasks": 0}
    chunk = 10_000
    for start in range(0, n, chunk):
        inst, tasks, roles = [], [], []
        for iid in range(first_id + start, first_id + min(n, start + chunk)):
            created = now - timedelta(days=rnd.uniform(0, 150))
            mix = rnd.choices(INBOX_MIX, weights)[0][1]
            inst.append({"id": iid, "process_version_id": pv_id, "process_id": "opportunity", "version": version,
                         "title": f"Bench deal {iid}", "status": "running", "stage": mix[0][3], "data": {},
                         "state": {}, "started_at": created, "started_by": "sam", "lock_version": 1})
            for h in range(history_per_instance):
                tasks.append({"id": str(uuid.UUID(int=rnd.getrandbits(128))), "instance_id": iid,
                              "process_id": "opportunity", "element_id": "Task_Discovery", "name": "Discovery",
                              "role": "sales", "roles": ["sales"], "stage": "Discovery", "form": [],
                              "state": "completed", "created_at": created, "completed_at": created,
                              "completed_by": "sam", "due_at": None})
            opened = created + timedelta(hours=rnd.uniform(1, 100))
            for element, name, role, stage, sla in mix:
                tid = str(uuid.UUID(int=rnd.getrandbits(128)))
                due = opened + timedelta(days=3) if sla else None
                tasks.append({"id": tid, "instance_id": iid, "process_id": "opportunity", "element_id": element,
                              "name": name, "role": role, "roles": [role], "stage": stage, "form": [],
                              "state": "ready", "created_at": opened, "completed_at": None, "completed_by": None,
                              "due_at": due})
                roles.append({"task_id": tid, "role": role, "process_id": "opportunity", "lane_role": role,
                              "stage": stage, "created_at": opened, "due_at": due, "shared": False})
        with sg.engine.begin() as conn:
            for table, rows in ((Instance.__table__, inst), (HumanTask.__table__, tasks), (TaskRole.__table__, roles)):
                _bulk_insert(conn, table, rows)
        counts["instances"] += len(inst)
        counts["open tasks"] += len(roles)
        counts["finished tasks"] += len(tasks) - len(roles)
    with sg.engine.begin() as conn:
        recount(conn)  # the inbox's counters, as the steps would have kept them
    # No ANALYZE: the app never runs it on SQLite, so the query plans measured are the ones users get.
    return counts


def _bulk_insert(conn, table, rows: list[dict]) -> None:
    """executemany straight on the DB-API cursor, values stored as the SQLAlchemy types store them."""
    from datetime import datetime, timezone
    cols = list(rows[0])

    def value(v):
        if isinstance(v, datetime):  # SQLAlchemy's SQLite DateTime text, in UTC
            return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        return v
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    conn.connection.driver_connection.executemany(sql, [tuple(value(r[c]) for c in cols) for r in rows])


def _inbox(cfg: dict, tmp: str) -> None:
    from engine.queries.inbox import PAGE, inbox

    n = cfg["inbox_instances"]
    rule(f"6. Inbox query with {n:,} open instances (engine.inbox.inbox, SQLite WAL)")
    sg = make_service(tmp, "inbox.db")
    for user, roles in INBOX_USERS.items():
        if user not in USERS:
            add_user(sg, user, roles, actor="cli:bench")
    t0 = perf()
    seeded = seed_open_instances(sg, n)
    print(f"  seeded {', '.join(f'{v:,} {k}' for k, v in seeded.items())} in {perf() - t0:.1f} s "
          f"(bulk insert; mix: {', '.join(f'{int(w * 100)}% ' + '+'.join(t[2] for t in ts) for w, ts in INBOX_MIX)})")
    print(f"  each call: sign-in user's roles, counts for every filter value, first page ({PAGE} tasks) in the "
          f"chosen order; {cfg['inbox_calls']} calls per row")
    print()
    head = (f"  {'user (roles)':<44} {'view':<22} {'tasks seen':>10} {'p50 ms':>8} {'p95 ms':>8}"
            f" {'CPU p50':>8} {'CPU p95':>8}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    everything, everything_cpu = [], []
    views = [("due date (default)", {}), ("filter stage=Proposal", {"stage": "Proposal"})]
    for user, roles in INBOX_USERS.items():
        for label, kwargs in views:
            for _ in range(3):
                result = inbox(sg, user, **kwargs)
            samples = Samples()
            for _ in range(cfg["inbox_calls"]):
                samples.time(inbox, sg, user, **kwargs)
            st, sc = summarize(samples.wall), summarize(samples.cpu)
            everything += samples.wall
            everything_cpu += samples.cpu
            who = f"{user} ({', '.join(roles)}" + (f"; heads {', '.join(result['headed'])}" if result["headed"] else "") + ")"
            print(f"  {who:<44} {label:<22} {result['counts']['all']:>10,} {ms(st['median']):>8} {ms(st['p95']):>8}"
                  f" {ms(sc['median']):>8} {ms(sc['p95']):>8}")
    sg.dispose()
    st, sc = summarize(everything), summarize(everything_cpu)
    verdict = "under" if st["p95"] < 0.020 else "NOT under"
    line = (f"p50 {ms(st['median'])} ms, p95 {ms(st['p95'])} ms wall ({verdict} the 20 ms target); CPU p50 "
            f"{ms(sc['median'])} ms, p95 {ms(sc['p95'])} ms; {st['n']:,} calls with {n:,} open instances")
    print(f"  all calls: {line}")
    HEADLINE["inbox query"] = line


def _profiles(cfg: dict, tmp: str) -> None:
    rule("cProfile of complete_task (revision_loop)")
    print(profile_complete_task(tmp, cfg["profile_instances"], 100, 5))
    rule("Where the time goes: complete_task by phase (exclusive ms per completion, separate run)")
    fresh, late, nf, nl = phase_breakdown(tmp, cfg["breakdown_instances"], 100, 5)
    names = sorted((k for k in fresh if k not in (REST, TOTAL)), key=lambda k: fresh[k], reverse=True) + [REST, TOTAL]
    print(f"  {'phase':<58} {f'fresh (n={nf})':>18} {f'after 100 loops (n={nl})':>26}")
    for k in names:
        f, l = fresh.get(k, 0.0), late.get(k, 0.0)
        print(f"  {k:<58} {ms(f):>9} ms {100 * f / fresh[TOTAL]:5.1f}% {ms(l):>16} ms {100 * l / late[TOTAL]:5.1f}%")


if __name__ == "__main__":
    sys.exit(main())
