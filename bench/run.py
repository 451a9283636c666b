"""Stagegate benchmark: what one persisted task completion costs, and what it is made of.

Run from the repository root:

    .venv/bin/python -m bench.run            # full run (a few minutes)
    .venv/bin/python -m bench.run --quick    # short run; the long loop stops at 100 iterations
    .venv/bin/python bench/run.py [--quick]

It measures, in one run, side by side:

1. `complete_task` through the service layer (SQLite file in WAL mode, audit included):
   revision_loop on fresh instances (3 Draft+Review iterations each) and opportunity's
   "Prepare proposal" task;
2. the same user tasks run by bare SpiffWorkflow in memory
   (CamundaParser + BpmnWorkflow; task.data.update + task.run + workflow.do_engine_steps);
3. a bare SQLAlchemy Core UPDATE + COMMIT of one row whose JSON/text column has the byte
   size of a real serialized instance state (taken from the service run);
4. ratios and completions per second;
5. per-step cost after 10, 100 and 1,000 revision-loop iterations of one instance, through
   the service layer and bare SpiffWorkflow (which stalls once ready tasks fall beyond its
   task-iterator depth of 1,000), with the persisted state size at those points;

and then a cProfile of `complete_task` and a breakdown of its time by phase.

One module per measurement: bench/completion.py (1-4, against bench/bare.py), bench/long_loop.py (5),
bench/inbox.py (6), bench/profiles.py (profile, phases); shared set-up in bench/common.py.

The benchmark only reads engine code; it monkeypatches nothing permanently (the phase
breakdown wraps a few functions for its own run and restores them).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first on the path, not the root
    sys.path.insert(0, str(ROOT))

from bench import completion, inbox, long_loop, profiles  # noqa: E402
from bench.common import FULL, HEADLINE, QUICK, machine_info, perf, rule  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter run; the long loop stops at 100 iterations")
    ap.add_argument("--keep", action="store_true", help="keep the temporary databases")
    ap.add_argument("--long-only", action="store_true", help="run only section 5 (the long loop)")
    ap.add_argument("--long-budget", type=float, default=None, metavar="SECONDS",
                    help="time budget of the service long loop (default 180 s; raise it to see 1,000 iterations)")
    args = ap.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.long_budget is not None:
        cfg["service_budget_s"] = args.long_budget
    tmp = tempfile.mkdtemp(prefix="stagegate-bench-")
    run_started = perf()
    try:
        return _run(cfg, tmp, args.quick, args.long_only)
    finally:
        print(f"\n(total benchmark wall time {perf() - run_started:.1f} s; load average at end "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()) + ")")
        if args.keep:
            print(f"(databases kept in {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _run(cfg: dict, tmp: str, quick: bool, long_only: bool = False) -> int:
    print(f"Stagegate benchmark ({'quick' if quick else 'full'} run{', long loop only' if long_only else ''})")
    rule("Machine")
    for k, v in machine_info(tmp):
        print(f"  {k:<14} {v}")
    if not long_only:
        completion.run(cfg, tmp)
    long_loop.run(cfg, tmp, quick)
    if not long_only:
        inbox.run(cfg, tmp)
        profiles.run(cfg, tmp)
    rule("Summary (issue 9 figures, all from this run)")
    for k, v in HEADLINE.items():
        print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
