"""Shared set-up of the completion benchmarks (bench.run): the scale of a full and a quick run, timed
samples and their summaries, the machine line, and a Stagegate service on a fresh SQLite file."""
from __future__ import annotations

import math
import os
import platform
import sqlite3
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

from engine.clock import SystemClock
from engine.services.deployment import collect_files, deploy
from engine.services.users import add_user
from stagegate.compose import bootstrap

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
REVISION_BPMN = ROOT / "bench" / "revision_loop.bpmn"  # the loop benchmark's own diagram, not the catalog's
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
    dirty = git("status", "--porcelain", "--", "engine", "workflows", "stagegate")
    code = f"git {git('rev-parse', '--short', 'HEAD') or '?'}" + (
        f" + uncommitted changes in {len(dirty.splitlines())} engine/workflows/stagegate file(s)" if dirty else " (engine/ clean)")
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
    deploy(sg, collect_files([DIAGRAMS, REVISION_BPMN]), actor="cli:bench")
    return sg


def revision_steps(iteration: int, last: bool):
    yield "Task_Draft", "sam", {"revision_note": f"revision {iteration}"}
    yield "Task_Review", "fiona", {"approved": last}
