"""Camunda's own external-task clients, unchanged, against `stagegate serve` (gunicorn) on a free loopback
port: the Python client (PyPI) and the Node client (npm), several of each racing for the same tasks,
on SQLite and PostgreSQL. Each task is completed exactly once, by the worker that locked it."""
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bench import scale
from stagegate.compose import bootstrap
from engine.services.deployment import deploy
from engine.store.models import ExternalTask
from engine.services.instances import start_instance
from engine.store.models import AuditEvent, HumanTask, Instance
from engine.services.tokens import create_token
from engine.services.users import add_user

from .diagrams import QUOTE

HERE = Path(__file__).parent
NODE_CLIENT = scale.ROOT / "node_modules" / "camunda-external-task-client-js"


def _staff(url: str, workers: list[str]) -> dict[str, str]:
    """The quote process deployed, sam who starts deals, and the workers' users; {worker: API token}."""
    sg = bootstrap(url, migrate=True)
    try:
        add_user(sg, "sam", ["Sales"], "cli:test")
        deploy(sg, [("quote.bpmn", QUOTE)], "cli:test")
        tokens = {}
        for name in workers:
            add_user(sg, name, ["Integration"], "cli:test")
            tokens[name] = create_token(sg, name, name, "ERP stand-in")["token"]
        return tokens
    finally:
        sg.dispose()


def _deals(url: str, quantities: list[int]) -> list[int]:
    sg = bootstrap(url)
    try:
        return [start_instance(sg, "erp_quote", "sam", {"customer": f"C{i}", "quantity": q},
                               business_key=f"Q-{i}")["id"] for i, q in enumerate(quantities)]
    finally:
        sg.dispose()


def _state(url: str):
    sg = bootstrap(url)
    try:
        with sg.uow(write=False) as uow:
            s = uow.session
            tasks = {t.id: t.state for t in s.execute(select(ExternalTask)).scalars()}
            events = [(e.kind, e.actor, e.details) for e in s.execute(
                select(AuditEvent).where(AuditEvent.kind.like("external_task_%"))).scalars()]
            ready = Counter(h.element_id for h in s.execute(select(HumanTask).where(HumanTask.state == "ready")).scalars())
            data = {i.id: i.data for i in s.execute(select(Instance)).scalars()}
        return tasks, events, ready, data
    finally:
        sg.dispose()


def _workers(base: str, tokens: dict, tmp_path, python: int, node: int):
    """The first `python` users' workers on the Python client, the next `node` on the Node client,
    returned once every one of them is polling (Node takes about a second longer to start: the
    tasks must not appear before it is there to race for them)."""
    procs, names = [], sorted(tokens)[:python + node]
    for i, name in enumerate(names):
        if i < python:
            cmd = [sys.executable, str(HERE / "python_worker.py")]
        else:
            cmd = ["node", str(HERE / "node_worker.mjs")]
        log = open(tmp_path / f"{name}.log", "w")
        procs.append((name, subprocess.Popen(cmd + [f"{base}/engine-rest", name, tokens[name], f"worker-{name}"],
                                             cwd=scale.ROOT, stdout=log, stderr=subprocess.STDOUT), log))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all("polling" in (tmp_path / f"{n}.log").read_text() for n in names):
        time.sleep(0.05)
    return procs


def _stop(procs):
    for _name, p, _log in procs:
        p.send_signal(signal.SIGTERM)
    for _name, p, log in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


@pytest.mark.skipif(shutil.which("node") is None or not NODE_CLIENT.exists(),
                    reason="the Node client needs node and `npm ci` (make assets) for node_modules")
def test_python_and_node_clients_racing_for_the_same_tasks_complete_each_exactly_once(database_url, backend, tmp_path):
    quantities = [3, 0, 7, 1, 5, 2, 0, 9, 4, 6, 8, 10] * (2 if backend == "postgres" else 1)
    workers = [f"erp{i}" for i in range(4)]
    tokens = _staff(database_url, workers)
    with scale.serving(database_url, workers=2, options=("--threads", "12")) as (base, _server):
        procs = _workers(base, tokens, tmp_path, python=2, node=2)
        try:
            deals = _deals(database_url, quantities)  # the tasks appear while all four wait for them
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                tasks, events, ready, data = _state(database_url)
                if sum(ready.values()) == len(deals):
                    break
                time.sleep(0.5)
        finally:
            _stop(procs)
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in workers}
    tasks, events, ready, data = _state(database_url)
    assert ready == Counter({"Task_Review": quantities.count(0) and len(quantities) - quantities.count(0),
                             "Task_Manual": quantities.count(0)}), logs
    completed = [d for kind, _actor, d in events if kind == "external_task_completed"]
    assert Counter(d["task_id"] for d in completed) == Counter(
        {t: 1 for t, state in tasks.items() if state == "completed"}), "each task completed exactly once"
    errors = [d for kind, _actor, d in events if kind == "external_task_bpmn_error"]
    assert len(errors) == quantities.count(0) and {d["caught_by"] for d in errors} == {"Error_Caught"}
    by_worker = Counter(d["worker_id"] for d in completed + errors)
    assert len(by_worker) >= 2, f"several workers took part: {by_worker}"
    assert any(w in by_worker for w in ("worker-erp0", "worker-erp1")), "the Python client completed tasks"
    assert any(w in by_worker for w in ("worker-erp2", "worker-erp3")), "the Node client completed tasks"
    for deal, quantity in zip(deals, quantities):
        if quantity:
            assert data[deal]["net_price"] == quantity * 1000, data[deal]
    by_python = [(i, d) for i, d in enumerate(deals) if data[d].get("priced_by") in ("worker-erp0", "worker-erp1")]
    assert all(data[d]["priced_key"] == f"Q-{i}" for i, d in by_python), "the Python client read the business key"
    node_lines = [d for d in completed if d["worker_id"] in ("worker-erp2", "worker-erp3")]
    assert all(d["data"]["price_lines"] == [{"sku": "P-1", "qty": data_q}]
               for d in node_lines for data_q in [d["data"]["net_price"] // 1000]), "Json variables arrive as data"
    locks = Counter(d["task_id"] for kind, _a, d in events if kind == "external_task_locked")
    assert all(n == 1 for n in locks.values()), f"no task was handed out twice while locked: {locks}"
