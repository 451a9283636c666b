"""The sandbox's worker processes, as the web process sees them: send code and plain data, get
plain data back, or a LimitExceeded naming the bound that stopped it.

Each server process has one pool of reusable workers (STAGEGATE_SANDBOX_WORKERS, default 2) for
expressions and scripts, and one worker for jobs such as the what-if replay. Workers are forked
by a fork server that has already imported what they need (a fork of the threaded web process
itself would be unsafe), set their own address-space and CPU limits before each evaluation, and
die with the process that uses them. The parent kills a worker that runs past the wall-clock or
CPU-time limit, even inside one C call, and the next evaluation gets a fresh worker; the thread
that waited gets LimitExceeded, and every other thread of the server goes on meanwhile.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections import Counter
from contextlib import contextmanager

from engine.sandbox import limits as sandbox_limits, wire as sandbox_wire
from engine.sandbox.limits import LimitExceeded, Limits, SandboxError, stopped
from engine.clock import current_now

#: Seconds a new worker may take to start (the first also starts the fork server).
STARTUP_SECONDS = 60.0
#: Evaluations a worker serves before it is replaced (defence in depth; a fork costs ~5 ms).
MAX_USES = 1000
_POLL = 0.05  # seconds between CPU-time readings while an evaluation runs
_REPLY_SLACK = 4096  # bytes of envelope around a result of the largest allowed size
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


_preload: list[str] = []


def preload(*modules: str) -> None:
    """Have every worker import `modules` before it serves (the composition root names itself: the
    domain it installs, the helpers diagrams call, the jobs). The fork server imports them once,
    before it forks any worker; call this before the first worker starts."""
    _preload.extend(m for m in modules if m not in _preload)


def _context():
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["engine.sandbox.worker", *_preload])
    return ctx


_start_lock = threading.Lock()


@contextmanager
def _main_module_hidden():
    """multiprocessing re-runs the parent's __main__ (pytest, gunicorn's script) in every child it
    starts; a worker needs none of it, and the fork server already imported what it does need."""
    with _start_lock:
        main = sys.modules.get("__main__")
        blank = types.ModuleType("__main__")
        blank.__spec__ = None
        sys.modules["__main__"] = blank
        try:
            yield
        finally:
            sys.modules["__main__"] = main


class _Worker:
    __slots__ = ("process", "conn", "uses")

    def __init__(self, process, conn):
        self.process = process
        self.conn = conn
        self.uses = 0

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used (user + system), from /proc; None where there is none."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            return None

    def kill(self) -> None:
        try:
            os.kill(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, TypeError):
            pass
        self.close()

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        self.process.join(1)


class WorkerPool:
    """Up to `size` worker processes, each used by one caller at a time."""

    def __init__(self, name: str, size: int):
        self.name = name
        self.size = size
        self.stats = Counter()  # started, killed, replaced, evaluations
        self._idle: list[_Worker] = []
        self._live = 0  # idle + busy + starting
        self._cond = threading.Condition()
        self._closed = False
        self._ctx = _context()

    # -- workers ----------------------------------------------------------------------------
    def _start(self) -> _Worker:
        from engine import sandbox

        hard_mb = max(sandbox.LIMITS.memory_mb, sandbox.JOB_LIMITS.memory_mb)
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, hard_mb, tuple(_preload)), daemon=True,
                                    name=f"stagegate-sandbox-{self.name}")
        with _main_module_hidden():
            process.start()
        child.close()
        worker = _Worker(process, parent)
        if not parent.poll(STARTUP_SECONDS):
            worker.kill()
            raise SandboxError("a sandbox worker process did not start in time")
        try:
            parent.recv_bytes(64)
        except (EOFError, OSError):
            worker.close()
            raise SandboxError(f"a sandbox worker process could not start (exit code {process.exitcode})") from None
        self.stats["started"] += 1
        return worker

    def _checkout(self, wait: float) -> _Worker:
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxError("the sandbox is shut down")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.size:
                    self._live += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LimitExceeded("busy", f"all {self.size} sandbox worker processes stayed busy for "
                                                f"{wait:g} s; try again")
                self._cond.wait(left)
        try:
            return self._start()
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise

    def _checkin(self, worker: _Worker) -> None:
        worker.uses += 1
        if worker.uses >= MAX_USES:
            self._discard(worker, kill=False)
            return
        with self._cond:
            if self._closed:
                worker.close()
                return
            self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker, kill: bool = True) -> None:
        if kill:
            worker.kill()
            self.stats["killed"] += 1
        else:
            worker.close()
        with self._cond:
            self._live -= 1
            self._cond.notify()

    def close(self) -> None:
        """Stop every worker (idle ones now; busy ones when their caller hands them back)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    # -- one request ------------------------------------------------------------------------
    def call(self, request: dict, limits: Limits) -> dict:
        """Send a request, wait for its reply under the limits; the reply's fields, or an error."""
        from engine import sandbox

        request = {**request, "now": current_now().isoformat(), "limits": limits.as_dict(),
                   "steps": sandbox.MAX_STEPS, "time": sandbox.TIME_LIMIT}
        try:
            payload = sandbox_wire.dumps(request)
        except (TypeError, ValueError) as exc:
            raise SandboxError(f"the deal's data cannot be sent to the sandbox: {exc}") from None
        if len(payload) > limits.input_bytes:
            raise LimitExceeded("size", f"the data sent to the sandbox is {len(payload):,} bytes; "
                                        f"the sandbox's size limit is {limits.input_bytes:,}")
        worker = self._checkout(max(limits.wall_seconds, 1.0) * 2)
        self.stats["evaluations"] += 1
        try:
            raw = self._round_trip(worker, payload, limits)
        except BaseException:
            self._discard(worker)
            raise
        try:
            reply = sandbox_wire.loads(raw)
            ok, error = reply.get("ok"), reply.get("error")
            if not ok and not isinstance(error, str):
                raise SandboxError("unreadable message (no error)")
        except SandboxError as exc:
            self._discard(worker)
            raise SandboxError(f"the sandbox worker sent an {exc}") from None
        if reply.get("retire"):
            self._discard(worker)
        else:
            self._checkin(worker)
        if ok:
            return reply
        line = reply.get("line") if isinstance(reply.get("line"), int) else None
        limit = reply.get("limit")
        if limit in sandbox_limits.LIMIT_NAMES:
            raise LimitExceeded(limit, error[:2000], line)
        raise SandboxError(error[:2000], line)

    def _round_trip(self, worker: _Worker, payload: bytes, limits: Limits) -> bytes:
        started = time.monotonic()
        cpu_before = worker.cpu_seconds()
        try:
            worker.conn.send_bytes(payload)
            while True:
                left = started + limits.wall_seconds - time.monotonic()
                if left <= 0:
                    raise LimitExceeded("wall", stopped("wall", limits.wall_seconds, "s"))
                if worker.conn.poll(min(left, _POLL)):
                    return worker.conn.recv_bytes(limits.result_bytes + _REPLY_SLACK)
                used = worker.cpu_seconds()
                if cpu_before is not None and used is not None and used - cpu_before > limits.cpu_seconds:
                    raise LimitExceeded("cpu", stopped("cpu", limits.cpu_seconds, "s"))
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise self._death(worker, limits) from None
        except OSError:  # recv_bytes: the reply is longer than allowed
            raise LimitExceeded("size", f"the result is larger than the sandbox's size limit of "
                                        f"{limits.result_bytes:,} bytes") from None

    def _death(self, worker: _Worker, limits: Limits) -> SandboxError:
        worker.process.join(2)
        code = worker.process.exitcode
        if code == -signal.SIGXCPU:
            return LimitExceeded("cpu", stopped("cpu", limits.cpu_seconds, "s"))
        if code == -signal.SIGKILL:
            return LimitExceeded("memory", stopped("memory", limits.memory_mb, "MB")
                                 + " (the system killed the worker)")
        return SandboxError(f"the sandbox worker process stopped unexpectedly (exit code {code})")

    # -- the requests -----------------------------------------------------------------------
    def evaluate(self, expression: str, names, context: dict, extra: dict | None, limits: Limits):
        """The value of an expression, evaluated in a worker."""
        return self.call({"op": "eval", "source": expression, **_scope(names, context, extra)}, limits)["value"]

    def execute(self, script: str, names, context: dict, extra: dict | None, limits: Limits) -> None:
        """Run a script in a worker and apply what it changed to context (nothing if it fails)."""
        reply = self.call({"op": "exec", "source": script, **_scope(names, context, extra)}, limits)
        changed, deleted = reply.get("changed"), reply.get("deleted")
        if not isinstance(changed, dict) or not isinstance(deleted, list):
            raise SandboxError("the sandbox worker sent an unreadable message (no changes)")
        for key in deleted:
            context.pop(key, None)
        context.update(changed)

    def run_job(self, job: str, payload: dict, helpers: dict, limits: Limits):
        """The plain result of job function `job` ('module:name') on payload, run in a worker."""
        refs = {name: sandbox_wire.helper_ref(name, fn) for name, fn in helpers.items()}
        return self.call({"op": "job", "job": job, "payload": payload, "helpers": refs}, limits)["value"]


