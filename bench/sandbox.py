"""What the expression sandbox costs: per evaluation, and per persisted completion.

Run from the repository root:

    .venv/bin/python -m bench.sandbox            # a minute or two
    .venv/bin/python -m bench.sandbox --quick    # a short run

It measures, in one run, side by side:

1. one evaluation of the expressions the shipped diagrams use (a gateway condition, a timer
   expression, business_days(3), a decision table's output cell) and of a small script:
   - inline: what engine.sandbox.inline proves cheap, evaluated in this process;
   - pool round trip: the same sent to a sandbox worker process (what anything not proven
     cheap costs);
   - in-process (before the pool): the restricted evaluator alone in this process, which is
     what every evaluation cost before issue 15, and what a worker runs;
2. `complete_task` (SQLite, WAL, audit included; bench/common.py's set-up) on the revision loop and
   on the opportunity's *Prepare proposal*, with the sandbox as shipped (pool in force, cheap
   expressions inline), with every expression sent to the pool, and with everything in-process
   as before the pool; and how many pool round trips each completion made.

The modes take turns in rounds, so load on the machine affects them alike. The benchmark
switches the mode for its own run only (engine.sandbox.IN_WORKER, the inline classifier, and
bench.completion.Samples to count round trips per timed completion) and
restores it.
"""
from __future__ import annotations

import argparse
import contextlib
import tempfile
import time

import bench.completion
from bench.common import Samples, machine_info, make_service, ms, rule, summarize
from bench.completion import service_opportunity, service_revision
from engine import sandbox
from engine.sandbox import inline as sandbox_inline, pool as sandbox_pool
from stagegate.compose import DIAGRAM_HELPERS

EXPRESSIONS = [
    ("gateway condition", "approval_level == 'cfo'", {"approval_level": "finance"}),
    ("timer expression", "'P' + str(hold_days) + 'D'", {"hold_days": 5}),
    ("business_days(3)", "business_days(3)", {}),
    ("decision output", '"annual revenue $" + str(annual_revenue_musd) + "MM is below $50MM"',
     {"annual_revenue_musd": 30}),
]
SCRIPT = ("script task", "net = price * (100 - discount_pct) / 100\napproved = net > 1000", {"price": 5000,
                                                                                             "discount_pct": 7})
MODES = ("shipped", "pool only", "in-process")


@contextlib.contextmanager
def mode(name: str):
    """Evaluate as shipped, with nothing inline (every evaluation in a worker), or all in-process."""
    saved_flag, saved_classify = sandbox.IN_WORKER, sandbox_inline.classify
    if name == "in-process":
        sandbox.IN_WORKER = True
    elif name == "pool only":
        sandbox_inline.classify = lambda tree, chars: None
    sandbox._analyse.cache_clear()
    try:
        yield
    finally:
        sandbox.IN_WORKER, sandbox_inline.classify = saved_flag, saved_classify
        sandbox._analyse.cache_clear()


class CountedSamples(Samples):
    """bench.run's timed calls, also counting the pool round trips each timed call made."""

    def __init__(self):
        super().__init__()
        self.trips: list[int] = []

    def time(self, fn, *a, **k):
        before = sandbox_pool.expressions().stats["evaluations"]
        result = super().time(fn, *a, **k)
        self.trips.append(sandbox_pool.expressions().stats["evaluations"] - before)
        return result


