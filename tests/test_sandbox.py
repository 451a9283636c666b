"""The restricted evaluator: escape attempts are refused with no side effect; normal use works.

The public entry points (evaluate, execute) run code in a sandbox worker process unless it is
proven cheap; evaluate_here and execute_here are the layers a worker runs in its own process.
Both are tested against every escape.
"""
import sys
import time
import types

import pytest

from engine import sandbox
from engine.sandbox import (
    SAFE_BUILTINS,
    SandboxError,
    check,
    compile_restricted,
    evaluate,
    evaluate_here,
    execute,
    execute_here,
    names_read,
)


def discount(v):
    """A helper function as diagrams get them: defined at the top of an importable module."""
    return v * 0.9


def half(v):
    return v * 0.5

# (mode, source). "{marker}" is a file that must never be created, "{keep}" one that
# must never be removed.
ESCAPES = [
    ("eval", "__import__('os').system('touch {marker}')"),
    ("eval", "__import__('os').remove('{keep}')"),
    ("eval", "().__class__.__base__.__subclasses__()"),
    ("eval", "[].__class__.__mro__[1]"),
    ("eval", "getattr(1, '__class__')"),
    ("exec", "import os\nos.system('touch {marker}')"),
    ("exec", "from os import path"),
    ("exec", "import os as o"),
    ("eval", "open('/etc/passwd').read()"),
    ("eval", "open('{marker}', 'w').write('x')"),
    ("eval", "eval('1+1')"),
    ("eval", "exec('x=1')"),
    ("eval", "compile('1','x','eval')"),
    ("eval", "globals()"),
    ("eval", "vars()"),
    ("eval", "locals()"),
    ("eval", "dir()"),
    ("eval", "type(1).__subclasses__()"),
    ("eval", "'{{0.__class__}}'.format(1)"),
    ("eval", "'{{x.__class__}}'.format_map({{'x': 1}})"),
    ("eval", "str.format('{{0.__class__}}', 1)"),
    ("eval", "(lambda: 1).__code__"),
    ("eval", "(x for x in []).gi_frame"),
    ("eval", "[x for x in []].__class__"),
    ("eval", "f'{{x.__class__}}'"),
    ("eval", "str.mro()"),
    ("eval", "9**9**9**9"),
    ("eval", "pow(9, 10**9)"),
    ("eval", "'a'*10**9"),
    ("eval", "[0] * 10**9"),
    ("eval", "1 << 10**6"),
    ("eval", "list(range(10**12))"),
    ("eval", "sum([[0] * 1000] * 1000, [])"),
    ("exec", "x = 'a'\nx *= 10**9"),
    ("exec", "x = 10\nx **= 10**9"),
    ("exec", "while True: pass"),
    ("exec", "while True:\n    x = 1"),
    ("eval", "[i for i in range(10**6) for j in range(10**6)]"),
    ("eval", "max(range(10**6), key=lambda i: [j for j in range(10**6)])"),
    ("exec", "def f(): f()\nf()"),
    ("exec", "def f(n):\n    return f(n + 1) + f(n + 2)\nf(0)"),
    ("eval", "breakpoint()"),
    ("eval", "__builtins__"),
    ("eval", "help()"),
    ("exec", "x = __loader__"),
    ("exec", "x = __spec__"),
    ("eval", "object.__subclasses__()"),
    ("eval", "license()"),
    ("eval", "exit()"),
    ("eval", "quit()"),
    ("eval", "id(1)"),
    ("eval", "dict(__class__=1)"),
    ("exec", "class A:\n    pass"),
    ("exec", "global x\nx = 1"),
    ("exec", "def g():\n    yield 1"),
    ("exec", "async def g():\n    pass"),
    ("exec", "x = [1]\nx.append = 1"),
    ("exec", "with open('{marker}', 'w') as f:\n    pass"),
    ("exec", "try:\n    while True: pass\nfinally:\n    open('{marker}', 'w')"),
    ("exec", "match 'x':\n    case str(format=f):\n        f('{{0.__class__}}')"),
    ("exec", "def f(__class__=1):\n    pass"),
    ("exec", "(lambda: 1).__globals__['__builtins__']['open']('{marker}', 'w')"),
]


