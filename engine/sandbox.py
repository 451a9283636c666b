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
   (engine.sandbox_pool) with an address-space limit, a CPU limit, a wall-clock kill and size
   limits on what goes in and comes out (``LIMITS``), so even one C call that would allocate
   gigabytes or run for hours (``' '.ljust(10**9)``, a hash-colliding ``set(...)``) is stopped,
   and the web process never runs it. Only what engine.sandbox_inline proves cheap from the
   syntax tree (``approval_level == 'cfo'``) is evaluated in the calling process.

``evaluate_here`` and ``execute_here`` are layers 1-4 alone: what a worker runs.
"""
from __future__ import annotations

import ast
import sys
import textwrap
import time
from functools import lru_cache

from . import sandbox_limits
from .sandbox_limits import LIMIT_NAMES, Limits, LimitExceeded, SandboxError

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
#: Longest str/bytes/list/tuple that ``*`` may build, and longest ``range``.
MAX_SEQUENCE = 1_000_000
#: Largest exponent ``**`` accepts, and largest ``<<`` shift.
MAX_EXPONENT = 10_000
MAX_SHIFT = 10_000
#: Largest integer (in bits) that ``**``, ``*`` and ``<<`` may produce.
MAX_INT_BITS = 100_000

#: The process bounds of every evaluation (read at each call, so tests may replace them).
LIMITS: Limits = sandbox_limits.EXPRESSIONS
#: The bounds of a what-if replay as a whole.
JOB_LIMITS: Limits = sandbox_limits.JOBS
#: True inside a sandbox worker process: there everything runs here, under the worker's limits.
IN_WORKER = False

_FILENAME = "<sandbox>"


class _Abort(BaseException):
    """Raised by the tracer. A BaseException so that nothing in user code can swallow it."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


# --------------------------------------------------------------------------------------
# Safe builtins
# --------------------------------------------------------------------------------------

def _safe_range(*args):
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_SEQUENCE + 1
    if n > MAX_SEQUENCE:
        raise SandboxError(f"range of more than {MAX_SEQUENCE:,} items is not allowed")
    return r


def _safe_sum(iterable, /, start=0):
    # sum([[..], [..], ...], []) concatenates quadratically inside one C call.
    if isinstance(start, (str, bytes, bytearray, list, tuple)):
        raise SandboxError("sum() of sequences is not allowed; use a comprehension")
    return sum(iterable, start)


def _safe_pow(base, exp, mod=None):
    if mod is not None:
        # Modular exponentiation is cheap as long as the operands are of sane size.
        for v in (base, exp, mod):
            if isinstance(v, int) and v.bit_length() > MAX_INT_BITS:
                raise SandboxError("number too large")
        return pow(base, exp, mod)
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        if abs(exp) > MAX_EXPONENT:
            raise SandboxError("exponent too large")
        if isinstance(base, int) and isinstance(exp, int) and exp > 0:
            if base.bit_length() * exp > MAX_INT_BITS:
                raise SandboxError("exponent too large")
    return base ** exp


_SEQUENCES = (str, bytes, bytearray, list, tuple)


def _safe_mul(a, b):
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if ta is int and tb is int and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise SandboxError("number too large")
        return a * b
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        if len(a) * b > MAX_SEQUENCE:
            raise SandboxError(f"result longer than {MAX_SEQUENCE:,} items is not allowed")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        if len(b) * a > MAX_SEQUENCE:
            raise SandboxError(f"result longer than {MAX_SEQUENCE:,} items is not allowed")
    elif isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise SandboxError("number too large")
    return a * b


def _safe_lshift(a, b):
    if isinstance(b, int):
        if b > MAX_SHIFT:
            raise SandboxError("shift too large")
        if isinstance(a, int) and a.bit_length() + b > MAX_INT_BITS:
            raise SandboxError("number too large")
    return a << b


# What is deliberately NOT here, and why:
#   open, input, print, help, breakpoint, exit, quit, license, credits: I/O, the
#       interpreter's console, or process exit.
#   __import__, exec, eval, compile: load modules or run unchecked code.
#   getattr, setattr, delattr, hasattr, vars, dir, globals, locals: reach attributes or
#       namespaces by a string, which bypasses the static check on "_" names.
#   type, object, super, classmethod, staticmethod, property, issubclass: reach or build
#       classes (type(x).__subclasses__ style escapes, metaclass tricks).
#   memoryview, bytearray, id: raw memory views and addresses.
#   format: format(x, '1000000000') builds a huge string in one C call.
#   iter, next: iter(callable, sentinel) is an endless iterator that list() would
#       drain inside one C call, beyond the step limit.
#   pow: replaced by the guarded _safe_pow below; range and sum by guarded versions.
#   Exception classes: not offered, and try statements are refused (see check()).
SAFE_BUILTINS: dict = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "dict": dict,
    "divmod": divmod,
    "enumerate": enumerate,
    "filter": filter,
    "float": float,
    "frozenset": frozenset,
    "int": int,
    "isinstance": isinstance,
    "len": len,
    "list": list,
    "map": map,
    "max": max,
    "min": min,
    "pow": _safe_pow,
    "range": _safe_range,
    "reversed": reversed,
    "round": round,
    "set": set,
    "sorted": sorted,
    "str": str,
    "sum": _safe_sum,
    "tuple": tuple,
    "zip": zip,
    "True": True,
    "False": False,
    "None": None,
}

