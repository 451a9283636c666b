"""The what-if replay as a background job: posting returns at once, the job ends done (with the
same result as the synchronous service) or failed naming the limit a runaway table hit; the CLI
waits for it. The replay runs in a sandbox worker, bounded as a whole."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from engine import sandbox
from engine.errors import JobStopped, NotFound
from workflows.metrics import start_what_if, what_if, what_if_job
from engine.services.users import add_user
from tests.conftest import DIAGRAMS, ROOT
from tests.drive import Driver

DEPLOYED = (DIAGRAMS / "qualification.dmn").read_bytes()
FLOOR_100 = DEPLOYED.replace(b"&lt; 50<", b"&lt; 100<").replace(b"&gt;= 50<", b"&gt;= 100<")
# A revenue cell that takes minutes inside one C call (multiples of 2**61-1 all hash alike).
RUNAWAY = DEPLOYED.replace(b"&lt; 50<", b"? == len(set(range(0, (2**61-1)*10**6, 2**61-1)))<")
QUICK = sandbox.JOB_LIMITS.with_(cpu_seconds=1, wall_seconds=4)


@pytest.fixture
def history(make_sg, sg, catalog):
    """Three deals past the qualification gate (revenue 120, 70 and 30), and an auditor."""
    add_user(sg, "ada", ["Auditor"], actor="cli:test")
    drive = Driver(make_sg, clock=sg.clock)
    return [drive.start(annual_revenue_musd=m)["id"] for m in (120, 70, 30)]


def finished(sg, actor, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while (job := what_if_job(sg, actor, job_id))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
        time.sleep(0.05)
    return job


def test_a_job_returns_at_once_and_ends_with_the_services_result(sg, history):
    started = time.monotonic()
    job = start_what_if(sg, "ada", FLOOR_100, "floor.dmn")
    assert job["status"] == "queued" and time.monotonic() - started < 2
    done = finished(sg, "ada", job["id"])
    assert done["status"] == "done" and done["error"] is None and done["limit"] is None
    assert done["result"] == what_if(sg, FLOOR_100, "floor.dmn")
    assert [(d["id"], d["recorded"], d["replayed"]) for d in done["result"]["decisions"][0]["changed_deals"]] == [
        (history[1], "go", "kill")]


def test_a_runaway_table_ends_the_job_with_the_limit_named(sg, history, monkeypatch):
    monkeypatch.setattr(sandbox, "JOB_LIMITS", QUICK)
    started = time.monotonic()
    job = start_what_if(sg, "ada", RUNAWAY, "runaway.dmn")
    failed = finished(sg, "ada", job["id"])
    assert failed["status"] == "failed" and failed["limit"] in ("cpu", "wall")
    assert "the what-if replay was stopped: it went over the sandbox's" in failed["error"]
    assert time.monotonic() - started < QUICK.wall_seconds + 10
    with pytest.raises(JobStopped) as stopped:
        what_if(sg, RUNAWAY, "runaway.dmn")  # the synchronous service, for the CLI and the designer
    assert stopped.value.limit in ("cpu", "wall")


def test_a_job_is_its_owners_and_one_whose_server_went_away_is_reported_failed(sg, history):
    add_user(sg, "audrey", ["Auditor"], actor="cli:test")
    job = start_what_if(sg, "ada", FLOOR_100)
    with pytest.raises(NotFound):
        what_if_job(sg, "audrey", job["id"])
    finished(sg, "ada", job["id"])
    # A job still marked running long after its wall-clock limit: the process running it stopped.
    from engine.store.models import WhatIfJob

    with sg.uow() as uow:
        row = uow.session.get(WhatIfJob, job["id"])
        row.status = "running"
        uow.commit()
    sg.clock.advance(seconds=sandbox.JOB_LIMITS.wall_seconds * 4 + 60)
    stale = what_if_job(sg, "ada", job["id"])
    assert stale["status"] == "failed" and "stopped before it finished" in stale["error"]


def test_the_cli_waits_for_the_replay_and_names_the_limit(sg, history, database_url, tmp_path):
    draft = tmp_path / "runaway.dmn"
    draft.write_bytes(RUNAWAY)
    env = {**os.environ, "STAGEGATE_DATABASE_URL": database_url, "STAGEGATE_WHATIF_CPU_SECONDS": "1",
           "STAGEGATE_WHATIF_WALL_SECONDS": "4"}
    p = subprocess.run([sys.executable, "-m", "stagegate.cli", "what-if", str(draft)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "refused: the what-if replay was stopped: it went over the sandbox's" in p.stderr
    assert ("CPU time limit of 1 s" in p.stderr) or ("wall-clock time limit of 4 s" in p.stderr)


def test_old_jobs_are_cleared_when_a_new_one_is_posted(sg, history):
    from sqlalchemy import func, select

    from engine.store.models import WhatIfJob

    first = start_what_if(sg, "ada", FLOOR_100)
    finished(sg, "ada", first["id"])
    sg.clock.advance(days=2)
    second = start_what_if(sg, "ada", FLOOR_100)
    finished(sg, "ada", second["id"])
    with sg.uow(write=False) as uow:
        assert uow.session.execute(select(func.count()).select_from(WhatIfJob)).scalar() == 1
    with pytest.raises(NotFound):
        what_if_job(sg, "ada", first["id"])
    assert what_if_job(sg, "ada", second["id"])["status"] == "done"
