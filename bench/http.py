"""HTTP benchmark: task completions per second through `stagegate serve` with 1 and 2 gunicorn
workers on SQLite and PostgreSQL, and the latency of the inbox (page and API) with 100,000 open deals.

    .venv/bin/python -m bench.http            # full run
    .venv/bin/python -m bench.http --quick    # fewer deals, 10,000 open deals for the inbox

PostgreSQL: STAGEGATE_BENCH_POSTGRES_URL (default the machine's 127.0.0.1:5432/test); each run
uses a fresh schema, dropped afterwards. Clients are threads in this process (HTTP waits on the
server); the server's workers are processes. The machine's cores are shared by client and server.

The 100,000 open deals are bulk-copied rows (instances, inbox tasks and their roles) of a few
real deals at different stages; their engine state is a stub, so they can be listed but not
worked. The inbox reads only those rows, so the listing costs what it would with real deals.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench import scale  # noqa: E402
from bench.databases import scratch_database, unreachable  # noqa: E402
from stagegate.compose import bootstrap  # noqa: E402
from engine.services.instances import complete_task, start_instance  # noqa: E402
from engine.store.models import HumanTask, Instance, TaskRole  # noqa: E402
from engine.store.open_tasks import recount  # noqa: E402
from engine.services.tokens import create_token  # noqa: E402
from engine.services.users import add_user, set_password  # noqa: E402

PG_URL = os.environ.get("STAGEGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench password"
CLIENTS = 4


def database(backend: str, tmp: str):
    """A fresh empty database URL of the backend (a context manager)."""
    return scratch_database(backend, tmp, PG_URL, "bench")


def pg_available() -> str | None:
    """None if the benchmark's PostgreSQL answers, else why not."""
    return unreachable(PG_URL)


# -- completions per second -----------------------------------------------------------------------

def completions_per_second(url: str, workers: int, deals: int) -> dict:
    """CLIENTS threads complete disjoint sign-offs (3 per deal) through the API as fast as they can."""
    tasks, tokens = scale.sign_off_deals(url, deals=deals, racers=CLIENTS)
    with scale.server(url, workers) as base:
        elements = scale._elements(base, tasks, next(iter(tokens.values())))
        shares = [tasks[i::CLIENTS] for i in range(CLIENTS)]
        statuses: list[int] = []
        latencies: list[float] = []
        lock = threading.Lock()
        barrier = threading.Barrier(CLIENTS + 1)

        def client(token, share):
            barrier.wait()
            for tid in share:
                t0 = time.perf_counter()
                status, _ = scale.call(base, "POST", f"/api/v1/tasks/{tid}/complete",
                                       {"data": scale.SIGN_OFFS[elements[tid]]}, token)
                with lock:
                    statuses.append(status)
                    latencies.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=client, args=(tok, share)) for tok, share in zip(tokens.values(), shares)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    ok = statuses.count(200)
    return {"completions": ok, "errors": len(statuses) - ok, "seconds": elapsed, "per_s": ok / elapsed,
            "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * percentile(latencies, 95)}


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]


# -- the inbox with many open deals -------------------------------------------------------------

def open_deals(url: str, count: int) -> None:
    """`count` open deals: real deals at four stages, then their inbox rows copied in bulk."""
    scale.sign_off_deals(url, deals=1, racers=1)  # the catalog, sam and lena; one deal at its three sign-offs
    sg = bootstrap(url)
    try:
        for name, roles in {"fiona": ["Finance"], "pete": ["Supply"], "quinn": ["Quality"]}.items():
            add_user(sg, name, roles, "cli:bench")
            set_password(sg, name, PASSWORD, "cli:bench")
        start_instance(sg, "opportunity", "sam", scale.PROSPECT)  # at discovery (Sales)
        at_gate = start_instance(sg, "opportunity", "sam", scale.PROSPECT)["id"]
        complete_task(sg, scale._ready(sg, at_gate)["Task_Discovery"], "sam", scale.DISCOVERY)  # Sales Leadership
        with sg.uow(write=False) as uow:
            s = uow.session
            templates = [(_plain(inst), [_plain(t) for t in s.execute(select(HumanTask).where(
                HumanTask.instance_id == inst.id, HumanTask.state == "ready")).scalars()])
                for inst in s.execute(select(Instance).order_by(Instance.id)).scalars()]
            next_id = s.execute(select(func.max(Instance.id))).scalar_one() + 1
        _copy(sg, templates, next_id, count)
    finally:
        sg.dispose()