# --------------------------------------------------------------------------------------
# Static check
# --------------------------------------------------------------------------------------

FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals",
    "locals", "vars", "dir", "__import__", "breakpoint", "help", "memoryview",
    "object", "super", "classmethod", "staticmethod", "property", "exit", "quit",
    "hasattr",
})
# Not here: type, input and id, common words in diagrams' data (a deal's `type`, a table's `input`):
# they are data names, since no namespace offers those builtins (see SAFE_BUILTINS).

FORBIDDEN_ATTRIBUTES = frozenset({
    # str.format / format_map walk attributes named inside the format string.
    "format", "format_map",
    "mro",
    # Frames, code objects and tracebacks lead to globals and builtins.
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await",
    "ag_frame", "ag_code", "ag_await", "f_globals", "f_locals", "f_builtins", "f_back",
    "f_code", "f_trace", "tb_frame", "tb_next", "func_globals", "func_code",
    "co_code", "co_consts",
})

_REFUSED_NODES = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.Global: "global statements are not allowed",
    ast.Nonlocal: "nonlocal statements are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.AsyncFunctionDef: "async code is not allowed",
    ast.AsyncFor: "async code is not allowed",
    ast.AsyncWith: "async code is not allowed",
    ast.Await: "async code is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    # When the step/time limit fires, CPython removes the trace function; a finally or
    # except block would then run unbounded. No exception classes are offered anyway.
    ast.Try: "try statements are not allowed",
    ast.With: "with statements are not allowed",
}
if hasattr(ast, "TryStar"):  # 3.11+
    _REFUSED_NODES[ast.TryStar] = "try statements are not allowed"


def _where(node) -> str:
    line = getattr(node, "lineno", None)
    return f" (line {line})" if line else ""


def _refuse(message: str, node) -> SandboxError:
    return SandboxError(message + _where(node), getattr(node, "lineno", None))


def _check_name(name: str | None, node) -> None:
    if name and (name.startswith("_") or name in FORBIDDEN_NAMES):
        raise _refuse(f"name '{name}' is not allowed", node)


def _check_attribute(attr: str, node) -> None:
    if attr.startswith("_") or attr in FORBIDDEN_ATTRIBUTES:
        raise _refuse(f"attribute '{attr}' is not allowed", node)


def _check_size(source: str, mode: str) -> None:
    if not isinstance(source, str):
        raise SandboxError(f"expected source text, got {type(source).__name__}")
    most = LIMITS.expression_chars if mode == "eval" else LIMITS.script_chars
    if len(source) > most:
        what = "expression" if mode == "eval" else "script"
        raise LimitExceeded("size", f"the {what} is {len(source):,} characters long; "
                                    f"the sandbox's size limit is {most:,}")


def _parse(source: str, mode: str) -> ast.AST:
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    _check_size(source, mode)
    shift = 0
    if mode == "eval":
        stripped = source.lstrip()
        shift = source[: len(source) - len(stripped)].count("\n")
        text = stripped.rstrip()
        if not text:
            raise SandboxError("empty expression")
    else:
        text = textwrap.dedent(source)
    try:
        tree = ast.parse(text, filename=_FILENAME, mode=mode)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + shift
        where = f" (line {line}, column {exc.offset})" if exc.offset else f" (line {line})"
        raise SandboxError(f"syntax error: {exc.msg}{where}", line) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise SandboxError(f"cannot parse: {exc}") from None
    if shift:
        ast.increment_lineno(tree, shift)
    return tree


