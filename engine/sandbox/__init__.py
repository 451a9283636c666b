"""Restricted Python for BPMN conditions, DMN cells and script tasks.

Diagram authors write small Python expressions ("amount > 5") and scripts. They are
not trusted: this module makes sure they can only compute with the data they are
given, and only for a bounded amount of work.

Defence in layers:

1. ``check``: a static pass over the syntax tree refuses source longer than the size limit
   (before parsing it), imports, every name or attribute beginning with ``_`` (which closes the
   whole ``().__class__.__base__`` family), a list of dangerous builtin names and attributes
   (``format`` for the ``'{0.__class__}'.format(x)`` escape, frame/generator internals),
   classes, global/nonlocal, async/yield, try and with statements, and assigning attributes.
2. ``compile_restricted``: an AST transform routes ``**``, ``*`` and ``<<`` (and their
   augmented forms) through helpers that refuse results large enough to exhaust
   memory or CPU inside a single C call; wraps every lambda/def so it refuses to run
   outside a bounded sandbox run; turns generator expressions into list
   comprehensions so no lazy sandbox code can outlive the run that created it.
3. ``SAFE_BUILTINS``: the only builtins reachable; nothing that reaches the file
   system, the interpreter, attributes by name, or types' internals.
4. A step and wall-clock bound via ``sys.settrace`` for anything that can loop.
5. The process: ``evaluate`` and ``execute`` run the code in a worker process
   (engine.sandbox.pool) with an address-space limit, a CPU limit, a wall-clock kill and size
   limits on what goes in and comes out (``LIMITS``), so even one C call that would allocate
   gigabytes or run for hours (``' '.ljust(10**9)``, a hash-colliding ``set(...)``) is stopped,
   and the web process never runs it. Only what engine.sandbox.inline proves cheap from the
   syntax tree (``approval_level == 'cfo'``) is evaluated in the calling process.

``evaluate_here`` and ``execute_here`` are layers 1-4 alone: what a worker runs.
"""
from __future__ import annotations

import ast
import sys
import time
from functools import lru_cache

from engine.sandbox import limits as sandbox_limits
from engine.sandbox.limits import LIMIT_NAMES, Limits, LimitExceeded, SandboxError
from engine.sandbox.check import FILENAME, check, check_size, check_tree, compile_restricted, parse, prepare
from engine.sandbox.safe_builtins import SAFE_BUILTINS, safe_lshift, safe_mul, safe_pow

__all__ = [
    "JOB_LIMITS",
    "LIMIT_NAMES",
    "LIMITS",
    "MAX_STEPS",
    "TIME_LIMIT",
    "SAFE_BUILTINS",
    "LimitExceeded",
    "Limits",
    "SandboxError",
    "check",
    "compile_restricted",
    "evaluate",
    "evaluate_here",
    "execute",
    "execute_here",
    "names_read",
    "register_bounded",
]

#: Trace events (calls, lines, returns) one traced run may take.
MAX_STEPS = 100_000
#: Wall-clock seconds one traced run may take (read at each run, so it can be patched).
TIME_LIMIT = 1.0

#: The process bounds of every evaluation (read at each call, so tests may replace them).
LIMITS: Limits = sandbox_limits.EXPRESSIONS
#: The bounds of a what-if replay as a whole.
JOB_LIMITS: Limits = sandbox_limits.JOBS
#: True inside a sandbox worker process: there everything runs here, under the worker's limits.
IN_WORKER = False