def _plain(row) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def _copy(sg, templates, next_id: int, count: int, batch: int = 5000) -> None:
    now = sg.now()
    with sg.engine.begin() as conn:
        for start in range(0, count, batch):
            instances, tasks, roles = [], [], []
            for i in range(start, min(count, start + batch)):
                inst, ready = templates[i % len(templates)]
                iid = next_id + i
                created = now - timedelta(minutes=(i * 7) % (60 * 24 * 60))
                instances.append({**inst, "id": iid, "title": f"Bulk deal {i}", "data": {},
                                  "state": {"bench_stub": True}, "started_at": created})
                for t in ready:
                    tid = str(uuid.uuid4())
                    tasks.append({**t, "id": tid, "instance_id": iid, "created_at": created,
                                  "due_at": created + timedelta(days=3) if t["due_at"] else None})
                    roles += [{"task_id": tid, "role": r, "process_id": t["process_id"], "lane_role": t["role"],
                               "stage": t["stage"], "created_at": created, "due_at": tasks[-1]["due_at"],
                               "shared": len(t["roles"]) > 1} for r in t["roles"]]
            conn.execute(insert(Instance.__table__), instances)
            conn.execute(insert(HumanTask.__table__), tasks)
            conn.execute(insert(TaskRole.__table__), roles)
        recount(conn)  # the inbox's counters, as the steps would have kept them
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('instances', 'id'), (SELECT max(id) FROM instances))"))
            conn.execute(text("ANALYZE"))


class Browser:
    """A signed-in session over HTTP (cookies, the login form's CSRF token)."""

    def __init__(self, base: str, name: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"username": name, "password": PASSWORD, "csrf_token": token}).encode()
        self.opener.open(base + "/login", data=body).read()

    def get(self, path: str) -> tuple[int, int]:
        with self.opener.open(self.base + path, timeout=600) as r:
            return r.status, len(r.read())


def inbox_latency(url: str, requests: int) -> dict:
    """p50/p95 of fiona's inbox page and GET /api/v1/tasks, sequential requests, 2 server workers."""
    sg = bootstrap(url)
    token = create_token(sg, "fiona", "fiona", "bench")["token"]
    with sg.uow(write=False) as uow:
        open_count = uow.session.execute(select(func.count()).select_from(Instance)
                                         .where(Instance.status == "running")).scalar_one()
    sg.dispose()
    out = {"open_deals": open_count}
    with scale.server(url, workers=2, timeout=120, request_timeout=600) as base:
        browser = Browser(base, "fiona")
        for label, fetch in (("page", lambda: browser.get("/")),
                             ("api", lambda: scale.call(base, "GET", "/api/v1/tasks", token=token))):
            times, size = [], None
            fetch()  # warm the worker's caches
            for _ in range(requests):
                t0 = time.perf_counter()
                result = fetch()
                times.append(time.perf_counter() - t0)
                if label == "api":
                    size = len(result[1]["tasks"])
            out[label] = {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * percentile(times, 95),
                          "n": requests, **({"tasks": size} if size is not None else {})}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deals", type=int, default=None, help="Deals per throughput run (3 sign-offs each).")
    ap.add_argument("--open", dest="open_deals", type=int, default=None, help="Open deals for the inbox run.")
    ap.add_argument("--only", choices=("throughput", "inbox"), default=None, help="Run one of the two parts.")
    args = ap.parse_args(argv)
    deals = args.deals or (8 if args.quick else 30)
    open_count = args.open_deals or (10_000 if args.quick else 100_000)
    requests = 5  # each inbox request lists every task of the role: seconds per request at 100,000 deals
    backends = ["sqlite"]
    reason = pg_available()
    if reason is None:
        backends.append("postgres")
    else:
        print(f"PostgreSQL skipped: {reason}")

    if args.only != "inbox":
        throughput(backends, deals)
    if args.only != "throughput":
        inbox(backends, open_count, requests)


def throughput(backends: list[str], deals: int) -> None:
    print(f"== HTTP task completions per second ({CLIENTS} clients, {deals * 3} sign-offs per run) ==")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="stagegate-http-") as tmp:
        for backend in backends:
            for workers in (1, 2):
                with database(backend, tmp) as url:
                    r = completions_per_second(url, workers, deals)
                rows[(backend, workers)] = r
                print(f"  {backend:<9} {workers} worker{'s' if workers > 1 else ' '}  {r['per_s']:6.1f}/s  "
                      f"({r['completions']} in {r['seconds']:.1f} s, {r['errors']} errors; "
                      f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms)")
        for backend in backends:
            print(f"  {backend}: 2 workers / 1 worker = {rows[(backend, 2)]['per_s'] / rows[(backend, 1)]['per_s']:.2f}x")
        if "postgres" in backends:
            for w in (1, 2):
                print(f"  {w} worker(s): postgres / sqlite = "
                      f"{rows[('postgres', w)]['per_s'] / rows[('sqlite', w)]['per_s']:.2f}x")


def inbox(backends: list[str], open_count: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="stagegate-http-") as tmp:
        print(f"== Inbox latency with {open_count:,} open deals (fiona, Finance; {requests} sequential requests) ==")
        for backend in backends:
            with database(backend, tmp) as url:
                t0 = time.perf_counter()
                open_deals(url, open_count)
                made = time.perf_counter() - t0
                r = inbox_latency(url, requests)
            print(f"  {backend:<9} {r['open_deals']:,} open deals (made in {made:.0f} s); fiona sees {r['api']['tasks']:,} tasks")
            print(f"            inbox page      p50 {r['page']['p50_ms']:7.0f} ms   p95 {r['page']['p95_ms']:7.0f} ms")
            print(f"            GET /api/v1/tasks p50 {r['api']['p50_ms']:5.0f} ms   p95 {r['api']['p95_ms']:7.0f} ms")


if __name__ == "__main__":
    main()
