"""Expressions the static check proves cheap, evaluated in the calling process.

A round trip to a sandbox worker costs a few hundred microseconds; a gateway condition such as
`approval_level == 'cfo'` costs about one. So an expression runs here, in-process, when its
syntax tree proves that its cost is bounded whatever the data, and everywhere else in a worker.

What "proven cheap" means here:
- an expression (never a script) of at most CHEAP_CHARS characters and CHEAP_NODES nodes;
- only these nodes: constants, names, `and`/`or`/`not`, unary `-`/`+`/`~`, arithmetic and bit
  operators (not `@`), comparisons (`==`, `<`, `in`, `is`, ...), `x if c else y`, subscripts and
  slices, list/tuple/set/dict displays, and calls of a name from CHEAP_CALLS or a helper the
  composition root registered as bounded (`register_bounded`), with positional arguments only;
- so no attribute access (no `s.ljust(...)`, no `(1).to_bytes(...)`), no f-strings or format
  specs, no comprehensions, lambdas, walrus, starred arguments or keyword arguments.
With no loops and no calls into unknown code, the expression does at most one operation per
node. Each operation is kept linear by a runtime budget: every value it sees or makes (the data
it reads, each intermediate result) must weigh at most BUDGET units (a character, an item, or
64 bits of an integer; nested containers count in full), and operations that can multiply a size
(`*`, `**`, `<<`) are checked before they run. `%` on text (string formatting) and calls with
unusual arguments are not attempted at all. Whenever a value or an operation would exceed the
budget, the evaluation raises NotCheap and the caller sends it to a worker, where the same
expression runs under the process limits and gives the same answer or the same refusal.
So the cost here is at most CHEAP_NODES operations on values of BUDGET units.
"""
from __future__ import annotations

import ast

from engine import sandbox as _sandbox
from engine.sandbox import safe_builtins, wire as sandbox_wire
from engine.sandbox.limits import SandboxError

CHEAP_CHARS = 1_000
CHEAP_NODES = 100
#: Largest weight of any value an inline evaluation may see or make.
BUDGET = 10_000
#: Largest integer (in bits) an inline evaluation may see or make.
INT_BITS = 4_096


class NotCheap(Exception):
    """This evaluation must run in a worker after all."""


_NODES = frozenset({
    ast.Expression, ast.Constant, ast.Name, ast.Load,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
    ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call,
})


# -- weighing values --------------------------------------------------------------------------