@pytest.mark.parametrize("where", ["worker", "here"])
@pytest.mark.parametrize("mode,source", ESCAPES, ids=[s for _, s in ESCAPES])
def test_escape_attempts_are_refused_without_side_effects(tmp_path, mode, source, where):
    marker = tmp_path / "marker"
    keep = tmp_path / "keep"
    keep.write_text("keep")
    source = source.format(marker=marker, keep=keep)
    context = {"x": 1}
    before = dict(context)
    trace_before = sys.gettrace()
    with pytest.raises(SandboxError) as info:
        if mode == "eval":
            (evaluate if where == "worker" else evaluate_here)(source, context)
        else:
            (execute if where == "worker" else execute_here)(source, context)
    message = str(info.value)
    assert message and "\n" not in message
    assert not marker.exists()
    assert keep.read_text() == "keep"
    assert context == before  # a failed script leaves the context alone
    assert sys.gettrace() is trace_before


@pytest.mark.parametrize("source,message", [
    ("__import__('os')", "name '__import__' is not allowed"),
    ("().__class__", "attribute '__class__' is not allowed"),
    ("'{}'.format(1)", "attribute 'format' is not allowed"),
    ("9**9**9**9", "exponent too large"),
    ("'a' * 10**9", "longer than"),
    ("list(range(10**12))", "range of more than"),
    ("[i for i in range(10**6) for j in range(10**6)]", "step limit exceeded"),
])
def test_error_messages(source, message):
    with pytest.raises(SandboxError, match=message):
        evaluate(source, {})


def test_imports_refused_statically_with_line():
    with pytest.raises(SandboxError, match=r"imports are not allowed \(line 2\)"):
        check("x = 1\nimport os", "exec")


def test_recursion_becomes_sandbox_error():
    with pytest.raises(SandboxError, match="recursion"):
        execute("def f(): f()\nf()", {})


def test_time_limit(monkeypatch):
    monkeypatch.setattr(sandbox, "TIME_LIMIT", 0.05)
    monkeypatch.setattr(sandbox, "MAX_STEPS", 10**12)
    started = time.monotonic()
    with pytest.raises(SandboxError, match=r"sandbox's wall-clock time limit of 0.05 s"):
        execute("while True: pass", {})
    assert time.monotonic() - started < 2


def test_function_stored_in_data_cannot_run_outside_the_run():
    context = {"items": [1, 2]}
    execute_here("items.append(lambda v: [0 for i in range(10**6) for j in range(10**6)])", context)
    # A later, untraced expression must not be able to call it.
    with pytest.raises(SandboxError, match="can only be called"):
        evaluate_here("max([1], key=items[-1])", context)
    with pytest.raises(SandboxError):
        context["items"][-1](1)
    lazy = evaluate_here("map(lambda v: v, [1, 2])", {})
    with pytest.raises(SandboxError):
        list(lazy)


def test_a_worker_sends_back_plain_data_only():
    context = {"items": [1, 2]}
    with pytest.raises(SandboxError, match="the variable `items` is or holds a function, which is not plain data"):
        execute("items.append(lambda v: v)", context)
    assert context == {"items": [1, 2]}, "a refused script changes nothing"
    with pytest.raises(SandboxError, match="the result is or holds a map, which is not plain data"):
        evaluate("map(lambda v: v, [1, 2])", {})
    with pytest.raises(SandboxError, match="the variable `tags` is or holds a set"):
        execute("tags = {'a', 'b'}", {})
    with pytest.raises(SandboxError, match="has the key 1; only text keys"):
        execute("by_id = {1: 'a'}", {})
    assert evaluate("[(1, 2)] + [x for x in ()]", {}) == [[1, 2]], "tuples come back as lists, as JSON has them"


def test_previous_trace_function_is_restored():
    calls = []

    def outer_tracer(frame, event, arg):
        calls.append(event)
        return None

    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        assert evaluate_here("[x for x in range(3)]", {}) == [0, 1, 2]
        with pytest.raises(SandboxError):
            execute_here("while True: pass", {})
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(previous)


# -- normal use ---------------------------------------------------------------------