def _scope(names, context: dict, extra: dict | None) -> dict:
    """The data and helpers among `names` (what the code mentions), as a request carries them."""
    data, more, helpers = {}, {}, {}
    for name in names:
        if name in context:
            data[name] = context[name]
        elif extra and name in extra:
            value = extra[name]
            if callable(value):
                helpers[name] = sandbox_wire.helper_ref(name, value)
            else:
                more[name] = value
    return {"data": data, "extra": more, "helpers": helpers}


def _worker_main(conn, hard_memory_mb, modules=()):
    from engine.sandbox.worker import main

    main(conn, hard_memory_mb, modules)


# -- the process's pools ----------------------------------------------------------------------

_pools: dict[str, WorkerPool] = {}
_owner_pid: int | None = None
_users = 0
_lock = threading.Lock()


def _shared(kind: str, size: int) -> WorkerPool:
    global _owner_pid
    with _lock:
        if _owner_pid != os.getpid():
            _pools.clear()  # forked: the workers belong to the parent process
            _owner_pid = os.getpid()
        pool = _pools.get(kind)
        if pool is None:
            pool = _pools[kind] = WorkerPool(kind, size)
        return pool


def expressions() -> WorkerPool:
    """This process's pool for expressions and scripts (workers start on first use)."""
    return _shared("expressions", sandbox_limits.pool_size())


def jobs() -> WorkerPool:
    """This process's worker for jobs (one at a time)."""
    return _shared("jobs", 1)


def acquire() -> None:
    """A Stagegate will use the pools (the composition root calls this)."""
    global _users
    with _lock:
        _users += 1


def release() -> None:
    """A Stagegate is done; the last one out stops the workers (they start again when needed)."""
    global _users
    with _lock:
        _users = max(0, _users - 1)
        last = _users == 0
    if last:
        close_all()


def close_all() -> None:
    """Stop every worker of this process."""
    with _lock:
        pools = list(_pools.values()) if _owner_pid == os.getpid() else []
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_all)
