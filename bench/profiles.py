"""The last sections of bench.run: a cProfile of `complete_task` and its time by phase."""
from __future__ import annotations

import cProfile
import functools
import os
import pstats
import sys
from collections import defaultdict


from engine.services.instances import complete_task, start_instance
from bench.common import ITERS_PER_INSTANCE, ROOT, make_service, ms, perf, revision_steps, rule
from bench import completion
from bench.completion import ready_one, service_revision


# --------------------------------------------------------------------------- profile and breakdown
def _short(filename: str) -> str:
    for prefix in (str(ROOT) + os.sep, *[p + os.sep for p in sys.path if p.endswith("site-packages")]):
        if filename.startswith(prefix):
            return filename[len(prefix):]
    return filename


def drive(sg, iid: int, first: int, last: int) -> list[float]:
    """Complete Draft+Review(approved=False) of iterations first..last on one instance; times per completion."""
    times = []
    for it in range(first, last + 1):
        for element, actor, data in revision_steps(it, False):
            task = ready_one(sg, iid, element)
            assert task is not None, f"no ready {element} at iteration {it}"
            t0 = perf()
            complete_task(sg, task["id"], actor, data)
            times.append(perf() - t0)
    return times


class _Swap:
    """Temporarily replace the `complete_task` that drive (this module) and service_revision (bench.completion) call."""

    def __init__(self, replacement):
        self.replacement = replacement
        self.spaces = (globals(), vars(completion))

    def __enter__(self):
        self.original = globals()["complete_task"]
        for space in self.spaces:
            space["complete_task"] = self.replacement

    def __exit__(self, *exc):
        for space in self.spaces:
            space["complete_task"] = self.original


def _profile_table(prof: cProfile.Profile, calls: int, by: str) -> str:
    st = pstats.Stats(prof)
    total = st.total_tt
    idx = 3 if by == "cumulative" else 2
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][idx], reverse=True)[:10]
    out = [f"  top 10 by {'cumulative' if by == 'cumulative' else 'own (tot)'} time "
           f"({calls} complete_task calls, {total * 1000 / calls:.3f} ms per call under the profiler)",
           f"  {'ncalls':>9} {'tottime/call ms':>16} {'cumtime/call ms':>16} {'cum %':>6}  function"]
    for (fn, line, name), (_cc, nc, tt, ct, _callers) in rows:
        where = name if fn == "~" else f"{_short(fn)}:{line}({name})"
        out.append(f"  {nc:>9} {tt * 1000 / calls:>16.3f} {ct * 1000 / calls:>16.3f} {100 * ct / total:>5.1f}%  {where}")
    return "\n".join(out)


def profile_complete_task(tmp: str, n_instances: int, long_at: int, long_n: int) -> str:
    """cProfile of complete_task on fresh instances, and on one instance after `long_at` loops."""
    sg = make_service(tmp, "profile.db")
    service_revision(sg, 1, ITERS_PER_INSTANCE, keep_states=False)  # warm caches
    original = complete_task
    fresh, late = cProfile.Profile(), cProfile.Profile()

    def under(prof):
        def profiled(*a, **k):
            prof.enable()
            try:
                return original(*a, **k)
            finally:
                prof.disable()
        return profiled

    try:
        with _Swap(under(fresh)):
            service_revision(sg, n_instances, ITERS_PER_INSTANCE, keep_states=False)
        iid = start_instance(sg, "revision_loop", "sam", {})["id"]
        drive(sg, iid, 1, long_at)
        with _Swap(under(late)):
            drive(sg, iid, long_at + 1, long_at + long_n)
    finally:
        sg.dispose()
    calls = n_instances * ITERS_PER_INSTANCE * 2
    return "\n".join([
        f"  (a) fresh instances (iterations 1-{ITERS_PER_INSTANCE})",
        _profile_table(fresh, calls, "cumulative"), "",
        _profile_table(fresh, calls, "tottime"), "",
        f"  (b) one instance after {long_at} loops (iterations {long_at + 1}-{long_at + long_n})",
        _profile_table(late, 2 * long_n, "cumulative"),
    ])


