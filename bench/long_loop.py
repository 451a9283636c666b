"""Section 5 of bench.run: the per-step cost after 10, 100, 1,000 (10,000) revision-loop iterations
of one instance, service layer and bare SpiffWorkflow, and 5b, the parallel-loop probe."""
from __future__ import annotations

import gc
import statistics

from SpiffWorkflow.util.task import TaskState

from engine.services.instances import complete_task, start_instance
from engine.queries.records import instance as instance_query
from engine.queries.records import verify_audit
from bench.bare import bare_complete, bare_ready, bare_specs, bare_workflow
from bench.common import HEADLINE, REVISION_BPMN, WINDOW, cpu, make_service, ms, perf, revision_steps, rule
from bench.completion import ready_one, state_info


# --------------------------------------------------------------------------- long loop
def service_long(tmp: str, cap: int, points: tuple, budget_s: float) -> dict:
    """One revision_loop instance driven through `cap` Draft+Review iterations (approved=False)."""
    sg = make_service(tmp, "long.db")
    started_instance = start_instance(sg, "revision_loop", "sam", {})
    iid, ready = started_instance["id"], started_instance["ready_tasks"]
    per_iter: dict[int, list[float]] = {}
    cpu_iter: dict[int, list[float]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    note, reached = None, 0
    started = perf()
    try:
        for it in range(1, cap + 1):
            for element, actor, data in revision_steps(it, False):
                # complete_task returns the ready tasks: no extra query between steps
                task = next((t for t in ready if t["element_id"] == element), None)
                if task is None:
                    st = instance_query(sg, iid)["status"]
                    note = f"stalled at iteration {it}: no ready {element} although the instance is {st}"
                    raise StopIteration
                t0, c0 = perf(), cpu()
                ready = complete_task(sg, task["id"], actor, data)["ready_tasks"]
                cpu_iter.setdefault(it, []).append(cpu() - c0)
                per_iter.setdefault(it, []).append(perf() - t0)
            reached = it
            if it in points or it == cap:
                sizes[it] = state_info(sg, iid)
            if perf() - started > budget_s and it < cap:
                sizes[it] = state_info(sg, iid)
                note = (f"capped by the time budget: stopped after iteration {it} "
                        f"({perf() - started:.0f} s > {budget_s:.0f} s)")
                break
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001 - report, do not crash the benchmark
        note = f"failed at iteration {reached + 1}: {type(exc).__name__}: {exc}"
    elapsed = perf() - started
    # Does the instance still finish after all those loops?
    final = None
    if note is None or note.startswith("capped"):
        try:
            draft = ready_one(sg, iid, "Task_Draft")
            complete_task(sg, draft["id"], "sam", {"revision_note": "final"})
            review = ready_one(sg, iid, "Task_Review")
            t0 = perf()
            r = complete_task(sg, review["id"], "fiona", {"approved": True})
            final = f"after {reached} loops, one more Draft + Review(approved=True) -> status '{r['status']}', " \
                    f"ended at {r['ended_at_element']} (last step {ms(perf() - t0)} ms)"
        except Exception as exc:  # noqa: BLE001
            final = f"could not finish the instance: {type(exc).__name__}: {exc}"
    audit = verify_audit(sg)
    sg.dispose()
    return {"per_iter": per_iter, "cpu_iter": cpu_iter, "sizes": sizes, "note": note, "reached": reached,
            "elapsed": elapsed, "final": final, "audit": audit}


def bare_long(cap: int, points: tuple, budget_s: float) -> dict:
    spec, subs = bare_specs(REVISION_BPMN, "revision_loop")
    wf = bare_workflow(spec, subs)
    per_iter: dict[int, list[float]] = {}
    tasks_at: dict[int, int] = {}
    note, reached = None, 0
    started = perf()
    try:
        for it in range(1, cap + 1):
            for element, _actor, data in revision_steps(it, False):
                task = bare_ready(wf, element)
                if task is None:
                    hidden = [t for t in wf.tasks.values() if t.state == TaskState.READY]
                    where = ", ".join(f"{t.task_spec.bpmn_id or t.task_spec.name} at depth {t.depth}" for t in hidden)
                    note = (f"stalled at iteration {it}: get_tasks() finds no ready {element} and the workflow "
                            f"is not completed (completed={wf.completed}); READY in workflow.tasks: "
                            f"{where or 'none'}")
                    raise StopIteration
                per_iter.setdefault(it, []).append(bare_complete(wf, task, data))
            reached = it
            if it in points or it == cap:
                tasks_at[it] = len(wf.tasks)
            if perf() - started > budget_s and it < cap:
                tasks_at[it] = len(wf.tasks)
                note = f"capped by the time budget: stopped after iteration {it}"
                break
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001
        note = f"failed at iteration {reached + 1}: {type(exc).__name__}: {exc}"
    tasks_at.setdefault(reached, len(wf.tasks))
    return {"per_iter": per_iter, "tasks_at": tasks_at, "note": note, "reached": reached,
            "elapsed": perf() - started}


def window_median(per_iter: dict[int, list[float]], n: int) -> tuple[float | None, int, str]:
    its = [i for i in range(max(1, n - WINDOW), n + WINDOW + 1) if i in per_iter]
    xs = [x for i in its for x in per_iter[i]]
    if n not in per_iter or not xs:
        return None, 0, ""
    return statistics.median(xs), len(xs), f"{its[0]}-{its[-1]}"




def run(cfg: dict, tmp: str, quick: bool) -> None:
    rule("5. Per-step cost as one instance loops (revision_loop, approved=False each time)")
    points = cfg["long_points"]
    cap = cfg["long_cap"]
    print(f"  Target: {cap} iterations (= {2 * cap} completions); per-step cost at iteration N = median of the "
          f"Draft+Review completions of iterations N-{WINDOW}..N+{WINDOW}.")
    if quick:
        print(f"  --quick: capped at {cap - WINDOW} iterations.")
    print(f"  Service time budget {cfg['service_budget_s']:.0f} s, bare library budget {cfg['bare_budget_s']:.0f} s.")
    gc.collect()
    bl = bare_long(cap, points, cfg["bare_budget_s"])
    gc.collect()
    extra = (bl["reached"],) if bl["note"] and bl["reached"] else ()
    sl = service_long(tmp, cap, tuple(points) + extra, cfg["service_budget_s"])
    print()
    head = (f"  {'iteration':>9} | {'service ms/step':>15} {'(n, iters)':>12} {'stored state':>24} {'tasks':>6} | "
            f"{'bare lib ms/step':>16} {'(n, iters)':>12} {'tasks':>6} | {'svc/bare':>8}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    shown = list(points)
    if sl["reached"] and sl["reached"] not in shown and sl["note"]:
        shown.append(sl["reached"])
    if bl["reached"] and bl["reached"] not in shown and bl["note"]:
        shown.append(bl["reached"])
    for p in sorted(shown):
        sm, sn, sits = window_median(sl["per_iter"], p)
        bm, bn, bits = window_median(bl["per_iter"], p)
        size = sl["sizes"].get(p)
        s_cell = f"{ms(sm):>15} {f'({sn}, {sits})':>12}" if sm is not None else f"{'not reached':>15} {'':>12}"
        b_cell = f"{ms(bm):>16} {f'({bn}, {bits})':>12}" if bm is not None else f"{'stalled' if bl['note'] and 'stalled' in bl['note'] else 'not reached':>16} {'':>12}"
        size_cell = f"{size[0]:>12,} B ({size[0] / 1048576:5.2f} MiB)" if size else f"{'':>24}"
        tasks_cell = f"{size[1]:>6}" if size else f"{'':>6}"
        btasks = bl["tasks_at"].get(p)
        rat = f"{sm / bm:>7.1f}x" if sm is not None and bm is not None else f"{'':>8}"
        print(f"  {p:>9} | {s_cell} {size_cell} {tasks_cell} | {b_cell} {btasks if btasks is not None else '':>6} | {rat}")
    print()
    print(f"  service: reached iteration {sl['reached']} in {sl['elapsed']:.1f} s; "
          + (sl["note"] or f"no stall: went past {max(points)} iterations without losing ready work"))
    if sl["final"]:
        print(f"  service: {sl['final']}")
    a = sl["audit"]
    print(f"  service: audit chain ok={a['ok']} over {a['events']:,} events")
    print(f"  bare library: reached iteration {bl['reached']} in {bl['elapsed']:.1f} s; "
          + (bl["note"] or "no stall"))
    first, last = points[0], max(p for p in points if p in sl["per_iter"]) if sl["per_iter"] else None
    if last is not None and last != first:
        a, _, _ = window_median(sl["per_iter"], first)
        b, _, _ = window_median(sl["per_iter"], last)
        ca, _, _ = window_median(sl["cpu_iter"], first)
        cb, _, _ = window_median(sl["cpu_iter"], last)
        verdict = "within" if b <= 1.5 * a else "NOT within"
        line = (f"per-step cost at iteration {last:,} / at iteration {first}: wall {ms(b)} / {ms(a)} ms = {b / a:.2f}x "
                f"({verdict} the 1.5x target), CPU {ms(cb)} / {ms(ca)} ms = {cb / ca:.2f}x; stored state "
                f"{sl['sizes'].get(first, (0,))[0]:,} B -> {sl['sizes'].get(last, (0,))[0]:,} B")
        print(f"  service: {line}")
        HEADLINE["long loop (revision_loop, service)"] = line + (f"; {sl['final']}" if sl["final"] else "")
    if bl["note"]:
        HEADLINE["long loop (bare library)"] = f"reached iteration {bl['reached']}: {bl['note'][:120]}"
    _parallel_loop(cfg)


def _parallel_loop(cfg: dict) -> None:
    from bench.probe_parallel_loop import run as run_parallel

    n = cfg["parallel_iterations"]
    rule(f"5b. A loop through a parallel split and join, {n:,} iterations (Runner in memory, state saved, "
         f"compacted and restored at every step)")
    gc.collect()
    r = run_parallel(n)
    points = [p for p in (10, 100, 1000, 10000) if p <= r["reached"]]
    print(f"  {'iteration':>9} | {'ms per iteration (A, B, C)':>26} | {'stored state':>14} {'tasks':>6}")
    for p in points:
        xs = [r["per_iter"][i] for i in range(max(1, p - WINDOW), p + WINDOW + 1) if i in r["per_iter"]]
        size = r["sizes"].get(p)
        print(f"  {p:>9} | {ms(statistics.median(xs)):>26} | {size[0] if size else 0:>12,} B {size[1] if size else '':>6}")
    outcome = r["note"] or f"all {n:,} iterations ran and the instance completed: {r['completed']}"
    print(f"  {outcome} ({r['elapsed']:.1f} s)")
    HEADLINE["parallel split/join loop"] = outcome