def weight(value, budget: int = BUDGET) -> int:
    """The value's weight; NotCheap as soon as it passes `budget` or holds something unknown."""
    total, stack = 0, [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str or t is bytes:
            total += 1 + len(v)
        elif t is int:
            bits = v.bit_length()
            if bits > INT_BITS:
                raise NotCheap
            total += 1 + (bits >> 6)
        elif t is bool or t is float or t is complex or v is None:
            total += 1
        elif t is list or t is tuple or t is set or t is frozenset:
            total += 1 + len(v)
            if total > budget:
                raise NotCheap
            stack.extend(v)
        elif t is dict:
            total += 1 + 2 * len(v)
            if total > budget:
                raise NotCheap
            stack.extend(v.keys())
            stack.extend(v.values())
        else:
            raise NotCheap  # a type whose operations we have not bounded
        if total > budget:
            raise NotCheap
    return total


def _fits(value):
    weight(value)
    return value


# -- guarded operations (the worker's own guards decide refusals, so both give the same answer) --

def _number(v) -> bool:
    return type(v) in (int, float, bool, complex)


def _sequence_times(seq, n) -> None:
    if isinstance(n, int) and len(seq) * max(n, 0) > BUDGET:
        raise NotCheap


def _mul(a, b):
    if type(a) is int and type(b) is int and a.bit_length() + b.bit_length() > INT_BITS:
        raise NotCheap
    if isinstance(a, (str, bytes, list, tuple)):
        _sequence_times(a, b)
    elif isinstance(b, (str, bytes, list, tuple)):
        _sequence_times(b, a)
    return _fits(safe_builtins.safe_mul(a, b))


def _pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and max(a.bit_length(), 1) * b > INT_BITS:
        raise NotCheap
    return _fits(safe_builtins.safe_pow(a, b))


def _lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b > INT_BITS:
        raise NotCheap
    return _fits(safe_builtins.safe_lshift(a, b))


def _mod(a, b):
    if not (_number(a) and _number(b)):
        raise NotCheap  # '%s' % x formats text: not attempted here
    return _fits(a % b)


def _plain_op(op):
    def guarded(a, b):
        return _fits(op(a, b))
    return guarded


_OPS = {
    ast.Add: ("_c_add", _plain_op(lambda a, b: a + b)),
    ast.Sub: ("_c_sub", _plain_op(lambda a, b: a - b)),
    ast.Div: ("_c_div", _plain_op(lambda a, b: a / b)),
    ast.FloorDiv: ("_c_floordiv", _plain_op(lambda a, b: a // b)),
    ast.RShift: ("_c_rshift", _plain_op(lambda a, b: a >> b)),
    ast.BitAnd: ("_c_and", _plain_op(lambda a, b: a & b)),
    ast.BitOr: ("_c_or", _plain_op(lambda a, b: a | b)),
    ast.BitXor: ("_c_xor", _plain_op(lambda a, b: a ^ b)),
    ast.Mult: ("_c_mul", _mul),
    ast.Pow: ("_c_pow", _pow),
    ast.LShift: ("_c_lshift", _lshift),
    ast.Mod: ("_c_mod", _mod),
}


def _scalar(*args) -> None:
    for a in args:
        if type(a) not in (str, int, float, bool) and a is not None:
            raise NotCheap


def _call_str(*args):
    if len(args) > 1:
        raise NotCheap
    _scalar(*args)
    return str(*args)


def _call_round(*args):
    if len(args) == 2 and isinstance(args[0], int) and (not isinstance(args[1], int) or args[1] < -400):
        raise NotCheap  # round(int, -n) builds 10**n
    return round(*args)


def _call_int(*args):
    if len(args) == 2 and not (isinstance(args[1], int) and 2 <= args[1] <= 36):
        raise NotCheap
    return int(*args)


#: The builtins an inline expression may call, each with its own argument check.
CHEAP_CALLS = {"str": (str, _call_str), "int": (int, _call_int), "float": (float, float), "bool": (bool, bool),
               "len": (len, len), "abs": (abs, abs), "round": (round, _call_round), "min": (min, min),
               "max": (max, max)}
_BY_IDENTITY: dict[int, tuple[object, object]] = {id(fn): (fn, run) for fn, run in CHEAP_CALLS.values()}
_BOUNDED_HELPERS: set[str] = set()


def register_bounded(name: str, fn) -> None:
    """Let inline expressions call helper `fn` (as `name`): its cost must be bounded for any
    arguments of BUDGET weight (the composition root vouches for each)."""
    _BY_IDENTITY[id(fn)] = (fn, fn)
    _BOUNDED_HELPERS.add(name)


def _call(fn, *args):
    known = _BY_IDENTITY.get(id(fn))
    if known is None or known[0] is not fn:
        raise NotCheap  # the name means something else here (data shadowing a builtin, say)
    return _fits(known[1](*args))


_GUARDS = {name: fn for name, fn in _OPS.values()}
_GUARDS.update({"_c_call": _call, "_c_box": _fits})


# -- the plan ---------------------------------------------------------------------------------

class _Transform(ast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        name = _OPS[type(node.op)][0]
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [node.left, node.right], []), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        return ast.copy_location(ast.Call(ast.Name("_c_call", ast.Load()), [node.func, *node.args], []), node)

    def _box(self, node):
        self.generic_visit(node)
        return ast.copy_location(ast.Call(ast.Name("_c_box", ast.Load()), [node], []), node)

    visit_List = visit_Tuple = visit_Set = visit_Dict = _box


class Plan:
    """A cheap expression compiled for inline evaluation, with the names it reads."""

    __slots__ = ("code", "values", "calls")

    def __init__(self, code, values: tuple, calls: tuple):
        self.code = code
        self.values = values  # names read as values: data, checked by weight
        self.calls = calls  # names only ever called: builtins or bounded helpers

    def run(self, context: dict, extra: dict | None):
        """The expression's value, plain; NotCheap when this evaluation must go to a worker."""
        builtins = _sandbox.SAFE_BUILTINS
        namespace = dict(_GUARDS)
        namespace["__builtins__"] = {}
        for name in self.values:
            if name in context:
                value = context[name]
            elif extra and name in extra:
                value = extra[name]
            elif name in builtins:
                raise NotCheap  # a builtin used as a value
            else:
                continue  # NameError when evaluated, as in a worker
            if callable(value):
                raise NotCheap
            weight(value)
            namespace[name] = value
        for name in self.calls:
            if name in context:
                namespace[name] = context[name]
            elif extra and name in extra:
                namespace[name] = extra[name]
            elif name in builtins:
                namespace[name] = builtins[name]
        try:
            value = eval(self.code, namespace)
        except (NotCheap, SandboxError):
            raise
        except (RecursionError, MemoryError):
            raise NotCheap from None
        except Exception as exc:  # noqa: BLE001 - the same message a worker would give
            raise _sandbox._runtime_error(exc, "eval") from None
        return sandbox_wire.plain(value)


def classify(tree: ast.Expression, chars: int) -> Plan | None:
    """A Plan if the checked expression (of `chars` characters) is one this module can bound.

    The tree is transformed in place."""
    if chars > CHEAP_CHARS or not isinstance(tree, ast.Expression):
        return None
    nodes = list(ast.walk(tree))
    if len(nodes) > CHEAP_NODES:
        return None
    called, values = set(), set()
    for node in nodes:
        if type(node) not in _NODES:
            return None
        if type(node) is ast.Call:
            if node.keywords or not isinstance(node.func, ast.Name) or any(
                    isinstance(a, ast.Starred) for a in node.args):
                return None
            if node.func.id not in CHEAP_CALLS and node.func.id not in _BOUNDED_HELPERS:
                return None
            called.add(id(node.func))
        elif type(node) is ast.BinOp:
            if type(node.op) not in _OPS:
                return None
            if type(node.op) is ast.Mod and type(node.left) is ast.Constant and isinstance(node.left.value,
                                                                                            (str, bytes)):
                return None  # string formatting ('%*d' % (10**9, 1)); a % on data is checked when it runs
    for node in nodes:
        if type(node) is ast.Name and id(node) not in called:
            values.add(node.id)
    calls = {node.id for node in nodes if type(node) is ast.Name and id(node) in called}
    tree = ast.fix_missing_locations(_Transform().visit(tree))
    try:
        code = compile(tree, "<sandbox>", "eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return Plan(code, tuple(sorted(values)), tuple(sorted(calls - values)))