@pytest.mark.parametrize("source,context,expected", [
    ("1 + 2 * 3", {}, 7),
    ("amount > 5", {"amount": 10}, True),
    ("amount >= 5 and amount < 10", {"amount": 10}, False),
    ("industry in ['a', 'b']", {"industry": "b"}, True),
    ("'yes' if approved else 'no'", {"approved": False}, "no"),
    ("(amount) == ('gold')", {"amount": "gold"}, True),
    ("2 ** 10", {}, 1024),
    ("2 ** 0.5 > 1.41", {}, True),
    ("3 * 'ab'", {}, "ababab"),
    ("[0] * 3", {}, [0, 0, 0]),
    ("1 << 4", {}, 16),
    ("sum(x * 2 for x in items)", {"items": [1, 2, 3]}, 12),
    ("any(x > 2 for x in items)", {"items": [1, 2, 3]}, True),
    ("sorted(items, key=lambda v: -v)", {"items": [1, 3, 2]}, [3, 2, 1]),
    ("len(name.upper())", {"name": "acme"}, 4),
    ("f'{name}: {amount:.2f}'", {"name": "acme", "amount": 2}, "acme: 2.00"),
    ("round(discount(amount), 1)", {"amount": 100}, 90.0),
    ("pow(2, 10, 1000)", {}, 24),
    ("isinstance(amount, int)", {"amount": 3}, True),
    ("\n   amount > 5\n", {"amount": 6}, True),
])
def test_evaluate(source, context, expected):
    extra = {"discount": discount}
    assert evaluate(source, context, extra) == expected
    assert evaluate_here(source, context, extra) == expected


def test_evaluate_does_not_mutate_context():
    context = {"a": 1, "b": 2}
    assert evaluate("(c := a + b) * 2", context) == 6
    assert evaluate("[a for a in range(3)]", context) == [0, 1, 2]
    assert context == {"a": 1, "b": 2}


def test_execute_writes_assigned_variables_back():
    context = {"amount": 100, "old": 1}
    extra = {"discount": half}
    execute(
        "def fee(x):\n"
        "    return x * 2\n"
        "net = discount(amount)\n"
        "total = fee(net)\n"
        "tiers = [t for t in range(3)]\n"
        "count = 0\n"
        "while count < 5:\n"
        "    count += 1\n"
        "del old\n",
        context,
        extra,
    )
    assert context == {"amount": 100, "net": 50.0, "total": 100.0, "tiers": [0, 1, 2], "count": 5}
    assert "discount" not in context
    assert "__builtins__" not in context
    assert "fee" not in context  # functions are not data


def test_execute_keeps_a_reassigned_helper_name_as_data():
    context = {}
    execute("discount = 3", context, {"discount": discount})
    assert context == {"discount": 3}


def test_execute_indented_script():
    context = {}
    execute("\n    a = 1\n    b = a + 1\n", context)
    assert context == {"a": 1, "b": 2}


def test_runtime_error_names_the_line():
    with pytest.raises(SandboxError, match=r"ZeroDivisionError: division by zero \(line 2\)"):
        execute("x = 1\ny = x / 0", {})


def test_syntax_error_message_has_line_number():
    with pytest.raises(SandboxError, match=r"syntax error: .*\(line 2"):
        check("x = 1\ny = (", "exec")
    with pytest.raises(SandboxError, match=r"syntax error: .*\(line 1"):
        evaluate("amount >", {"amount": 1})


def test_try_statements_are_refused():
    with pytest.raises(SandboxError, match="try statements are not allowed"):
        check("try:\n    x = 1\nexcept:\n    x = 2", "exec")


def test_names_read():
    assert names_read("amount > 5 and industry in ['a', 'b']") == ["amount", "industry"]
    assert names_read("len(items) > 2") == ["items"]
    assert names_read("[x for x in items if x > limit]") == ["items", "limit"]
    assert names_read("sorted(rows, key=lambda r: r[col])") == ["col", "rows"]
    assert names_read("(y := a + 1) > y") == ["a"]
    assert names_read("True") == []
    result = names_read("b + a + b")
    result.append("mutated")
    assert names_read("b + a + b") == ["a", "b"]


def test_compile_restricted_is_cached():
    first = compile_restricted("amount > 5")
    assert isinstance(first, types.CodeType)
    assert compile_restricted("amount > 5") is first
    assert compile_restricted("amount > 5", "exec") is not first


def test_safe_builtins_have_nothing_dangerous():
    for name in ("open", "eval", "exec", "getattr", "type", "__import__", "compile", "vars",
                 "globals", "iter", "format", "print"):
        assert name not in SAFE_BUILTINS


def test_simple_expression_is_fast():
    context = {"amount": 10}
    evaluate("amount > 5", context)
    n = 20_000
    started = time.perf_counter()
    for _ in range(n):
        evaluate("amount > 5", context)
    per_call = (time.perf_counter() - started) / n
    assert per_call < 50e-6  # generous; about 1 µs on a developer machine