class PhaseTimer:
    """Exclusive time per wrapped function: nested wrapped calls are charged to themselves only.

    Only counts while `active` (i.e. inside complete_task), so the untimed bookkeeping of the
    benchmark (ready_tasks, start_instance) does not leak into the phases.
    """

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[float] = []
        self.active = False
        self._undo: list = []

    def wrap(self, owner, attr: str, phase: str) -> None:
        fn = getattr(owner, attr)
        had_own = attr in vars(owner)
        timer = self

        @functools.wraps(fn)
        def wrapped(*a, **k):
            if not timer.active:
                return fn(*a, **k)
            timer.stack.append(0.0)
            t0 = perf()
            try:
                return fn(*a, **k)
            finally:
                elapsed = perf() - t0
                inner = timer.stack.pop()
                timer.totals[phase] += elapsed - inner
                if timer.stack:
                    timer.stack[-1] += elapsed

        setattr(owner, attr, wrapped)
        self._undo.append((owner, attr, fn, had_own))

    def restore(self) -> None:
        for owner, attr, fn, had_own in reversed(self._undo):
            if had_own:
                setattr(owner, attr, fn)
            else:
                delattr(owner, attr)
        self._undo.clear()

    def take(self, times) -> dict:
        times = getattr(times, "wall", times)
        n, total = len(times), sum(times)
        out = {name: t / n for name, t in self.totals.items()}
        out[REST] = (total - sum(self.totals.values())) / n
        out[TOTAL] = total / n
        self.totals = defaultdict(float)
        return out


REST = "rest (use-case code, session bookkeeping, wrapper overhead)"
TOTAL = "total per completion (with wrappers in place)"


def phase_breakdown(tmp: str, n_instances: int, long_at: int, long_n: int) -> tuple[dict, dict, int, int]:
    import engine.audit as audit_mod
    import engine.store.db as db_mod
    import engine.bpmn.forms as forms_mod
    import engine.bpmn.runtime as runtime_mod
    from sqlalchemy.engine import Connection
    from engine.store.prepared import Prepared
    from sqlalchemy.orm import Session

    sg = make_service(tmp, "breakdown.db")
    service_revision(sg, 1, ITERS_PER_INSTANCE, keep_states=False)
    pt = PhaseTimer()
    pt.wrap(sg.specs, "load_state", "restore workflow from state (deepcopy + from_dict)")
    pt.wrap(sg.specs, "dump_state", "serialize workflow state (to_dict)")
    pt.wrap(runtime_mod.Runner, "complete", "engine: run the user task")
    pt.wrap(runtime_mod.Runner, "advance", "engine: advance (gateway, next task)")
    for attr in ("is_ready", "ready_human_tasks", "data"):
        pt.wrap(runtime_mod.Runner, attr, "engine: find task / list ready tasks / data")
    pt.wrap(audit_mod, "record", "audit.record (canonical JSON, hash, head row)")
    pt.wrap(forms_mod, "validate", "form validation")
    for attr in ("rows", "tuples", "run"):
        pt.wrap(Prepared, attr, "SQL statements (prepared; binds, JSON in and out)")
    pt.wrap(Connection, "execute", "SQL statements (prepared; binds, JSON in and out)")
    pt.wrap(Session, "execute", "ORM statements (the rare parts of a step)")
    pt.wrap(Session, "get", "ORM statements (the rare parts of a step)")
    pt.wrap(Session, "flush", "ORM flush (objects the rare parts added)")
    pt.wrap(Session, "commit", "COMMIT (WAL append; audit linking, outbox rows)")
    pt.wrap(db_mod.UnitOfWork, "__enter__", "session open + BEGIN IMMEDIATE")
    pt.wrap(db_mod.UnitOfWork, "__exit__", "rollback/close session")
    original = complete_task

    def active(*a, **k):
        pt.active = True
        try:
            return original(*a, **k)
        finally:
            pt.active = False

    try:
        with _Swap(active):
            times, _ = service_revision(sg, n_instances, ITERS_PER_INSTANCE, keep_states=False)
        fresh = pt.take(times)
        iid = start_instance(sg, "revision_loop", "sam", {})["id"]
        drive(sg, iid, 1, long_at)
        pt.totals = defaultdict(float)
        with _Swap(active):
            late_times = drive(sg, iid, long_at + 1, long_at + long_n)
        late = pt.take(late_times)
    finally:
        pt.restore()
        sg.dispose()
    return fresh, late, len(times), len(late_times)




def run(cfg: dict, tmp: str) -> None:
    rule("cProfile of complete_task (revision_loop)")
    print(profile_complete_task(tmp, cfg["profile_instances"], 100, 5))
    rule("Where the time goes: complete_task by phase (exclusive ms per completion, separate run)")
    fresh, late, nf, nl = phase_breakdown(tmp, cfg["breakdown_instances"], 100, 5)
    names = sorted((k for k in fresh if k not in (REST, TOTAL)), key=lambda k: fresh[k], reverse=True) + [REST, TOTAL]
    print(f"  {'phase':<58} {f'fresh (n={nf})':>18} {f'after 100 loops (n={nl})':>26}")
    for k in names:
        f, l = fresh.get(k, 0.0), late.get(k, 0.0)
        print(f"  {k:<58} {ms(f):>9} ms {100 * f / fresh[TOTAL]:5.1f}% {ms(l):>16} ms {100 * l / late[TOTAL]:5.1f}%")