def _check_tree(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        t = type(node)
        if t is ast.Name:
            _check_name(node.id, node)
        elif t is ast.Attribute:
            _check_attribute(node.attr, node)
            if not isinstance(node.ctx, ast.Load):
                raise _refuse("assigning or deleting attributes is not allowed", node)
        elif t in _REFUSED_NODES:
            raise _refuse(_REFUSED_NODES[t], node)
        elif t is ast.arg:
            _check_name(node.arg, node)
        elif t is ast.keyword:
            if node.arg and node.arg.startswith("_"):
                raise _refuse(f"keyword argument '{node.arg}' is not allowed", node)
        elif t is ast.FunctionDef:
            _check_name(node.name, node)
        elif t is ast.MatchAs or t is ast.MatchStar:
            _check_name(node.name, node)
        elif t is ast.MatchMapping:
            _check_name(node.rest, node)
        elif t is ast.MatchClass:
            for attr in node.kwd_attrs:  # case C(attr=...) reads an attribute by name
                _check_attribute(attr, node)


def check(source: str, mode: str = "eval") -> None:
    """Refuse source that is not valid, or uses anything the sandbox does not allow."""
    _check_tree(_parse(source, mode))


# --------------------------------------------------------------------------------------
# Transform and compile
# --------------------------------------------------------------------------------------

_OP_HELPERS = {ast.Pow: "_sg_pow", ast.Mult: "_sg_mul", ast.LShift: "_sg_lshift"}
_TRACED_NODES = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
                 ast.GeneratorExp, ast.Lambda, ast.FunctionDef)


class _Transformer(ast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        helper = _OP_HELPERS.get(type(node.op))
        if helper is None:
            return node
        return ast.copy_location(
            ast.Call(ast.Name(helper, ast.Load()), [node.left, node.right], []), node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        helper = _OP_HELPERS.get(type(node.op))
        if helper is None:
            return node
        target = node.target
        if isinstance(target, ast.Name):
            current = ast.Name(target.id, ast.Load())
        else:  # Subscript: the container and index are evaluated twice
            current = ast.Subscript(target.value, target.slice, ast.Load())
        value = ast.Call(ast.Name(helper, ast.Load()), [current, node.value], [])
        return ast.copy_location(ast.Assign([target], value), node)

    def visit_Lambda(self, node):
        self.generic_visit(node)
        return ast.copy_location(ast.Call(ast.Name("_sg_fn", ast.Load()), [node], []), node)

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        # Innermost decorator, so no user decorator ever sees the unguarded function.
        node.decorator_list.append(ast.Name("_sg_fn", ast.Load()))
        return node

    def visit_While(self, node):
        # `while True: pass` compiles to a jump onto itself, which CPython 3.11 does not
        # report as a 'line' event; a name lookup at the top of the body makes it do so.
        self.generic_visit(node)
        tick = ast.copy_location(ast.Expr(ast.Name("_sg_tick", ast.Load())), node)
        node.body.insert(0, tick)
        return node

    def visit_GeneratorExp(self, node):
        # Eager, so no suspended sandbox frame can be resumed after (or outside) the run.
        self.generic_visit(node)
        return ast.copy_location(ast.ListComp(node.elt, node.generators), node)


@lru_cache(maxsize=4096)
def _prepare(source: str, mode: str):
    """(code, traced) for source: checked, transformed, compiled. Cached."""
    tree = _parse(source, mode)
    _check_tree(tree)
    traced = mode == "exec" or any(isinstance(n, _TRACED_NODES) for n in ast.walk(tree))
    try:
        tree = ast.fix_missing_locations(_Transformer().visit(tree))
        code = compile(tree, _FILENAME, mode)
    except SyntaxError as exc:  # e.g. 'return' outside function
        raise SandboxError(f"syntax error: {exc.msg} (line {exc.lineno})", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise SandboxError("expression is too deeply nested") from None
    return code, traced


def compile_restricted(source: str, mode: str = "eval"):
    """Check, transform and compile source; the code object is cached per (source, mode)."""
    return _prepare(source, mode)[0]


compile_restricted.cache_info = _prepare.cache_info
compile_restricted.cache_clear = _prepare.cache_clear

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
    "_sg_pow": _safe_pow,
    "_sg_mul": _safe_mul,
    "_sg_lshift": _safe_lshift,
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
            if tb.tb_frame.f_code.co_filename == _FILENAME:
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
    code, traced = _prepare(expression, "eval")
    return _run(code, _namespace(context, extra), traced, "eval")


def execute_here(script: str, context: dict, extra: dict | None = None) -> None:
    """Run script in this process; the variables it assigns (or deletes) are written back to context.

    Helpers from extra, builtins, and functions the script defines are not written back.
    If the script fails, context is left as it was.
    """
    code, _ = _prepare(script, "exec")  # scripts are always traced
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
    tree = _parse(source, mode)
    _check_tree(tree)
    names = _free_names(tree)
    inline = sandbox_inline.classify(tree, len(source)) if mode == "eval" else None
    return names, inline


def evaluate(expression: str, context: dict, extra: dict | None = None):
    """The value of expression, with context's variables and extra's helpers in scope, as plain data.

    Runs in a sandbox worker process under LIMITS unless proven cheap (engine.sandbox_inline);
    context is not changed. SandboxError says why it failed; LimitExceeded which bound it hit.
    """
    _check_size(expression, "eval")
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
    _check_size(script, "exec")
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
    tree = _parse(expression, "eval")
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


from . import sandbox_inline, sandbox_pool  # noqa: E402 - both use this module's guards
