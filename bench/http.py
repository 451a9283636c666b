"""HTTP benchmark through `stagegate serve`: task completions per second (1 and 2 gunicorn workers on
SQLite, 1, 2 and 4 on PostgreSQL), deal starts per second through the API, the memory of one worker
after 100 and after 10,000 completions, and the latency of the inbox (page and API) with 100,000
open deals. Each rate comes with the p50/p95 latency of its requests.

    .venv/bin/python -m bench.http            # full run: 500 deals, 10 s of starts, 10,000 completions
    .venv/bin/python -m bench.http --quick    # 150 deals, 3 s of starts, 2,000 completions, 10,000 open deals
    .venv/bin/python -m bench.http --quick --memory 10000   # the quick run with the issue's memory figure
    .venv/bin/python -m bench.http --only starts            # one part: throughput, starts, memory or inbox

PostgreSQL: STAGEGATE_BENCH_POSTGRES_URL (default the machine's 127.0.0.1:5432/test); each run
uses a fresh schema, dropped afterwards. Clients are threads in this process (HTTP waits on the
server); the server's workers are processes. The machine's cores are shared by client and server,
so more workers than cores (nproc is printed) cannot run more at once.

The throughput runs' deals (at their three sign-offs) are made once per backend through the
service layer and copied for each run (bench.http_setup), so every run starts from the same rows.
Starts and the memory run use the revision loop (bench/revision_loop.bpmn: an empty start form;
a review that does not approve sends the deal back to its draft, so a deal takes completions for
ever); memory is the worker's VmRSS (the gunicorn master's one child) from /proc.

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
from bench.http_load import CLIENTS, completions_per_second, percentile, starts_per_second  # noqa: E402
from bench.http_memory import worker_memory  # noqa: E402
from bench.http_setup import PG_URL, copy_of, database, loop_users, pg_available, sign_off_template  # noqa: E402,F401
from stagegate.compose import bootstrap  # noqa: E402
from engine.services.instances import complete_task, start_instance  # noqa: E402
from engine.store.models import HumanTask, Instance, TaskRole  # noqa: E402
from engine.store.open_tasks import recount  # noqa: E402
from engine.services.tokens import create_token  # noqa: E402
from engine.services.users import add_user, set_password  # noqa: E402

PASSWORD = "bench password"


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
    """Run the parts the flags ask for, each on every backend that answers."""
    args = options(argv)
    backends = ["sqlite"]
    reason = pg_available()
    if reason is None:
        backends.append("postgres")
    else:
        print(f"PostgreSQL skipped: {reason}")
    print(f"nproc {len(os.sched_getaffinity(0))}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    t0 = time.perf_counter()
    parts = {"throughput": lambda: throughput(backends, args.deals), "starts": lambda: starts(backends, args.seconds),
             "memory": lambda: memory(args.memory), "inbox": lambda: inbox(backends, args.open_deals, 5)}
    for name, part in parts.items():
        if args.only in (None, name):
            part()
    print(f"== bench.http took {time.perf_counter() - t0:.0f} s ==")


def options(argv) -> argparse.Namespace:
    """The command line, with the defaults of a full or a --quick run filled in."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deals", type=int, default=None, help="Deals per throughput run (3 sign-offs each).")
    ap.add_argument("--seconds", type=float, default=None, help="Seconds each start run lasts.")
    ap.add_argument("--memory", type=int, default=None, help="Completions before the second memory reading.")
    ap.add_argument("--open", dest="open_deals", type=int, default=None, help="Open deals for the inbox run.")
    ap.add_argument("--only", choices=("throughput", "starts", "memory", "inbox"), default=None,
                    help="Run one of the four parts.")
    args = ap.parse_args(argv)
    quick = args.quick
    args.deals = args.deals or (150 if quick else 500)
    args.seconds = args.seconds or (3.0 if quick else 10.0)
    args.memory = args.memory or (2_000 if quick else 10_000)
    args.open_deals = args.open_deals or (10_000 if quick else 100_000)
    return args


def _row(label: str, r: dict, what: str, target: str = "") -> None:
    """One run's line: rate, count, errors, p50/p95."""
    print(f"  {label}  {r['per_s']:6.1f}/s{target}  ({r['done']} {what} in {r['seconds']:.1f} s, {r['errors']} errors; "
          f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms)")


def _workers(backend: str, workers: int, threads: int | None = None) -> str:
    """'sqlite    2 workers': a run's label."""
    return f"{backend:<9} {workers} worker{'s' if workers > 1 else ' '}" + (f", --threads {threads}" if threads else "")