def per_call(fn, n: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n


def evaluations(n: int, rounds: int) -> None:
    rule("one evaluation (median of the rounds, microseconds)")
    pool = sandbox_pool.expressions()
    print(f"{'expression':<22} {'inline':>10} {'pool trip':>10} {'in-process':>11} {'pool/inline':>12} "
          f"{'pool/in-proc':>13}")
    for label, code, context in [*EXPRESSIONS, SCRIPT]:
        script = label == "script task"
        names = sandbox._analyse(code, "exec" if script else "eval")[0]
        if script:
            inline = None
            trip = lambda: pool.execute(code, names, dict(context), DIAGRAM_HELPERS, sandbox.LIMITS)  # noqa: E731
            here = lambda: sandbox.execute_here(code, dict(context), DIAGRAM_HELPERS)  # noqa: E731
        else:
            plan = sandbox._analyse(code, "eval")[1]
            assert plan is not None, f"{label} is not proven cheap"
            inline = lambda: sandbox.evaluate(code, context, DIAGRAM_HELPERS)  # noqa: E731
            trip = lambda: pool.evaluate(code, names, context, DIAGRAM_HELPERS, sandbox.LIMITS)  # noqa: E731
            here = lambda: sandbox.evaluate_here(code, context, DIAGRAM_HELPERS)  # noqa: E731
        got = {"inline": [], "trip": [], "here": []}
        for _ in range(rounds):
            if inline:
                got["inline"].append(per_call(inline, n))
            got["trip"].append(per_call(trip, max(1, n // 20)))
            got["here"].append(per_call(here, n))
        med = {k: summarize(v)["median"] for k, v in got.items()}
        shown = f"{med['inline'] * 1e6:>10.2f}" if inline else f"{'(script)':>10}"
        ratio = f"{med['trip'] / med['inline']:>11.0f}x" if inline else f"{'':>12}"
        print(f"{label:<22} {shown} {med['trip'] * 1e6:>10.1f} {med['here'] * 1e6:>11.2f} {ratio} "
              f"{med['trip'] / med['here']:>12.0f}x")


def completions(instances: int, rounds: int) -> None:
    rule("complete_task, SQLite WAL, audit included (ms per completion)")
    workflows = ("revision loop", "Prepare proposal")
    samples = {(m, w): [] for m in MODES for w in workflows}
    trips = {(m, w): [] for m in MODES for w in workflows}
    saved = bench.completion.Samples
    bench.completion.Samples = CountedSamples  # the drives below time their completions with it
    try:
        with tempfile.TemporaryDirectory(prefix="stagegate-bench-sandbox-") as tmp:
            sg = make_service(tmp, "sandbox.db")
            try:
                service_revision(sg, 1, 1, keep_states=False)  # warm caches and the workers
                service_opportunity(sg, 1, keep_states=False)
                for _ in range(rounds):
                    for m in MODES:
                        with mode(m):
                            for w, times in (("revision loop", service_revision(sg, instances, 3, False)[0]),
                                             ("Prepare proposal", service_opportunity(sg, instances, False)[0])):
                                samples[(m, w)] += times.wall
                                trips[(m, w)] += times.trips
            finally:
                sg.dispose()
    finally:
        bench.completion.Samples = saved
    print(f"{'workflow':<18} {'mode':<12} {'n':>5} {'median':>8} {'p95':>8} {'per s':>7} {'vs in-process':>14} "
          f"{'pool trips':>11}")
    for w in workflows:
        base = summarize(samples[("in-process", w)])["median"]
        for m in MODES:
            s = summarize(samples[(m, w)])
            print(f"{w:<18} {m:<12} {s['n']:>5} {ms(s['median']):>8} {ms(s['p95']):>8} {1 / s['median']:>7.0f} "
                  f"{s['median'] / base:>13.2f}x {sum(trips[(m, w)]) / max(1, len(trips[(m, w)])):>11.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run")
    args = ap.parse_args()
    n, rounds, instances, crounds = (2000, 3, 3, 2) if args.quick else (20000, 5, 10, 3)
    rule("machine")
    with tempfile.TemporaryDirectory() as tmp:
        for k, v in machine_info(tmp):
            print(f"{k:<14} {v}")
    print(f"{'limits':<14} {sandbox.LIMITS.as_dict()} (per evaluation), workers "
          f"{sandbox_pool.expressions().size}")
    evaluations(n, rounds)
    completions(instances, crounds)


if __name__ == "__main__":
    main()
