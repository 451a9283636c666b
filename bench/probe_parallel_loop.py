"""Probe (not part of bench.run): a loop with a parallel split/join, driven in memory by engine.runtime.Runner.

    .venv/bin/python -m bench.probe_parallel_loop [max_iterations]

Each iteration completes A (again=True), then B and C (the two parallel branches). It reports the
time per iteration as the task tree deepens, and the iteration at which SpiffWorkflow fails
(its parallel-gateway join walks the parent chain recursively, and its tree iterators stop at
depth 1,000, whichever Runner does to find ready tasks).
"""
from __future__ import annotations

import inspect
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser  # noqa: E402

from engine.clock import SystemClock  # noqa: E402
from engine.runtime import Runner, make_script_engine, new_workflow  # noqa: E402
from workflows.expressions import HELPERS  # noqa: E402


def main(max_iterations: int = 400) -> int:
    parser = CamundaParser()
    parser.add_bpmn_file(str(Path(__file__).with_name("parallel_loop.bpmn")))
    spec, subs = parser.get_spec("ploop"), parser.get_subprocess_specs("ploop")
    wf = new_workflow(spec, subs, make_script_engine(HELPERS), {})
    # Runner's signature moves with the engine; pass what it asks for.
    extra = {"clock": SystemClock()} if "clock" in inspect.signature(Runner).parameters else {}
    runner = Runner(wf, {"elements": {}, "flows": {}}, **extra)
    runner.advance()
    takes_actor = "actor" in inspect.signature(runner.complete).parameters

    def complete(task_id, data):
        if takes_actor:
            runner.complete(task_id, data, "probe")
        else:
            runner.complete(task_id, data)

    def ready(element=None):
        tasks = runner.ready_human_tasks()
        return sorted(t["element_id"] for t in tasks) if element is None else \
            next(t for t in tasks if t["element_id"] == element)

    def depth():
        return max(t.depth for t in wf.tasks.values())

    started = last = time.perf_counter()
    for it in range(1, max_iterations + 1):
        try:
            if ready() != ["A"]:
                print(f"iteration {it}: expected A ready, found {ready()} (depth {depth()})")
                return 1
            complete(ready("A")["id"], {"again": True})
            runner.advance()
            if ready() != ["B", "C"]:
                print(f"iteration {it}: after A expected B and C ready, found {ready()} (depth {depth()})")
                return 1
            for el in ("B", "C"):
                complete(ready(el)["id"], {})
                runner.advance()
        except Exception as exc:  # noqa: BLE001
            print(f"iteration {it}: {type(exc).__name__}: {str(exc)[:160]} (tree depth {depth()}, "
                  f"{len(wf.tasks)} tasks, {time.perf_counter() - started:.1f} s)")
            return 1
        if it % 25 == 0:
            now = time.perf_counter()
            print(f"iteration {it:>4}: depth {depth():>4}, {len(wf.tasks):>5} tasks, "
                  f"{(now - last) / 25 * 1000:8.1f} ms per iteration (last 25), {now - started:6.1f} s total", flush=True)
            last = now
    print(f"ok: {max_iterations} iterations, depth {depth()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 400))
