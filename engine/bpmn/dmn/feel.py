"""FEEL, as Camunda Modeler writes it in decision tables, read with a grammar and translated
into the sandbox's checked Python.

`expression(text)` gives the Python source of a FEEL expression (an input expression, an output
entry, a literal-expression decision); `unary_tests(text)` gives the plain-data test of an input
entry (the structure engine/bpmn/dmn/unary_tests.py documents) whose operands are Python source. Nothing
is ever evaluated here: the sandbox evaluates the translation, and the static checks read it, so
FEEL cells get the same bounds, names-read checks and type checks as Python cells.

What is read: literals (numbers, "strings", true, false, null), names and dotted paths (`a.b`:
null when `a` is null or has no `b`), `+ - * / **`, comparisons (`= != < <= > >=`), `between .. and ..`, `and`, `or`,
`if .. then .. else ..`, `x in <unary tests>`, lists `[a, b]` and one-based indexing `xs[1]`, `date("2026-01-01")`,
`date and time("...")` and `time("...")` (ISO text, as the engine keeps dates), and the functions
in engine/bpmn/dmn/feel_functions.py. Unary tests: `-`, `< e`, `<= e`, `> e`, `>= e`, `= e`, `!= e`, intervals `[a..b]`,
`]a..b[`, `(a..b)`, comma lists, `not(...)`, `null`, plain values (equality) and `?` expressions.
Anything else (durations, `for`, `some`, `every`, filters with conditions, contexts, unknown
functions) is refused with FeelRefused naming it.
"""
from __future__ import annotations

import keyword
import re
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput, VisitError

from engine.bpmn.dmn.feel_functions import FeelRefused, call

PLACEHOLDER = "cellInput"  # the column's value, as engine/bpmn/dmn/unary_tests.py names it

GRAMMAR = r"""
start_expr: expr
start_tests: "-"                                  -> any
           | NOT "(" tests ")"                    -> negated
           | tests

tests: positive ("," positive)*
?positive: CMP sum                                -> compare
         | "[" endpoint ".." endpoint "]"         -> closed_closed
         | "[" endpoint ".." endpoint ("[" | ")")  -> closed_open
         | ("]" | "(") endpoint ".." endpoint "]"  -> open_closed
         | ("]" | "(") endpoint ".." endpoint ("[" | ")") -> open_open
         | expr                                   -> plain

?endpoint: "-" endpoint_atom                      -> neg
         | endpoint_atom
?endpoint_atom: NUMBER -> number
              | STRING -> string
              | "true" -> true
              | "false" -> false
              | "null" -> null
              | path
              | call

?expr: "if" expr "then" expr "else" expr          -> if_expr
     | disjunction
?disjunction: conjunction ("or" conjunction)*     -> or_expr
?conjunction: comparison ("and" comparison)*      -> and_expr
?comparison: sum
           | sum CMP sum                          -> comparison
           | sum "between" sum "and" sum          -> between
           | sum "in" positive                    -> in_expr
           | sum "in" "(" positive ("," positive)+ ")" -> in_expr
?sum: product
    | sum ADD product                             -> binary
?product: power
        | product MUL power                       -> binary
?power: unary
      | power "**" unary                          -> power
?unary: "-" unary                                 -> neg
      | postfix
?postfix: atom
        | postfix "[" expr "]"                    -> index
        | postfix "." NAME                        -> member
?atom: NUMBER                                     -> number
     | STRING                                     -> string
     | "true"                                     -> true
     | "false"                                    -> false
     | "null"                                     -> null
     | "?"                                        -> mark
     | NAME                                       -> name
     | call
     | "(" expr ")"
     | "[" [expr ("," expr)*] "]"                 -> list
path: NAME ("." NAME)*
call: (NAME | BUILTIN) "(" [expr ("," expr)*] ")"

NOT: "not"
CMP: "<=" | ">=" | "!=" | "<" | ">" | "="
ADD: "+" | "-"
MUL: "*" | "/"
BUILTIN.2: /(date and time|string length|upper case|lower case|starts with|ends with|substring before|substring after|list contains|round half even)(?=\s*\()/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /\d+(\.\d+)?/
STRING: /"(\\.|[^"\\])*"/
%import common.WS
%ignore WS
"""


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # Built on first use: building the LALR tables takes ~60 ms, paid by every CLI process otherwise.
    return Lark(GRAMMAR, start=["start_expr", "start_tests"], parser="lalr")


