"""What the sandbox evaluates in the calling process: only what its syntax tree proves cheap, with
every value and operation inside a small budget, and with the same answer a worker would give."""
from __future__ import annotations

import pytest

from engine import sandbox
from engine.sandbox import inline as sandbox_inline, pool as sandbox_pool
from stagegate.compose import DIAGRAM_HELPERS
from engine.sandbox import SandboxError
from tests.test_bounded_evaluation import PAYLOADS

# The expressions of the shipped catalog (conditions, timers, decision cells as the DMN engine
# builds them) and a few more of the kinds diagrams use.
CHEAP = [
    ("approval_level == 'cfo'", {"approval_level": "cfo"}),
    ("qualified == False", {"qualified": True}),
    ("'P' + str(hold_days) + 'D'", {"hold_days": 5}),
    ("business_days(3)", {}),
    ("(margin_pct) == (15)", {"margin_pct": 15}),
    ("margin_pct< 15", {"margin_pct": 12}),
    ("dmninputexpr not in ['automotive', 'aerospace', 'medical', 'energy']", {"dmninputexpr": "mining"}),
    ('"annual revenue $" + str(annual_revenue_musd) + "MM is below $50MM"', {"annual_revenue_musd": 30}),
    ("percent(price - cost, price) >= 15 and clamp(discount, 0, 10) < 5",
     {"price": 100, "cost": 70, "discount": 12}),
    ("amount // 3 + amount % 7 - 2 ** 10 * 3 / 4", {"amount": 1234}),
    ("items[1:] == [2, 3] and {'a': 1}['a'] == 1", {"items": [1, 2, 3]}),
    ("round(price * 1.19, 2) if vat else price", {"price": 100, "vat": True}),
    ("min(a, b, 3) + max([a, b]) + abs(-a) + len(name)", {"a": 1, "b": 2, "name": "acme"}),
    ("int('12') + float('1.5') + bool(0)", {}),
]


def plan_of(code: str):
    return sandbox._analyse(code, "eval")[1]


@pytest.mark.parametrize("name, code, _limits", PAYLOADS, ids=[p[0] for p in PAYLOADS])
def test_no_payload_of_issue_15_is_classified_cheap(name, code, _limits):
    assert plan_of(code) is None, f"{name} must run in a worker"


@pytest.mark.parametrize("code", [
    "'%s' % percent",
    "f'{amount}'",
    "name.upper()",
    "[x for x in items]",
    "(lambda: 1)()",
    "(y := 1)",
    "sorted(items)",
    "sum(items)",
    "max(items, key=len)",
    "len(*items)",
    "a @ b",
    "'{}'.ljust(3)",
    " or ".join(["a == 1"] * 200),  # over CHEAP_CHARS
])
def test_what_is_not_proven_cheap(code):
    assert plan_of(code) is None


@pytest.mark.parametrize("code, context", CHEAP, ids=[c for c, _ in CHEAP])
def test_cheap_expressions_run_here_and_agree_with_a_worker(code, context):
    plan = plan_of(code)
    assert plan is not None, "the catalog's expressions are evaluated in-process"
    evaluations = sandbox_pool.expressions().stats["evaluations"]
    here = plan.run(context, DIAGRAM_HELPERS)
    assert sandbox.evaluate(code, context, DIAGRAM_HELPERS) == here
    assert sandbox_pool.expressions().stats["evaluations"] == evaluations, "no worker was asked"
    names = sandbox._analyse(code, "eval")[0]
    assert sandbox_pool.expressions().evaluate(code, names, context, DIAGRAM_HELPERS, sandbox.LIMITS) == here


@pytest.mark.parametrize("code, context", [
    ("s * 100_000", {"s": "a"}),  # a result over the budget
    ("len(items) > 3", {"items": list(range(20_000))}),  # data over the budget
    ("2 ** 5000 > 0", {}),  # an integer over INT_BITS
    ("str(amount)", {"amount": 5, "str": "shadowed"}),  # a name that is not the builtin here
    ("x % 3", {"x": "%s-%s"}),  # string formatting on data
    ("x + y", {"x": "a" * 6_000, "y": "b" * 6_000}),
])
def test_over_budget_goes_to_a_worker_with_the_same_answer(code, context):
    plan = plan_of(code)
    assert plan is not None
    with pytest.raises(sandbox_inline.NotCheap):
        plan.run(context, None)
    names = sandbox._analyse(code, "eval")[0]
    try:
        expected = sandbox_pool.expressions().evaluate(code, names, context, None, sandbox.LIMITS)
    except SandboxError as exc:
        with pytest.raises(SandboxError, match=str(exc).split(":")[0]):
            sandbox.evaluate(code, context)
    else:
        assert sandbox.evaluate(code, context) == expected


@pytest.mark.parametrize("code, context, message", [
    ("amount / 0", {"amount": 1}, "ZeroDivisionError: division by zero"),
    ("missing > 1", {}, "NameError: name 'missing' is not defined"),
    ("'a' * 10**9", {}, "result longer than 1,000,000 items is not allowed"),
    ("9 ** 9 ** 9", {}, "exponent too large"),
    ("{1, 2}", {}, "the result is or holds a set, which is not plain data"),
])
def test_errors_are_the_ones_a_worker_gives(code, context, message):
    with pytest.raises(SandboxError, match=message):
        sandbox.evaluate(code, context)
    names = sandbox._analyse(code, "eval")[0]
    with pytest.raises(SandboxError, match=message):
        sandbox_pool.expressions().evaluate(code, names, context, None, sandbox.LIMITS)

