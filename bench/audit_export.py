"""Stagegate benchmark: memory and time of the auditor's CSV export as the audit log grows.

    .venv/bin/python -m bench.audit_export [--sizes 10000 100000]

For each size it builds a SQLite audit log of that many hash-chained events, then measures,
side by side in one run, the peak Python memory (tracemalloc) and the time of
1. the web route /audit/export.csv, streamed (the body read chunk by chunk, never held), and
2. loading the same events at once (select(...).all() as plain rows), the naive way,
and prints the ratios between sizes: flat for the stream, proportional for the naive load.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from engine.audit import canonical, link_hash  # noqa: E402
from engine.queries.audit_log import _row  # noqa: E402
from stagegate.compose import bootstrap  # noqa: E402
from engine.clock import utcnow  # noqa: E402
from engine.store.models import AuditEvent, AuditHead, Base  # noqa: E402
from engine.services.users import add_user  # noqa: E402
from web import create_app  # noqa: E402

PASSWORD = "bench password"


def sign_off(i: int) -> tuple[str, str, dict]:
    """The i-th event of the benchmark trail: (actor, kind, details)."""
    return "fiona", "task_completed", {"data": {"price": 1000 + i, "note": f"sign-off number {i}"},
                                       "task_name": "Sign off pricing"}


def build(url: str, n: int, event=sign_off):
    """A database with `ada` (auditor) and an audit log of about `n` events (`event(i)`) with a valid chain."""
    sg = bootstrap(url)
    Base.metadata.create_all(sg.engine)
    add_user(sg, "ada", ["Auditor"], "cli:bench", password=PASSWORD)
    with sg.uow() as uow:
        head = uow.session.get(AuditHead, 1)
        seq, prev, key = head.seq, head.hash, sg.audit_keys.get(head.key_id)
    start, rows = utcnow() - timedelta(days=200), []
    table = AuditEvent.__table__
    with sg.engine.begin() as conn:
        for i in range(n - seq):
            seq += 1
            at = start + timedelta(seconds=i * 90)
            actor, kind, details = event(i)
            details = json.loads(canonical(details))
            row = {"seq": seq, "at": at, "actor": actor, "kind": kind, "instance_id": i // 20 + 1,
                   "process_id": "opportunity", "version": 1, "element_id": "Task_SignOffPricing", "details": details}
            digest = link_hash(key, prev, row)
            rows.append({**row, "prev_hash": prev, "hash": digest})
            prev = digest
            if len(rows) == 5000:
                conn.execute(table.insert(), rows)
                rows = []
        if rows:
            conn.execute(table.insert(), rows)
        conn.execute(AuditHead.__table__.update().values(seq=seq, hash=prev))
    return sg


def measure(fn) -> tuple[float, int, object]:
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, result


def streamed(sg):
    app = create_app({"STAGEGATE": sg, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SESSION_COOKIE_SECURE": False})
    client = app.test_client()
    assert client.post("/login", data={"username": "ada", "password": PASSWORD}).status_code == 302

    def run():
        r = client.get("/audit/export.csv", buffered=False)
        size = lines = 0
        for chunk in r.response:
            size += len(chunk)
            lines += chunk.count("\n" if isinstance(chunk, str) else b"\n")
        r.close()
        return size, lines
    return run


def loaded(sg):
    def run():
        with sg.uow(write=False) as uow:
            rows = [_row(e) for e in uow.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()]
        return len(rows)
    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            t0 = time.perf_counter()
            sg = build(f"sqlite:///{Path(tmp) / f'audit-{n}.db'}", n)
            built = time.perf_counter() - t0
            s_time, s_peak, (size, lines) = measure(streamed(sg))
            l_time, l_peak, count = measure(loaded(sg))
            assert lines == count + 1, (lines, count)  # header + one line per event
            results.append((n, s_time, s_peak, l_time, l_peak, size))
            sg.dispose()
            print(f"built {n:>7,} events in {built:5.1f} s; CSV {size / 1e6:6.1f} MB")
    print()
    print(f"{'events':>8} | {'stream peak':>11} {'time':>7} | {'load-all peak':>13} {'time':>7}")
    for n, s_time, s_peak, l_time, l_peak, _size in results:
        print(f"{n:>8,} | {s_peak / 1e6:>9.1f}MB {s_time:>6.1f}s | {l_peak / 1e6:>11.1f}MB {l_time:>6.1f}s")
    if len(results) > 1:
        (n0, _, s0, _, l0, _), (n1, _, s1, _, l1, _) = results[0], results[-1]
        print(f"\n{n1 / n0:g}x the events: stream peak x{s1 / s0:.2f}, load-all peak x{l1 / l0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