_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LITERAL = re.compile(r"-?\d+(\.\d+)?|\(-\d+(\.\d+)?\)|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_MAX_PATH = 5
_PYTHON_WORDS = set(keyword.kwlist)  # a FEEL name Python cannot hold


def _string(token: str) -> str:
    body = token[1:-1]
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return repr("".join(out))


_PYTHON_LITERALS = {"True": "true", "False": "false", "None": "null"}


def _name(token: str) -> str:
    if token in _PYTHON_LITERALS:
        raise FeelRefused(f"writes `{token}`, which is Python; in FEEL write `{_PYTHON_LITERALS[token]}` (or "
                          "declare expressionLanguage=\"python\" to write Python)")
    if token in _PYTHON_WORDS or token.startswith("_"):
        raise FeelRefused(f"uses the name `{token}`, which the engine cannot give as a variable")
    return str(token)


@v_args(inline=True)
class _ToPython(Transformer):
    """Each FEEL node as Python source, parenthesised wherever precedence could differ."""

    def start_expr(self, e):
        return e

    def number(self, t):
        return str(t)

    def string(self, t):
        return _string(t)

    def true(self):
        return "True"

    def false(self):
        return "False"

    def null(self):
        return "None"

    def mark(self):
        return PLACEHOLDER

    def name(self, t):
        return _name(t)

    def path(self, *names):
        first, *rest = names
        out = _name(first)
        for n in rest:
            out = _member(out, str(n))
        return out

    def member(self, target, t):
        return _member(target, str(t))

    def index(self, target, at):
        at = at.replace("(", "").replace(")", "")
        if not re.fullmatch(r"-?\d+", at):
            raise FeelRefused("filters a list by a condition (`list[condition]`), which the engine does not read; "
                              "index it with a number, e.g. `items[1]`")
        n = int(at)
        if n == 0:
            raise FeelRefused("indexes a list at 0; FEEL lists start at 1")
        return f"{target}[{n - 1 if n > 0 else n}]"

    def list(self, *items):
        return "[" + ", ".join(i for i in items if i is not None) + "]"

    def call(self, fn, *args):
        return call(" ".join(str(fn).split()), [a for a in args if a is not None])

    def neg(self, e):
        return f"(-{e})"

    def binary(self, left, op, right):
        return f"({left} {op} {right})"

    def power(self, left, right):
        return f"({left} ** {right})"

    def comparison(self, left, op, right):
        return _comparison(left, _COMPARE[str(op)], right)

    def between(self, value, low, high):
        return f"({low} <= {value} <= {high})"

    def and_expr(self, *parts):
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def or_expr(self, *parts):
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def if_expr(self, cond, then, other):
        return f"({then} if {cond} is True else {other})"

    def in_expr(self, subject, *tests):
        """`x in < 5`, `x in [1..5]`, `x in ("a", "b")`: the tests applied to x, as one Python truth."""
        return "(" + " or ".join(_applied(t, subject) for t in tests) + ")"

    # The unary tests' structure (engine/bpmn/dmn/unary_tests.py), for input entries and `in`:
    def compare(self, op, operand):
        return _test("comparison", op=_COMPARE[str(op)], operand=operand)

    def closed_closed(self, low, high):
        return _test("range", low=low, high=high, low_closed=True, high_closed=True)

    def closed_open(self, low, high):
        return _test("range", low=low, high=high, low_closed=True, high_closed=False)

    def open_closed(self, low, high):
        return _test("range", low=low, high=high, low_closed=False, high_closed=True)

    def open_open(self, low, high):
        return _test("range", low=low, high=high, low_closed=False, high_closed=False)

    def plain(self, source):
        if PLACEHOLDER in re.findall(r"[A-Za-z_]\w*", source):
            return _test("expression", expression=source)
        if source == "None":
            return _test("expression", expression=f"{PLACEHOLDER} is None")
        return _test("comparison", op="==", operand=source, plain=True)



def _parse(text: str, start: str):
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        col = getattr(exc, "column", None)
        where = f" at column {col}" if isinstance(col, int) and col > 0 else ""
        got = getattr(exc, "token", None)
        near = f" near `{got}`" if isinstance(got, Token) and str(got) else ""
        raise FeelRefused(f"is not FEEL the engine reads{where}{near}") from None
    except LarkError as exc:
        raise FeelRefused(f"is not FEEL the engine reads ({exc})") from None


def _transform(tree, transformer):
    try:
        return transformer.transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, FeelRefused):
            raise exc.orig_exc from None
        raise


