"""Decision-table input entries read into a small structure, apart from evaluating them.

An input entry is a test of its column's value. `parse(text, dialect)` turns the cell's
text into one of these plain-data tests (each carries the dialect it was read in):

- ``{"kind": "any"}``: empty or ``-``, matches every value;
- ``{"kind": "comparison", "op": "<", "operand": "50"}``: the value compared with an
  expression (``op`` one of ``< <= > >= == !=``);
- ``{"kind": "range", "low": "1", "high": "5", "low_closed": True, "high_closed": False}``;
- ``{"kind": "list", "items": [test, ...], "negated": False}``: any (or, negated, none) of
  the items matches;
- ``{"kind": "expression", "expression": "cellInput > 3 and cellInput < x"}``: a truth-valued
  expression where ``?`` (here ``cellInput``) stands for the column's value.

Operands and expressions stay source text: they are evaluated later, through the sandbox,
by engine/bpmn/dmn/evaluate.py. FEEL cells are read by engine/bpmn/dmn/feel.py's grammar into the same
structure, with their operands translated into Python. In a ``python`` cell, what would mean
something else than it looks (FEEL's ``"a", "b"``, ``[1..5]``, ``not("x")``, ``null``, a
Python list or a comparison written without ``?``) is refused with `CellRefused`, whose
message writes out what to use instead.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache

from engine import sandbox
from engine.bpmn import juel
from engine.bpmn.dmn import feel

PLACEHOLDER = "cellInput"  # what `?` becomes (Camunda's name for the value a cell tests)
DIALECTS = ("python", "feel", "juel")
ORDER_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
COMPARE_OPS = {**ORDER_OPS, ast.Eq: "==", ast.NotEq: "!="}
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_LEADING_OP = re.compile(r"^(<=|>=|==|!=|<|>)")
_FEEL_RANGE = re.compile(r"^([\[\](])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\])])$", re.S)
_FEEL_WORDS = {"null": "None", "true": "True", "false": "False"}


class CellRefused(Exception):
    """The cell cannot be read as a test of its column; the message says why and what to write."""


def parse(text: str | None, dialect: str = "python") -> dict:
    """The test an input entry stands for, or CellRefused."""
    if dialect == "feel":
        try:
            return feel.unary_tests(text or "")
        except feel.FeelRefused as exc:
            raise CellRefused(f"{exc}; write a FEEL unary test (e.g. `< 250`, `[250..1000]`, "
                              "`\"a\", \"b\"`, `not(\"x\")`, `-`)") from None
    if dialect not in DIALECTS:
        raise CellRefused(f"is in expression language '{dialect}', which the engine does not read in input "
                          "entries; write a FEEL unary test (drop the expressionLanguage)")
    if dialect == "juel":
        return _parse_juel((text or "").strip())
    return _parse_python((text or "").strip())


def _parse_juel(text: str) -> dict:
    """A JUEL input entry, as Camunda 7 reads one: an expression over the deal's data and `cellInput`
    (the column's value) that matches when it is true, and only then (a non-boolean never matches)."""
    if text in ("", "-"):
        return _test("any")
    try:
        python = juel.translate(text if juel.is_juel(text) else "${" + text + "}")
    except juel.JuelError as exc:
        raise CellRefused(f"is JUEL the engine cannot run: {exc}") from None
    return _read_marked(text, f"({python}) is True")


@lru_cache(maxsize=4096)
def _parse_python(text: str) -> dict:
    if text in ("", "-"):
        return _test("any")
    replaced, has_mark = _replace_marks(text)
    if has_mark:
        return _read_marked(text, replaced)
    _refuse_feel(text)
    if _LEADING_OP.match(text):
        return _read_leading(text)
    return _read_value(text)


def _test(kind: str, **fields) -> dict:
    return {"kind": kind, **fields, "dialect": "python"}


def _replace_marks(text: str) -> tuple[str, bool]:
    """The text with every `?` outside string literals replaced by the placeholder name."""
    out, quote, i, found = [], None, 0, False
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                out.append(text[i:i + 2])
                i += 2
                continue
            if text.startswith(quote, i):
                out.append(quote)
                i += len(quote)
                quote = None
                continue
            out.append(c)
        elif c in "'\"":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            out.append(quote)
            i += len(quote)
            continue
        elif c == "?":
            before = out[-1][-1:] if out else ""
            after = text[i + 1:i + 2]
            out.append((" " if before.isalnum() or before == "_" else "") + PLACEHOLDER
                       + (" " if after.isalnum() or after == "_" else ""))
            found = True
        else:
            out.append(c)
        i += 1
    return "".join(out).strip(), found


def _compile(source: str, shown: str) -> ast.expr:
    """The expression's syntax tree, checked by the sandbox; CellRefused saying why not."""
    try:
        sandbox.check(source)
    except sandbox.SandboxError as exc:
        raise CellRefused(f"does not compile: {exc}{_instead(shown)}") from None
    return ast.parse(source, mode="eval").body


def _segment(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or ast.unparse(node)


def _is_mark(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == PLACEHOLDER


def _mentions_mark(node: ast.AST) -> bool:
    return any(_is_mark(n) for n in ast.walk(node))


def _classify(source: str, node: ast.expr) -> dict | None:
    """The structured test for an expression over the placeholder, None if it is no simple shape."""
    if not isinstance(node, ast.Compare):
        return None
    ops, operands = node.ops, [node.left, *node.comparators]
    if len(ops) == 1 and type(ops[0]) in COMPARE_OPS:
        op = COMPARE_OPS[type(ops[0])]
        if _is_mark(operands[0]) and not _mentions_mark(operands[1]):
            return _test("comparison", op=op, operand=_segment(source, operands[1]))
        if _is_mark(operands[1]) and not _mentions_mark(operands[0]):
            return _test("comparison", op=FLIPPED[op], operand=_segment(source, operands[0]))
    if len(ops) == 1 and isinstance(ops[0], (ast.In, ast.NotIn)) and _is_mark(operands[0]) \
            and isinstance(operands[1], (ast.List, ast.Tuple, ast.Set)) and not _mentions_mark(operands[1]):
        items = [_test("comparison", op="==", operand=_segment(source, e)) for e in operands[1].elts]
        return _test("list", items=items, negated=isinstance(ops[0], ast.NotIn))
    if len(ops) == 2 and all(type(o) in (ast.Lt, ast.LtE) for o in ops) and _is_mark(operands[1]) \
            and not _mentions_mark(operands[0]) and not _mentions_mark(operands[2]):
        return _test("range", low=_segment(source, operands[0]), high=_segment(source, operands[2]),
                     low_closed=isinstance(ops[0], ast.LtE), high_closed=isinstance(ops[1], ast.LtE))
    return None


_TESTS = (ast.Compare, ast.BoolOp, ast.Call)  # plausibly True or False (a call: a helper that tests)


def _read_marked(text: str, source: str) -> dict:
    node = _compile(source, text)
    found = _classify(source, node)
    if found:
        return found
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) or isinstance(node, _TESTS):
        return _test("expression", expression=source)
    raise CellRefused(f"is not a test: it computes `{text}`, a value, not True or False; compare it, "
                      "e.g. `? > 3` or `? in ['a', 'b']`")


def _read_leading(text: str) -> dict:
    # The column's value goes in front, as in `? < 50`; `<< 50` then reads as a shift, not a test.
    source = f"{PLACEHOLDER} {text}"
    node = _compile(source, text)
    found = _classify(source, node)
    if found:
        return found
    if isinstance(node, ast.BoolOp) and _mentions_mark(node):
        return _test("expression", expression=source)
    raise CellRefused(f"is not a comparison of the column: `{text}` reads as `? {text}`, which computes a value "
                      "(write one operator and a value, e.g. `< 50`)")


def _refuse_feel(text: str) -> None:
    written = feel_equivalent(text)
    if written is None:
        return
    if _is_python(text):
        raise CellRefused(f"is a FEEL unary test, which means something else in Python (this table declares "
                          f"Python): write `{written}`, or drop expressionLanguage=\"python\" to write FEEL")
    raise CellRefused(f"is a FEEL unary test, but this table declares Python: write `{written}`, or drop "
                      "expressionLanguage=\"python\" to write FEEL")


def _read_value(text: str) -> dict:
    first = " ".join(text.split()[:2]) if text.startswith(("not in ", "is not ")) else text.split()[0]
    if first in ("in", "is", "not in", "is not"):
        raise CellRefused(f"leaves out the column's value in front of `{first}`: write it as `? {text}`")
    node = _compile(text, text)
    if isinstance(node, ast.Tuple):
        raise CellRefused(f"is a Python tuple, which never equals the column's value; to match any of these "
                          f"values write `? in [{', '.join(_segment(text, e) for e in node.elts)}]`")
    if isinstance(node, (ast.List, ast.Set)):
        raise CellRefused(f"compares the column with a whole list; to match any of these values write `? in {text}`"
                          f" (or `? == {text}` if the column holds lists)")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        raise CellRefused(f"compares the column with the truth of `{text}`; write the test with `?`, e.g. "
                          f"`? != {_segment(text, node.operand)}`")
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        raise CellRefused(f"compares the column with the truth of `{text}` (True or False); write the test "
                          f"with `?` for the column's value (e.g. `? > 3`)")
    return _test("comparison", op="==", operand=text)


# --------------------------------------------------------------------------------------
# What a FEEL-looking cell would be in Python (to say what to write instead)
# --------------------------------------------------------------------------------------

def _split_top(text: str, sep: str = ",") -> list[str]:
    """text split at `sep` outside brackets and string literals."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


def _feel_operand(text: str) -> str:
    return _FEEL_WORDS.get(text, text)


def _feel_test(text: str) -> dict | None:
    """One FEEL unary test as our structure, or None when it is not one we recognise."""
    text = text.strip()
    if text in _FEEL_WORDS:
        if text == "null":
            return _test("expression", expression=f"{PLACEHOLDER} is None")
        return _test("comparison", op="==", operand=_FEEL_WORDS[text])
    m = _FEEL_RANGE.match(text)
    if m and _balanced(m.group(2)) and _balanced(m.group(3)):
        return _test("range", low=_feel_operand(m.group(2)), high=_feel_operand(m.group(3)),
                     low_closed=m.group(1) == "[", high_closed=m.group(4) == "]")
    m = _LEADING_OP.match(text)
    if m and m.group(1) not in ("==", "!="):
        return _test("comparison", op=m.group(1), operand=_feel_operand(text[m.end():].strip()))
    m = re.match(r"^not\s*\((.*)\)$", text, re.S)
    if m:
        inner = feel_tests(m.group(1))
        if inner is None:
            return None
        if inner["kind"] == "list":
            return {**inner, "negated": not inner["negated"]}
        if inner["kind"] == "comparison" and inner["op"] == "==":
            return {**inner, "op": "!="}
        return _test("list", items=[inner], negated=True)
    if _is_python_value(text):
        return _test("comparison", op="==", operand=text)
    return None


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def _is_python(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


def _is_python_value(text: str) -> bool:
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return False
    return isinstance(node, (ast.Constant, ast.Name, ast.Attribute, ast.Call, ast.BinOp, ast.UnaryOp,
                             ast.Subscript)) and not (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))


def feel_tests(text: str) -> dict | None:
    """A comma-separated FEEL unary test as our structure, None when it is not one we recognise."""
    parts = _split_top(text)
    tests = [_feel_test(p) for p in parts]
    if any(t is None for t in tests):
        return None
    return tests[0] if len(tests) == 1 else _test("list", items=tests, negated=False)


def feel_equivalent(text: str) -> str | None:
    """The Python cell meaning what a FEEL-only cell means; None when the text means the same in both."""
    stripped = text.strip()
    looks_feel = (stripped in _FEEL_WORDS or _FEEL_RANGE.match(stripped) or len(_split_top(stripped)) > 1
                  or re.match(r"^not\s*\(", stripped))
    if not looks_feel:
        return None
    test = feel_tests(stripped)
    return None if test is None else to_python(test)


def _instead(text: str) -> str:
    feel = feel_equivalent(text)
    return f" (in FEEL this is a unary test; in Python write `{feel}`)" if feel else ""


def to_python(test: dict) -> str:
    """The cell text, in the Python dialect, that reads back as `test`."""
    kind = test["kind"]
    if kind == "any":
        return "-"
    if kind == "comparison":
        return test["operand"] if test["op"] == "==" else f"? {test['op']} {test['operand']}"
    if kind == "range":
        lo, hi = ("<=" if test["low_closed"] else "<"), ("<=" if test["high_closed"] else "<")
        return f"{test['low']} {lo} ? {hi} {test['high']}"
    if kind == "expression":
        return re.sub(rf"\b{PLACEHOLDER}\b", "?", test["expression"])
    items = test["items"]
    if all(i["kind"] == "comparison" and i["op"] == "==" for i in items):
        values = ", ".join(i["operand"] for i in items)
        return f"? {'not in' if test['negated'] else 'in'} [{values}]"
    parts = [f"? == {i['operand']}" if i["kind"] == "comparison" and i["op"] == "==" else to_python(i)
             for i in items]
    joined = " or ".join(f"({p})" if " or " in p else p for p in parts)
    return f"not ({joined})" if test["negated"] else joined


def expressions(test: dict) -> list[str]:
    """Every expression a test evaluates (operands, bounds, or its own expression over `?`)."""
    if test["kind"] == "comparison":
        return [test["operand"]]
    if test["kind"] == "range":
        return [test["low"], test["high"]]
    if test["kind"] == "expression":
        return [test["expression"]]
    if test["kind"] == "list":
        return [s for i in test["items"] for s in expressions(i)]
    return []


def names_read(test: dict) -> list[str]:
    """The data names a test reads (not the column's value itself)."""
    return sorted({n for s in expressions(test) for n in sandbox.names_read(s)} - {PLACEHOLDER})
