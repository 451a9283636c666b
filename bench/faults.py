"""The scale-out fault and load scenarios of tests/test_scale_out.py, long, on PostgreSQL:

    .venv/bin/python -m bench.faults            # 2 workers x 1,000 timers, 20 kills, 16 clients x 20 deals
    .venv/bin/python -m bench.faults --quick    # 200 timers, 5 kills, 16 clients x 5 deals

Prints what it found; exits 1 if a timer fired twice or not at all, a deal is inconsistent
after a kill, or a sign-off was completed other than exactly once.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scale  # noqa: E402
from bench.http import database, pg_available  # noqa: E402


def timers(url: str, count: int) -> bool:
    deals = scale.due_timers(url, count)
    t0 = time.perf_counter()
    outputs = scale.run_workers(url, 2, timeout=3600)
    took = time.perf_counter() - t0
    per_deal = scale.fired_events(url)
    ok = scale.timer_states(url) == Counter({"fired": count}) and per_deal == Counter({d: 1 for d in deals})
    problems = scale.consistency(url)
    print(f"  {count} due timers, 2 workers: {' + '.join(o.strip() for o in outputs)} in {took:.1f} s; "
          f"timer_fired events per deal: {dict(Counter(per_deal.values()))}; "
          f"{len(problems)} inconsistencies -> {'ok' if ok and not problems else 'FAILED'}")
    return ok and not problems


def kills(url: str, rounds: int) -> bool:
    deals = scale.due_timers(url, rounds + 5, linger=0.3)
    records = scale.kill_mid_step(url, rounds, linger=0.3)
    scale.run_workers(url, 2, slow=True, timeout=3600)
    bad = [r for r in records if r["problems"]]
    ok = (len(records) == rounds and not bad and scale.timer_states(url) == Counter({"fired": len(deals)})
          and scale.fired_events(url) == Counter({d: 1 for d in deals}) and not scale.consistency(url))
    print(f"  {len(records)} kill -9 of a worker inside a step (at {min(r['after_s'] for r in records):.2f}-"
          f"{max(r['after_s'] for r in records):.2f} s into it): {len(bad)} left an inconsistent deal; "
          f"afterwards every timer fired once -> {'ok' if ok else 'FAILED'}")
    return ok


def race(url: str, deals: int) -> bool:
    tasks, tokens = scale.sign_off_deals(url, deals=deals, racers=16)
    with scale.server(url, workers=2) as base:
        t0 = time.perf_counter()
        results = scale.race_sign_offs(base, tasks, tokens)
        took = time.perf_counter() - t0
    statuses = Counter(r["status"] for r in results)
    wins = Counter(r["task"] for r in results if r["status"] == 200)
    audited = scale.task_completions(url)
    ok = (set(statuses) <= {200, 409} and all(wins[t] == 1 for t in tasks)
          and all(audited.get(t) is not None and len(audited[t]) == 1 for t in tasks) and not scale.consistency(url))
    print(f"  16 clients x {len(tasks)} sign-offs ({deals} deals): {len(results)} requests in {took:.1f} s, "
          f"statuses {dict(statuses)}; completions per task {dict(Counter(wins.values()))} -> {'ok' if ok else 'FAILED'}")
    return ok


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    reason = pg_available()
    if reason:
        print(f"PostgreSQL not reachable ({reason}); the fault scenarios need it")
        return
    print("== Scale-out faults and load on PostgreSQL ==")
    results = []
    for scenario, size in ((timers, 200 if args.quick else 1000), (kills, 5 if args.quick else 20),
                           (race, 5 if args.quick else 20)):
        with database("postgres", "") as url:
            results.append(scenario(url, size))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
