"""Load over HTTP for bench.http: CLIENTS threads (each with its own user's API token) send requests
as fast as they can, all starting at once; what came back, how fast, and each request's latency."""
from __future__ import annotations

import statistics
import threading
import time
from typing import Callable

from bench import scale
from bench.http_setup import DRAFT, LOOP, REVIEW

CLIENTS = 4


class Tally:
    """The status and latency of each request the client threads sent."""

    def __init__(self):
        self.statuses: list[int] = []
        self.latencies: list[float] = []
        self.lock = threading.Lock()

    def call(self, *args, **kwargs):
        """scale.call, timed and counted."""
        t0 = time.perf_counter()
        status, body = scale.call(*args, **kwargs)
        with self.lock:
            self.statuses.append(status)
            self.latencies.append(time.perf_counter() - t0)
        return status, body


def percentile(xs: list[float], p: float) -> float:
    """The nearest-rank p-th percentile."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]


def run_clients(clients: list[Callable[[Tally], None]], ok: int) -> dict:
    """Each client in a thread of its own, all let go at once; the rate of `ok` answers and the latencies."""
    tally = Tally()
    barrier = threading.Barrier(len(clients) + 1)
    failures: list[BaseException] = []

    def go(client):
        barrier.wait()
        try:
            client(tally)
        except Exception as exc:  # noqa: BLE001 - raised again below, in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} client(s) failed") from failures[0]
    good = tally.statuses.count(ok)
    return {"done": good, "errors": len(tally.statuses) - good, "seconds": elapsed, "per_s": good / elapsed,
            "p50_ms": 1000 * statistics.median(tally.latencies), "p95_ms": 1000 * percentile(tally.latencies, 95)}


def completions_per_second(url: str, workers: int, tasks: dict[str, str], tokens: dict[str, str],
                           options: tuple = ()) -> dict:
    """CLIENTS threads complete disjoint sign-offs (3 per deal; {task id: element}) through the API
    (`options`: more of `stagegate serve`'s)."""
    with scale.serving(url, workers, options=options) as (base, _server):
        def client(token, share):
            return lambda tally: [tally.call(base, "POST", f"/api/v1/tasks/{tid}/complete",
                                             {"data": scale.SIGN_OFFS[tasks[tid]]}, token) for tid in share]

        ids = list(tasks)
        shares = [ids[i::CLIENTS] for i in range(CLIENTS)]
        return run_clients([client(tok, share) for tok, share in zip(tokens.values(), shares)], ok=200)


def starts_per_second(url: str, workers: int, tokens: dict[str, str], seconds: float, options: tuple = ()) -> dict:
    """CLIENTS threads start revision-loop deals (POST /api/v1/instances) for `seconds`."""
    with scale.serving(url, workers, options=options) as (base, _server):
        def client(token):
            def run(tally):
                deadline = time.perf_counter() + seconds
                while time.perf_counter() < deadline:
                    tally.call(base, "POST", "/api/v1/instances", {"process_id": LOOP, "data": {}}, token)
            return run

        return run_clients([client(tok) for tok in tokens.values()], ok=201)


def loop_client(base: str, token: str, ready: list[str], count: int):
    """A client that makes `count` completions, going round its deals: Draft, Review (not approved), Draft...
    `ready` holds each deal's ready task and is kept up to date for the next run."""
    def run(tally):
        for i in range(count):
            slot = i % len(ready)
            tid, element = ready[slot]
            status, body = tally.call(base, "POST", f"/api/v1/tasks/{tid}/complete",
                                      {"data": DRAFT if element == "Task_Draft" else REVIEW}, token)
            if status == 200:  # else the deal's task stays, to be tried again next round (the tally counts the error)
                ready[slot] = (body["opened"][0]["id"], body["opened"][0]["element_id"])
    return run
