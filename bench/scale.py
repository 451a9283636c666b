"""Scale-out scenarios on a real database with real processes: racing sign-offs over HTTP, several
timer workers, workers killed mid-step. tests/test_scale_out.py runs them small and asserts;
`python -m bench.faults` runs them long and prints what it found."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from engine.store import open_tasks
from engine.queries import records as queries
from stagegate.compose import bootstrap
from engine.clock import FrozenClock, utcnow
from engine.services.deployment import collect_files, deploy
from engine.services.instances import complete_task, start_instance
from engine.store.models import AuditEvent, HumanTask, Instance, ProcessVersion, Timer
from engine.bpmn.runtime import Runner
from engine.services.tokens import create_token
from engine.services.users import add_user
from workflows import erp_pricing

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
PROSPECT = {"deal_name": "Acme pumps", "customer": "Acme Industrial", "annual_revenue_musd": 120,
            "industry": "energy", "budget_confirmed": True, "deal_value": 500000}
DISCOVERY = {"pain_points": "Unplanned downtime", "decision_maker": "Plant director"}
DISCOVERY_GO = {"discovery_decision": "go", "discovery_note": "clear pain"}
PROPOSAL = {"price": 450000, "margin_pct": 31, "requested_delivery_date": "2027-03-01", "proposal_summary": "skids"}
SIGN_OFFS = {"Task_SignOffPricing": {"pricing_approved": True, "finance_comment": "ok"},
             "Task_SignOffDelivery": {"delivery_committed": True, "committed_delivery_date": "2027-03-15"},
             "Task_SignOffQuality": {"specs_approved": True, "quality_comment": "ok"}}
CAST = {"sam": ["Sales"], "lena": ["Sales Leadership"]}


def timer_process(linger: float = 0.0) -> str:
    """A deal that waits an hour, then (optionally lingers in a script, then) asks Sales to follow up."""
    script = (f'<bpmn:scriptTask id="Task_Linger" name="Slow step" scriptFormat="python">'
              f'<bpmn:script>lingered = linger({linger})</bpmn:script></bpmn:scriptTask>') if linger else ""
    chain = ["StartEvent_Deal", "Timer_Wait", *(["Task_Linger"] if linger else []), "Task_FollowUp", "EndEvent_Done"]
    flows = "".join(f'<bpmn:sequenceFlow id="Flow_{a}" sourceRef="{a}" targetRef="{b}" />'
                    for a, b in zip(chain, chain[1:]))
    refs = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in chain)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="Definitions_wait" targetNamespace="http://example.com/stagegate">
  <bpmn:process id="wait_then_follow_up" name="Wait, then follow up" isExecutable="true">
    <bpmn:laneSet id="LaneSet_wait"><bpmn:lane id="Lane_Sales" name="Sales">{refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_Deal"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="deal_name" label="Deal" type="string" /></camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Timer_Wait" name="1 hour"><bpmn:timerEventDefinition id="Def_Wait">
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    {script}
    <bpmn:userTask id="Task_FollowUp" name="Follow up" />
    <bpmn:endEvent id="EndEvent_Done" />
    {flows}
  </bpmn:process>
</bpmn:definitions>
"""


# -- set-up -----------------------------------------------------------------------------------

def _past_clock(hours: int = 2) -> FrozenClock:
    return FrozenClock(utcnow() - timedelta(hours=hours))


def due_timers(url: str, count: int, linger: float = 0.0) -> list[int]:
    """`count` deals, each waiting on a timer that fell due an hour ago; returns their ids."""
    sg = bootstrap(url, clock=_past_clock(), migrate=True)
    try:
        add_user(sg, "sam", ["Sales"], "cli:bench")
        deploy(sg, [("wait_then_follow_up.bpmn", timer_process(linger).encode())], "cli:bench")
        return [start_instance(sg, "wait_then_follow_up", "sam", {"deal_name": f"deal {i}"})["id"]
                for i in range(count)]
    finally:
        sg.dispose()


