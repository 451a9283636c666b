"""The static check on diagram code, then its transform and compilation: what the sandbox refuses
before anything runs (imports, `_` names, dangerous builtins and attributes, classes, try...),
and the code it runs instead (guarded `**`, `*`, `<<`, traced loops and functions)."""
from __future__ import annotations

import ast
import textwrap
from functools import lru_cache

from engine.sandbox.limits import LimitExceeded, SandboxError

FILENAME = "<sandbox>"

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


def check_size(source: str, mode: str) -> None:
    if not isinstance(source, str):
        raise SandboxError(f"expected source text, got {type(source).__name__}")
    from engine import sandbox  # its LIMITS, read at each call (tests and the worker replace them)

    most = sandbox.LIMITS.expression_chars if mode == "eval" else sandbox.LIMITS.script_chars
    if len(source) > most:
        what = "expression" if mode == "eval" else "script"
        raise LimitExceeded("size", f"the {what} is {len(source):,} characters long; "
                                    f"the sandbox's size limit is {most:,}")


def parse(source: str, mode: str) -> ast.AST:
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    check_size(source, mode)
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
        tree = ast.parse(text, filename=FILENAME, mode=mode)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + shift
        where = f" (line {line}, column {exc.offset})" if exc.offset else f" (line {line})"
        raise SandboxError(f"syntax error: {exc.msg}{where}", line) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise SandboxError(f"cannot parse: {exc}") from None
    if shift:
        ast.increment_lineno(tree, shift)
    return tree


def check_tree(tree: ast.AST) -> None:
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
    check_tree(parse(source, mode))


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
def prepare(source: str, mode: str):
    """(code, traced) for source: checked, transformed, compiled. Cached."""
    tree = parse(source, mode)
    check_tree(tree)
    traced = mode == "exec" or any(isinstance(n, _TRACED_NODES) for n in ast.walk(tree))
    try:
        tree = ast.fix_missing_locations(_Transformer().visit(tree))
        code = compile(tree, FILENAME, mode)
    except SyntaxError as exc:  # e.g. 'return' outside function
        raise SandboxError(f"syntax error: {exc.msg} (line {exc.lineno})", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise SandboxError("expression is too deeply nested") from None
    return code, traced


def compile_restricted(source: str, mode: str = "eval"):
    """Check, transform and compile source; the code object is cached per (source, mode)."""
    return prepare(source, mode)[0]


compile_restricted.cache_info = prepare.cache_info
compile_restricted.cache_clear = prepare.cache_clear
