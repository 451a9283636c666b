"""A loop through a parallel split and join, driven in memory by engine.runtime.Runner.

    .venv/bin/python -m bench.probe_parallel_loop [max_iterations] [--full-tree]

Each iteration completes A (again=True), then B and C (the two parallel branches). Like the service,
every step is saved and restored through the serializer, and the state is compacted first
(engine.bpmn.compaction); `--full-tree` keeps the library's whole task tree instead, which fails once
the join's recursive walk up the parent chain or the tree iterators' depth limit of 1,000 is hit.
bench.run calls `run()` for section 5b.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser  # noqa: E402

from engine.clock import SystemClock  # noqa: E402
from engine.bpmn.runtime import Runner
from engine.bpmn.tasks import new_workflow  # noqa: E402
from engine.bpmn.script_engine import make_script_engine  # noqa: E402
from engine.bpmn.serialization import SpecStore  # noqa: E402
from workflows.expressions import HELPERS  # noqa: E402

MODEL = {"elements": {}, "flows": {}}


def run(max_iterations: int, compact: bool = True, report_every: int = 0) -> dict:
    """Drive the loop; per-iteration seconds, stored state sizes, and how it ended."""
    import json

    parser = CamundaParser()
    parser.add_bpmn_file(str(Path(__file__).with_name("parallel_loop.bpmn")))
    spec, subs = parser.get_spec("ploop"), parser.get_subprocess_specs("ploop")
    store, script_engine, clock = SpecStore(), make_script_engine(HELPERS), SystemClock()
    runner = Runner(new_workflow(spec, subs, script_engine, {}), MODEL, clock)
    runner.advance()
    state = store.dump_state(runner.workflow)

    def step(element: str, data: dict) -> list[str]:
        nonlocal state
        r = Runner(store.load_state(state, spec, subs, script_engine), MODEL, clock)
        task = next(t for t in r.ready_human_tasks() if t["element_id"] == element)
        r.complete(task["id"], data, "probe")
        r.advance()
        if compact:
            r.compact()
        state = store.dump_state(r.workflow)
        return sorted(t["element_id"] for t in r.ready_human_tasks())

    per_iter, sizes, note = {}, {}, None
    started = last = time.perf_counter()
    for it in range(1, max_iterations + 1):
        t0 = time.perf_counter()
        try:
            after_a = step("A", {"again": it < max_iterations, "round": it})
            if after_a != ["B", "C"]:
                note = f"iteration {it}: after A expected B and C ready, found {after_a}"
                break
            step("B", {"b": it})
            after = step("C", {"c": it})
            expected = ["A"] if it < max_iterations else []
            if after != expected:
                note = f"iteration {it}: after the join expected {expected} ready, found {after}"
                break
        except Exception as exc:  # noqa: BLE001 - report where it broke
            note = f"iteration {it}: {type(exc).__name__}: {str(exc)[:160]} ({len(state['tasks'])} tasks stored)"
            break
        per_iter[it] = time.perf_counter() - t0
        if it in (10, 100, 1000, 10000) or it == max_iterations:
            sizes[it] = (len(json.dumps(state)), len(state["tasks"]))
        if report_every and it % report_every == 0:
            now = time.perf_counter()
            print(f"iteration {it:>5}: {len(state['tasks']):>5} tasks stored, "
                  f"{(now - last) / report_every * 1000:8.2f} ms per iteration (last {report_every})", flush=True)
            last = now
    completed = note is None and bool(Runner(store.load_state(state, spec, subs, script_engine), MODEL,
                                             clock).completed)
    return {"per_iter": per_iter, "sizes": sizes, "note": note, "completed": completed,
            "reached": max(per_iter, default=0), "elapsed": time.perf_counter() - started}


def main(argv: list[str]) -> int:
    n = int(next((a for a in argv if a.isdigit()), 400))
    result = run(n, compact="--full-tree" not in argv, report_every=max(1, n // 16))
    print(result["note"] or f"ok: {n} iterations, completed={result['completed']}, "
                            f"{result['elapsed']:.1f} s, stored state {result['sizes'].get(n)}")
    return 0 if result["note"] is None and result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
