"""Stagegate benchmark: the audit log's actor filter on a large trail, with and without its indexes.

    .venv/bin/python -m bench.audit_filter [--events 200000] [--repeat 5]

The trail mixes people's own events with the engine's steps taken on their input (on_behalf_of),
as a real one does. For SQLite, and PostgreSQL when the server answers (STAGEGATE_TEST_POSTGRES_URL,
default 127.0.0.1:5432/test), it times one page of `/audit?actor=lena` (the count and the first 50
events, as audit_log.search reads them), then drops the two indexes the filter reads
(ix_audit_events_actor, ix_audit_events_on_behalf_of) and times the same search again on the same
rows, and prints both and their ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.audit_export import build  # noqa: E402
from bench.databases import backends, scratch_database  # noqa: E402
from engine.queries import audit_log  # noqa: E402

PG_URL = os.environ.get("STAGEGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PEOPLE = ["sam", "sally", "fiona", "pete", "quinn", "lou", "carl", "hank", "hedy", "lena"]


def mixed(i: int) -> tuple[str, str, dict]:
    """Every other event is the engine's, on the input of one of ten people; lena is one in ten."""
    person = PEOPLE[(i // 2) % len(PEOPLE)]
    if i % 2:
        return "engine", "gate_decided", {"gate": "discovery", "outcome": "go", "on_behalf_of": person}
    return person, "task_completed", {"task_name": "Discovery gate review", "data": {"n": i}}


def timed(sg, repeat: int) -> tuple[float, int]:
    """Median seconds of one page of the actor filter, and the events it matched."""
    chosen = audit_log.log_filter(actor="lena")
    times, total = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        total = audit_log.search(sg, "ada", chosen)["total"]
        times.append(time.perf_counter() - t0)
    return statistics.median(times), total


def run(backend: str, folder: str, n: int, repeat: int) -> tuple[float, float, int]:
    with scratch_database(backend, folder, PG_URL, "bench_filter") as url:
        sg = build(url, n, mixed)
        with sg.engine.begin() as conn:
            if backend == "postgres":
                conn.execute(text("ANALYZE audit_events"))
        indexed, total = timed(sg, repeat)
        with sg.engine.begin() as conn:
            for name in ("ix_audit_events_actor", "ix_audit_events_on_behalf_of"):
                conn.execute(text(f"DROP INDEX {name}"))
        scanned, again = timed(sg, repeat)
        assert again == total, (again, total)
        sg.dispose()
    return indexed, scanned, total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    chosen = backends(PG_URL)
    print(f"{'backend':>9} | {'events':>8} | {'lena':>7} | {'indexed':>9} | {'no index':>9} | ratio")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in chosen:
            indexed, scanned, total = run(backend, tmp, args.events, args.repeat)
            print(f"{backend:>9} | {args.events:>8,} | {total:>7,} | {indexed * 1000:>7.1f}ms | "
                  f"{scanned * 1000:>7.1f}ms | x{scanned / indexed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