def sign_off_deals(url: str, deals: int, racers: int) -> tuple[list[str], dict[str, str]]:
    """`deals` opportunities at their three parallel sign-offs, and `racers` users (tokens) who may
    work all three. Returns the sign-off task ids and {user: API token}."""
    sg = bootstrap(url, migrate=True)
    try:
        for name, roles in CAST.items():
            add_user(sg, name, roles, "cli:bench")
        deploy(sg, collect_files([DIAGRAMS]), "cli:bench")
        tokens = {}
        for i in range(racers):
            name = f"racer{i:02d}"
            add_user(sg, name, ["Finance", "Supply", "Quality"], "cli:bench")
            tokens[name] = create_token(sg, name, name, "racing client")["token"]
        tasks = []
        for _ in range(deals):
            iid = start_instance(sg, "opportunity", "sam", PROSPECT)["id"]
            for element, user, data in (("Task_Discovery", "sam", DISCOVERY),
                                        ("Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
                                        ("Task_PrepareProposal", "sam", PROPOSAL)):
                complete_task(sg, _ready(sg, iid)[element], user, data)
            erp_pricing.serve_pending(sg)  # the ERP prices the proposal: the sign-offs open
            tasks += [tid for element, tid in _ready(sg, iid).items() if element in SIGN_OFFS]
        return tasks, tokens
    finally:
        sg.dispose()


def token_for(url: str, name: str) -> str:
    """A new API token of user `name`."""
    with runtime(url) as sg:
        return create_token(sg, name, name, "bench")["token"]


def _ready(sg, instance_id) -> dict[str, str]:
    return {t["element_id"]: t["id"] for t in queries.ready_tasks(sg, instance_id=instance_id)}


# -- processes ----------------------------------------------------------------------------------

def _env(url: str) -> dict:
    return {**os.environ, "STAGEGATE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}


def worker_command(slow: bool = False) -> list[str]:
    """The real `stagegate worker --once`, or the same pass with the diagram's linger() helper."""
    if slow:
        return [sys.executable, "-m", "bench.slow_worker"]
    return [sys.executable, "-m", "stagegate.cli", "worker", "--once"]


def run_workers(url: str, count: int, slow: bool = False, timeout: float = 120) -> list[str]:
    """Start `count` worker processes at once and wait for all; returns what each printed."""
    procs = [subprocess.Popen(worker_command(slow), cwd=ROOT, env=_env(url), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(count)]
    outputs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"worker exited {p.returncode}: {out}")
        outputs.append(out)
    return outputs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, workers: int, timeout: float = 60, request_timeout: int = 60):
    """`stagegate serve --workers N` on a free loopback port; yields its base URL."""
    with serving(url, workers, timeout, request_timeout) as (base, _process):
        yield base


@contextmanager
def serving(url: str, workers: int, timeout: float = 60, request_timeout: int = 60, options=(), env=None):
    """`stagegate serve --workers N [options]` on a free loopback port (environment `env` added);
    yields its base URL and the server's process."""
    port = _free_port()
    p = subprocess.Popen([sys.executable, "-m", "stagegate.cli", "serve", "--workers", str(workers),
                          "--timeout", str(request_timeout),
                          "--bind", f"127.0.0.1:{port}", "--no-secure-cookies", *options],
                         cwd=ROOT, env={**_env(url), **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while call(base, "GET", "/api/v1/openapi.json")[0] != 200:
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not come up: {p.stderr.read() if p.poll() is not None else ''}")
            time.sleep(0.2)
        yield base, p
    finally:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def call(base: str, method: str, path: str, body=None, token: str | None = None, headers=None):
    """One HTTP request; returns (status, parsed JSON or text). Status 0 when nothing answered, with
    the client's error as the text (refused, reset, timed out: what a failed run needs to say)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except OSError as e:
        return 0, f"{type(e).__name__}: {e}"
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


# -- scenarios ----------------------------------------------------------------------------------

def race_sign_offs(base: str, tasks: list[str], tokens: dict[str, str], seed: int = 1) -> list[dict]:
    """Every client (a thread with its own user's token) tries to complete every sign-off, each in its
    own shuffled order, all starting at once. Returns one record per request."""
    elements = _elements(base, tasks, next(iter(tokens.values())))
    results: list[dict] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(tokens))

    def client(i, name, token):
        order = list(tasks)
        random.Random(seed + i).shuffle(order)
        barrier.wait()
        for tid in order:
            status, body = call(base, "POST", f"/api/v1/tasks/{tid}/complete", {"data": SIGN_OFFS[elements[tid]]},
                                token)
            with lock:
                results.append({"task": tid, "user": name, "status": status, "body": body})

    threads = [threading.Thread(target=client, args=(i, n, t)) for i, (n, t) in enumerate(tokens.items())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _elements(base, tasks, token) -> dict[str, str]:
    status, body = call(base, "GET", "/api/v1/tasks", token=token)
    if status != 200:
        raise RuntimeError(f"listing tasks failed: {status} {body}")
    return {t["id"]: t["element_id"] for t in body["tasks"] if t["id"] in set(tasks)}


def kill_mid_step(url: str, rounds: int, linger: float, seed: int = 7) -> list[dict]:
    """Start the slow worker, wait until it is inside a step, kill -9 it at a random moment of
    the step; after each kill check that every deal is consistent. Returns one record per kill."""
    rng = random.Random(seed)
    kills = []
    for _ in range(rounds):
        p = subprocess.Popen(worker_command(slow=True), cwd=ROOT, env=_env(url), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        line = p.stdout.readline()
        if "lingering" not in line:
            p.wait()
            break  # nothing left to fire
        delay = rng.uniform(0, linger * 1.6)  # inside the script, while saving, or in the next step
        time.sleep(delay)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        p.stdout.close()
        kills.append({"after_s": round(delay, 3), "fired_so_far": timer_states(url).get("fired", 0),
                      "problems": consistency(url)})
    return kills


# -- what is stored -----------------------------------------------------------------------------

@contextmanager
def runtime(url: str):
    """A Stagegate on `url` for the length of the block."""
    sg = bootstrap(url)
    try:
        yield sg
    finally:
        sg.dispose()


def timer_states(url: str) -> Counter:
    with runtime(url) as sg, sg.uow(write=False) as uow:
        return Counter(dict(uow.session.execute(select(Timer.state, func.count()).group_by(Timer.state)).all()))


def deal_count(url: str) -> int:
    with runtime(url) as sg, sg.uow(write=False) as uow:
        return uow.session.execute(select(func.count()).select_from(Instance)).scalar_one()


def fired_events(url: str) -> Counter:
    """timer_fired audit events per deal."""
    with runtime(url) as sg, sg.uow(write=False) as uow:
        return Counter(dict(uow.session.execute(
            select(AuditEvent.instance_id, func.count()).where(AuditEvent.kind == "timer_fired")
            .group_by(AuditEvent.instance_id)).all()))


def task_completions(url: str) -> dict[str, list[str]]:
    """Who completed each task, per the audit trail, checked against the task table (None on disagreement)."""
    with runtime(url) as sg, sg.uow(write=False) as uow:
        s = uow.session
        audited: dict[str, list[str]] = {}
        for e in s.execute(select(AuditEvent).where(AuditEvent.kind == "task_completed")).scalars():
            audited.setdefault(e.details["task_id"], []).append(e.actor)
        table = dict(s.execute(select(HumanTask.id, HumanTask.completed_by)
                               .where(HumanTask.state == "completed")).all())
    return {t: (who if who == [table.get(t)] else None) for t, who in audited.items()}


def consistency(url: str) -> list[str]:
    """Every way the stored deals disagree with themselves: the engine state against the inbox
    (human tasks) and timer tables, the audit trail against the timer table, the audit chain."""
    sg = bootstrap(url)
    problems = []
    try:
        with sg.uow(write=False) as uow:
            s = uow.session
            for inst in s.execute(select(Instance).order_by(Instance.id)).scalars():
                pv = s.get(ProcessVersion, inst.process_version_id)
                spec, subs = sg.specs.spec_for(pv.id, lambda: pv.spec)
                runner = Runner(sg.specs.load_state(inst.state, spec, subs, sg.script_engine), pv.model, sg.clock)
                ready = {t["id"] for t in runner.ready_human_tasks()}
                rows = set(s.execute(select(HumanTask.id).where(HumanTask.instance_id == inst.id,
                                                                HumanTask.state == "ready")).scalars())
                if ready != rows:
                    problems.append(f"deal {inst.id}: engine has ready tasks {sorted(ready)}, inbox {sorted(rows)}")
                timers = dict(s.execute(select(Timer.id, Timer.state).where(Timer.instance_id == inst.id)).all())
                waiting = {t["id"] for t in runner.waiting_timers()}
                if waiting != {k for k, v in timers.items() if v == "waiting"}:
                    problems.append(f"deal {inst.id}: engine waits on {sorted(waiting)}, timer table {timers}")
                fired = s.execute(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.instance_id == inst.id, AuditEvent.kind == "timer_fired")).scalar_one()
                if fired != sum(1 for v in timers.values() if v == "fired"):
                    problems.append(f"deal {inst.id}: {fired} timer_fired events, timer table {timers}")
                if (inst.status == "completed") != runner.completed:
                    problems.append(f"deal {inst.id}: status {inst.status}, engine completed={runner.completed}")
            off = open_tasks.disagreements(s.connection())
            if off:
                problems.append(f"inbox counters (kept, counted) disagree with the open tasks: {off}")
        verdict = queries.verify_audit(sg)
        if not verdict["ok"]:
            problems.append(f"audit chain broken at {verdict['first_broken_seq']}: {verdict['reason']}")
    finally:
        sg.dispose()
    return problems
