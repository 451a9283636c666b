"""A sandbox worker process: runs diagram code sent by engine.sandbox.pool, under hard limits.

Before each request it sets its own address-space limit (RLIMIT_AS) and a CPU-time limit
(RLIMIT_CPU: SIGXCPU ends the process) from the request; the parent adds the wall-clock kill and
its own CPU accounting. Only plain JSON comes in and goes out. It dies with the process that
uses it (PR_SET_PDEATHSIG), and leaves no core dumps.

Imported by the fork server before any worker is forked, with the modules the composition root
asked the pool to preload (engine.sandbox.pool.preload: the domain, the helpers diagrams call,
the what-if replay); a worker started without a fork server imports them itself.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import math
import os
import resource
import signal
from datetime import datetime

from engine import sandbox
from engine.sandbox import wire as sandbox_wire
from engine.clock import FrozenClock, clock_in_use
from engine.sandbox.limits import MB, LimitExceeded, Limits, SandboxError, stopped

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's pipe closing still ends the loop
        pass


def _set_limits(limits: Limits) -> None:
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = limits.memory_mb * MB if hard == resource.RLIM_INFINITY else min(limits.memory_mb * MB, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    used = sum(os.times()[:2])
    # Whole seconds only; the parent's own accounting stops it at the exact limit first.
    soft = math.ceil(used + limits.cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _changes(before: dict, after: dict) -> dict:
    """What a script changed in the data it was sent: the new values (plain) and the names it deleted."""
    changed = {}
    for key, value in after.items():
        value = sandbox_wire.plain(value, f"the variable `{key}`")
        if key not in before or _canonical(value) != before[key]:
            changed[key] = value
    return {"changed": changed, "deleted": [k for k in before if k not in after]}


def _canonical(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _run(request: dict) -> dict:
    op = request["op"]
    now = datetime.fromisoformat(request["now"])
    with clock_in_use(FrozenClock(now)):
        if op == "job":
            helpers = sandbox_wire.resolve_helpers(request["helpers"])
            job = sandbox_wire.resolve(request["job"])
            return {"value": sandbox_wire.plain(job(request["payload"], helpers))}
        extra = {**request["extra"], **sandbox_wire.resolve_helpers(request["helpers"])}
        data = request["data"]
        if op == "eval":
            return {"value": sandbox_wire.plain(sandbox.evaluate_here(request["source"], data, extra))}
        before = {k: _canonical(v) for k, v in data.items()}
        sandbox.execute_here(request["source"], data, extra)
        return _changes(before, data)


def handle(raw: bytes) -> tuple[bytes, bool]:
    """The reply to one request, and whether this worker should stop after sending it."""
    retire = False
    try:
        request = sandbox_wire.loads(raw)
        limits = Limits(**request["limits"])
        sandbox.LIMITS = sandbox.LIMITS.with_(**request["limits"])
        sandbox.MAX_STEPS, sandbox.TIME_LIMIT = request["steps"], request["time"]
        _set_limits(limits)
        reply = {"ok": True, **_run(request)}
        body = sandbox_wire.dumps(reply)
        if len(body) > limits.result_bytes:
            reply = {"ok": False, "limit": "size", "error": f"the result is {len(body):,} bytes; "
                                                            f"the sandbox's size limit is {limits.result_bytes:,}"}
        else:
            return body, False
    except LimitExceeded as exc:
        retire = exc.limit == "memory"
        reply = {"ok": False, "limit": exc.limit, "error": exc.message, "line": exc.lineno}
    except SandboxError as exc:
        reply = {"ok": False, "error": exc.message, "line": exc.lineno}
    except MemoryError:
        retire = True
        reply = {"ok": False, "limit": "memory", "error": stopped("memory", sandbox.LIMITS.memory_mb, "MB")}
    except RecursionError:
        reply = {"ok": False, "error": "nested too deeply"}
    except Exception as exc:  # noqa: BLE001 - a failing job or helper is reported, the worker goes on
        text = str(exc).replace("\n", " ").strip()
        reply = {"ok": False, "error": f"{type(exc).__name__}: {text}" if text else type(exc).__name__}
    retire = retire or reply.get("limit") == "memory"
    reply["retire"] = retire
    return sandbox_wire.dumps(reply), retire


def main(conn, hard_memory_mb: int, modules=()) -> None:
    """Serve requests on `conn` until the parent closes it; `modules` are imported first."""
    _die_with_parent()
    if os.getppid() == 1:
        return  # the parent is already gone
    for name in modules:
        importlib.import_module(name)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    inherited = resource.getrlimit(resource.RLIMIT_AS)[1]
    hard = hard_memory_mb * MB if inherited == resource.RLIM_INFINITY else min(hard_memory_mb * MB, inherited)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    sandbox.IN_WORKER = True
    conn.send_bytes(b'{"ready":true}')
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply, retire = handle(raw)
        try:
            conn.send_bytes(reply)
        except (OSError, ValueError):
            return
        if retire:
            return
