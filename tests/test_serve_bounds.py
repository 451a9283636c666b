"""Over HTTP, against a real `stagegate serve` on a loopback port: a runaway step is stopped and
answered as an incident while the same server process answers other requests within a second;
`stagegate serve` and `python -m web` run under a memory limit of their own."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request

from bench import scale
from engine.queries import records as queries
from stagegate.compose import bootstrap
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from engine.services.tokens import create_token
from engine.services.users import add_user
from tests.conftest import ROOT
from tests.test_bounded_evaluation import PAYLOADS, probe

RUNAWAY = PAYLOADS[0][1]  # all(map(sorted, [range(10**6)]*10**6)): one C call for hours
LIMITS = {"STAGEGATE_SANDBOX_CPU_SECONDS": "3", "STAGEGATE_SANDBOX_WALL_SECONDS": "4"}


def _setup(url: str) -> tuple[list[str], str]:
    sg = bootstrap(url, migrate=True)
    try:
        add_user(sg, "sam", ["Sales"], actor="cli:test")
        deploy(sg, probe("runaway", "script", RUNAWAY), actor="cli:test")
        tasks = []
        for _ in range(2):
            iid = start_instance(sg, "runaway", "sam", {})["id"]
            tasks.append(queries.ready_tasks(sg, instance_id=iid)[0]["id"])
        return tasks, create_token(sg, "sam", "sam", "test")["token"]
    finally:
        sg.dispose()


def _limits(pid: int) -> dict[str, str]:
    out = {}
    for line in open(f"/proc/{pid}/limits").read().splitlines()[1:]:
        name, soft = line[:26].strip(), line[26:47].strip()
        out[name] = soft
    return out


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def test_other_requests_are_answered_within_a_second_while_runaways_are_killed(database_url):
    tasks, token = _setup(database_url)
    options = ["--threads", "4", "--memory-limit", "900"]
    with scale.serving(database_url, workers=1, options=options, env=LIMITS) as (base, server):
        answers = {}

        def complete(task_id):
            answers[task_id] = scale.call(base, "POST", f"/api/v1/tasks/{task_id}/complete", {"data": {"s": "1"}},
                                          token)

        runaways = [threading.Thread(target=complete, args=(t,)) for t in tasks]
        for t in runaways:
            t.start()
        time.sleep(0.5)  # both are inside their evaluations, in the one gunicorn worker process
        for path in ("/api/v1/tasks", "/login"):
            started = time.monotonic()
            status, _ = scale.call(base, "GET", path, token=token if path.startswith("/api") else None)
            took = time.monotonic() - started
            assert status == 200 and took < 1.0, f"{path}: {status} after {took:.2f} s"
        assert all(t.is_alive() for t in runaways), "the runaways were still being evaluated meanwhile"
        for t in runaways:
            t.join(30)
        for task_id in tasks:
            status, body = answers[task_id]
            assert status == 422, body
            assert "Task_Compute" in body["error"] and "the script was stopped: it went over the sandbox's" in body[
                "error"] and body.get("incident_id"), body
        assert scale.call(base, "GET", "/api/v1/tasks", token=token)[0] == 200, "the server is still up"
        # Every server process runs under its own memory limit (RLIMIT_DATA, 900 MB here).
        workers = _children(server.pid)
        for pid in [server.pid, *workers]:
            assert _limits(pid)["Max data size"] == str(900 * 1024 * 1024), pid


def test_python_m_web_sets_its_own_memory_limit(database_url):
    port = scale._free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "web", "--port", str(port), "--database-url", database_url,
                          "--memory-limit", "700", "--memory-rlimit", "as"],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except OSError:
                assert p.poll() is None and time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        assert _limits(p.pid)["Max address space"] == str(700 * 1024 * 1024)
    finally:
        p.terminate()
        p.wait(20)