class _Abort(BaseException):
    """Raised by the tracer. A BaseException so that nothing in user code can swallow it."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def _make_tracer(max_steps: int, time_limit: float):
    deadline = time.monotonic() + time_limit
    steps = 0
    monotonic = time.monotonic

    def tracer(frame, event, arg):
        nonlocal steps
        steps += 1
        if steps > max_steps:
            raise _Abort("steps", "step limit exceeded")
        if monotonic() > deadline:
            raise _Abort("wall", f"time limit of {time_limit} s exceeded")
        return tracer

    return tracer


_TRACER_CODE = _make_tracer(1, 1.0).__code__


def _guard_function(fn):
    """Wrap a function defined in sandboxed code: it only runs under a sandbox tracer.

    A lambda could otherwise escape into data (a list in the context) and later be
    called by an untraced expression, e.g. max(xs, key=fns[0]), without any limit.
    """

    def sandboxed_function(*args, **kwargs):
        if getattr(sys.gettrace(), "__code__", None) is not _TRACER_CODE:
            raise SandboxError("functions defined in a script can only be called while it runs")
        return fn(*args, **kwargs)

    sandboxed_function.__name__ = getattr(fn, "__name__", "<lambda>")
    return sandboxed_function


_HELPERS = {
    "_sg_pow": safe_pow,
    "_sg_mul": safe_mul,
    "_sg_lshift": safe_lshift,
    "_sg_fn": _guard_function,
    "_sg_tick": None,
}


def _runtime_error(exc: BaseException, mode: str) -> SandboxError:
    if isinstance(exc, LimitExceeded):
        return exc
    if isinstance(exc, SandboxError):
        message = exc.message
    elif isinstance(exc, RecursionError):
        message = "recursion too deep"
    elif isinstance(exc, MemoryError):
        return LimitExceeded("memory", sandbox_limits.stopped("memory", LIMITS.memory_mb, "MB")
                             + " (out of memory)")
    else:
        text = str(exc).replace("\n", " ").strip()
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    line = None
    if mode == "exec":
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
        if line and "(line " not in message:
            message += f" (line {line})"
    return SandboxError(message, line)


def _run(code, namespace: dict, traced: bool, mode: str):
    try:
        if not traced:
            return eval(code, namespace)
        previous = sys.gettrace()
        sys.settrace(_make_tracer(MAX_STEPS, TIME_LIMIT))
        try:
            return eval(code, namespace)
        finally:
            sys.settrace(previous)
    except _Abort as exc:
        raise LimitExceeded(exc.limit, str(exc)) from None
    except Exception as exc:
        raise _runtime_error(exc, mode) from exc


def _namespace(context, extra) -> dict:
    namespace = {**extra, **context} if extra else dict(context)
    namespace["__builtins__"] = SAFE_BUILTINS
    namespace.update(_HELPERS)
    return namespace


def evaluate_here(expression: str, context: dict, extra: dict | None = None):
    """The value of expression in this process, bounded by layers 1-4 only (what a worker runs).

    context is not changed.
    """
    code, traced = prepare(expression, "eval")
    return _run(code, _namespace(context, extra), traced, "eval")


def execute_here(script: str, context: dict, extra: dict | None = None) -> None:
    """Run script in this process; the variables it assigns (or deletes) are written back to context.

    Helpers from extra, builtins, and functions the script defines are not written back.
    If the script fails, context is left as it was.
    """
    code, _ = prepare(script, "exec")  # scripts are always traced
    namespace = _namespace(context, extra)
    _run(code, namespace, True, "exec")
    for key in [k for k in context if k not in namespace]:
        del context[key]  # the script deleted it
    for key, value in namespace.items():
        existed = key in context
        if existed and context[key] is value:
            continue
        if key.startswith("_") and not existed:
            continue  # __builtins__, helpers, __annotations__
        if extra and not existed and key in extra and extra[key] is value:
            continue  # an untouched helper
        if callable(value):
            if existed:
                del context[key]
            continue  # functions are not data
        context[key] = value


# --------------------------------------------------------------------------------------
# The entry points: inline what is proven cheap, everything else in a worker process
# --------------------------------------------------------------------------------------


def _free_names(tree) -> frozenset:
    # Every name the code mentions: it can reach no other variable (no globals(), vars(),
    # eval or attribute tricks), so these are all the data a worker needs to be sent.
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


@lru_cache(maxsize=4096)
def _analyse(source: str, mode: str):
    """(names, inline plan or None) for checked source; the static check runs here, in the caller."""
    tree = parse(source, mode)
    check_tree(tree)
    names = _free_names(tree)
    inline = sandbox_inline.classify(tree, len(source)) if mode == "eval" else None
    return names, inline


def evaluate(expression: str, context: dict, extra: dict | None = None):
    """The value of expression, with context's variables and extra's helpers in scope, as plain data.

    Runs in a sandbox worker process under LIMITS unless proven cheap (engine.sandbox.inline);
    context is not changed. SandboxError says why it failed; LimitExceeded which bound it hit.
    """
    check_size(expression, "eval")
    if IN_WORKER:
        return evaluate_here(expression, context, extra)
    names, inline = _analyse(expression, "eval")
    if inline is not None:
        try:
            return inline.run(context, extra)
        except sandbox_inline.NotCheap:
            pass
    return sandbox_pool.expressions().evaluate(expression, names, context, extra, LIMITS)


def execute(script: str, context: dict, extra: dict | None = None) -> None:
    """Run script in a sandbox worker process under LIMITS; what it assigns or deletes is written
    back to context (plain data only: a script that leaves a set or a function in a variable fails).

    Helpers from extra, builtins, and functions the script defines are not written back.
    If the script fails, context is left as it was.
    """
    check_size(script, "exec")
    if IN_WORKER:
        execute_here(script, context, extra)
        return
    names, _ = _analyse(script, "exec")
    sandbox_pool.expressions().execute(script, names, context, extra, LIMITS)


def register_bounded(name: str, fn) -> None:
    """Let cheap expressions call helper `fn` in-process: its cost must be bounded for any small
    arguments (the composition root vouches for each)."""
    sandbox_inline.register_bounded(name, fn)
    _analyse.cache_clear()


# --------------------------------------------------------------------------------------
# Audit support
# --------------------------------------------------------------------------------------


def _target_names(target) -> set:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


@lru_cache(maxsize=4096)
def _names_read(expression: str) -> tuple:
    tree = parse(expression, "eval")
    found: set = set()
    walrus = {n.target.id for n in ast.walk(tree) if isinstance(n, ast.NamedExpr)}

    def visit(node, bound):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in bound:
                found.add(node.id)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = set(bound)
            for i, gen in enumerate(node.generators):
                visit(gen.iter, bound if i == 0 else inner)
                inner |= _target_names(gen.target)
                for cond in gen.ifs:
                    visit(cond, inner)
            if isinstance(node, ast.DictComp):
                visit(node.key, inner)
                visit(node.value, inner)
            else:
                visit(node.elt, inner)
            return
        if isinstance(node, ast.Lambda):
            args = node.args
            for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
                visit(default, bound)
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
            visit(node.body, bound | params)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, bound)

    try:
        visit(tree, frozenset())
    except RecursionError:
        raise SandboxError("expression is too deeply nested") from None
    return tuple(sorted(found - walrus - SAFE_BUILTINS.keys()))


def names_read(expression: str) -> list[str]:
    """Sorted variable names the expression reads (not builtins, not its own loop variables)."""
    return list(_names_read(expression))


from engine.sandbox import inline as sandbox_inline, pool as sandbox_pool  # noqa: E402 - both use this module's guards