@lru_cache(maxsize=4096)
def expression(text: str) -> str:
    """The Python source a FEEL expression translates to; FeelRefused saying why not."""
    if not text.strip():
        raise FeelRefused("is empty")
    return _transform(_parse(text, "start_expr"), _ToPython())


def _test(kind: str, **fields) -> dict:
    return {"kind": kind, **fields, "dialect": "feel"}


def _member(target: str, key: str) -> str:
    """`target.key`, null when the target is null or has no such key (FEEL, as feel-scala 1.17 reads it)."""
    if target.count("or {}") >= 2 ** _MAX_PATH:
        raise FeelRefused(f"follows a path deeper than {_MAX_PATH} names; read a nearer field")
    return f"(({target} or {{}})[{key!r}] if {key!r} in ({target} or {{}}) else None)"


def _comparison(left: str, op: str, right: str) -> str:
    """A Python comparison; ordering null gives null, as in FEEL (so `if`, a rule, `and` take it as not true)."""
    if op in ("==", "!="):
        return f"({left} {op} {right})"
    unknown = [side for side in (left, right) if not _LITERAL.fullmatch(side)]
    if not unknown:
        return f"({left} {op} {right})"
    guard = " and ".join(f"{side} is not None" for side in unknown)
    return f"(({left} {op} {right}) if {guard} else None)"


def _applied(test: dict, subject: str) -> str:
    """A unary test applied to `subject`, as Python giving true, false or null."""
    kind = test["kind"]
    if kind == "any":
        return "True"
    if kind == "range":
        low = _comparison(test["low"], "<=" if test["low_closed"] else "<", subject)
        high = _comparison(subject, "<=" if test["high_closed"] else "<", test["high"])
        return f"({low} and {high})"
    if kind == "list":
        joined = " or ".join(_applied(t, subject) for t in test["items"])
        return f"(not ({joined}))" if test["negated"] else f"({joined})"
    if kind == "expression":
        return re.sub(rf"\b{PLACEHOLDER}\b", lambda _: subject, test["expression"])
    operand = test["operand"]
    if test.get("plain") and operand.startswith("["):
        return f"({subject} in {operand})"  # FEEL: equal to one of the list's values
    return _comparison(subject, test["op"], operand)


@v_args(inline=True)
class _ToTests(_ToPython):
    """Unary tests as engine/bpmn/dmn/unary_tests.py's structure, with Python operands."""

    def any(self):
        return _test("any")

    def start_tests(self, tests):
        return tests

    def negated(self, _not, tests):
        if tests["kind"] == "list":
            return {**tests, "negated": not tests["negated"]}
        return _test("list", items=[tests], negated=True)

    def tests(self, *items):
        return items[0] if len(items) == 1 else _test("list", items=list(items), negated=False)

@lru_cache(maxsize=4096)
def unary_tests(text: str) -> dict:
    """The test a FEEL input entry stands for (empty or `-` matches everything); FeelRefused saying why not."""
    text = text.strip()
    if not text:
        return _test("any")
    return _transform(_parse(text, "start_tests"), _ToTests())