def _runs(backend: str, workers: tuple) -> list[tuple[int, int | None]]:
    """(workers, threads) of each run: `stagegate serve`'s default threads, and on SQLite 2 single-threaded
    workers too (gunicorn's sync worker: the fastest, for a server that answers no external-task long polls)."""
    return [(w, None) for w in workers] + ([(2, 1)] if backend == "sqlite" else [])


def _threads(threads: int | None) -> tuple:
    return ("--threads", str(threads)) if threads else ()


def throughput(backends: list[str], deals: int) -> None:
    """Sign-offs completed per second: the deals made once per backend, a copy of them for each run."""
    nproc = len(os.sched_getaffinity(0))
    print(f"== HTTP task completions per second ({CLIENTS} clients, {deals * 3} sign-offs per run; nproc {nproc}) ==")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="stagegate-http-") as tmp:
        for backend in backends:
            with database(backend, tmp) as template:
                t0 = time.perf_counter()
                tasks, tokens = sign_off_template(template, deals, CLIENTS)
                print(f"  {backend}: {deals} deals set up once in {time.perf_counter() - t0:.1f} s, copied for each run")
                for workers, threads in _runs(backend, (1, 2, 4) if backend == "postgres" else (1, 2)):
                    t0 = time.perf_counter()
                    with copy_of(backend, tmp, template) as url:
                        copied = time.perf_counter() - t0
                        r = completions_per_second(url, workers, tasks, tokens, _threads(threads))
                    rows.setdefault((backend, workers), r)  # the ratios compare the default threads' runs
                    note = f"; {nproc} cores: 4 workers share them" if workers > nproc else ""
                    _row(_workers(backend, workers, threads), r, "sign-offs", f"  [copy {copied:.1f} s{note}]")
    _ratios(rows, backends)


def _ratios(rows: dict, backends: list[str]) -> None:
    """How the rates compare: more workers, the other backend."""
    for backend in backends:
        for w in (2, 4):
            if (backend, w) in rows:
                print(f"  {backend}: {w} workers / 1 worker = {rows[(backend, w)]['per_s'] / rows[(backend, 1)]['per_s']:.2f}x")
    if "postgres" in backends:
        for w in (1, 2):
            print(f"  {w} worker(s): postgres / sqlite = {rows[('postgres', w)]['per_s'] / rows[('sqlite', w)]['per_s']:.2f}x")


def starts(backends: list[str], seconds: float) -> None:
    """Deals started per second through POST /api/v1/instances (the revision loop: an empty start form)."""
    print(f"== HTTP deal starts per second ({CLIENTS} clients, {seconds:.0f} s per run; POST /api/v1/instances, "
          f"revision_loop; target >= 500/s) ==")
    with tempfile.TemporaryDirectory(prefix="stagegate-http-") as tmp:
        for backend in backends:
            for workers, threads in _runs(backend, (1, 2)):
                with database(backend, tmp) as url:
                    r = starts_per_second(url, workers, loop_users(url, CLIENTS), seconds, _threads(threads))
                _row(_workers(backend, workers, threads), r, "starts", f" (target 500/s: {r['per_s'] / 500:.0%})")


def memory(count: int) -> None:
    """RSS of the one worker after 100 completions and after `count`."""
    print(f"== Memory of one gunicorn worker (sqlite, 1 worker, {CLIENTS} clients; revision-loop completions; "
          f"target <= 1.2x) ==")
    with tempfile.TemporaryDirectory(prefix="stagegate-http-") as tmp, database("sqlite", tmp) as url:
        t0 = time.perf_counter()
        r = worker_memory(url, (100, count))
    print(f"  VmRSS at start {r['before_kib'] / 1024:.1f} MiB; {r['deals']} deals")
    for m in r["marks"]:
        print(f"  after {m['completions']:>6,} completions  VmRSS {m['rss_kib'] / 1024:6.1f} MiB  "
              f"({m['per_s']:.0f}/s, {m['errors']} errors{'' if m['same_worker'] else '; THE WORKER WAS RESTARTED'})")
    first, last = r["marks"][0], r["marks"][-1]
    print(f"  ratio {last['rss_kib'] / first['rss_kib']:.2f}x after {last['completions']:,} / {first['completions']:,} "
          f"completions (target <= 1.2x at 10,000){'' if last['completions'] >= 10_000 else '; --memory 10000 for that'}; "
          f"{time.perf_counter() - t0:.0f} s")


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
