"""JUEL, as Camunda 7 writes it (`${amount > 1000}`, `#{!approved}`), translated into checked Python.

A small recursive-descent parser reads the expression language of the Java EE spec as Camunda
uses it, and builds a Python syntax tree that the sandbox's static check then accepts or refuses
like any other expression: the raw JUEL text is never evaluated. Only the constructs a model
drawn in Camunda Modeler needs are translated; beans, Spin (`S(..)`, `JSON(..)`) and method calls
other than `.equals()`, `execution.getVariable('x')` and Camunda's date built-ins are refused
with a message naming them.

Where the two languages differ, Python's meaning is kept and documented in the README:
an unknown variable is an error (as in Camunda), `a.b` reads key `b` of the map `a`; but
comparisons coerce their sides as JUEL's do (`${amount > '1000'}`, `${flag == 'true'}`).
"""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone

from engine.bpmn.juel_values import juel_bool, juel_compare
from engine.clock import current_now

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]])
    )""", re.X)
_WORD_OPS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=",
             "ge": ">=", "div": "/", "mod": "%"}
_LITERALS = {"true": True, "false": False, "null": None}
_COMPARE = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, ">": ast.Gt, "<=": ast.LtE, ">=": ast.GtE}
_ARITH = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "%": ast.Mod}
_SHIFTS = {"plusYears": "years", "plusMonths": "months", "plusWeeks": "weeks", "plusDays": "days",
           "plusHours": "hours", "plusMinutes": "minutes", "plusSeconds": "seconds",
           "minusYears": "-years", "minusMonths": "-months", "minusWeeks": "-weeks", "minusDays": "-days",
           "minusHours": "-hours", "minusMinutes": "-minutes", "minusSeconds": "-seconds"}
_SPIN = {"S", "JSON", "XML"}
_PYTHON_WORDS = {"if", "else", "in", "is", "for", "while", "lambda", "def", "class", "return", "None", "True",
                 "False", "import", "from", "as", "with", "try", "except", "finally", "raise", "pass", "break",
                 "continue", "del", "global", "nonlocal", "yield", "assert", "async", "await", "elif"}
_EXPRESSION = re.compile(r"[$#]\{")
#: What to write instead of a construct the translation refuses.
_INSTEAD = ("write a JUEL expression over process variables (`${amount > 1000}`), or a Python expression")


class JuelError(ValueError):
    """The text is not JUEL the engine can translate; the message says what and where."""


def is_juel(text: str | None) -> bool:
    """True if the text holds a `${..}` or `#{..}` expression."""
    return bool(text and _EXPRESSION.search(text))


class _Date:
    """Marks a syntax tree that stands for one of Camunda's date values (now(), dateTime())."""

    def __init__(self, node):
        self.node = node


class _Parser:
    def __init__(self, source: str):
        self.tokens = self._lex(source)
        self.pos = 0

    @staticmethod
    def _lex(source: str) -> list[tuple[str, str, int]]:
        tokens, i = [], 0
        while i < len(source):
            if source[i:].strip() == "":
                break
            m = _TOKEN.match(source, i)
            if not m or m.end() == i:
                bad = source[i:].lstrip()
                raise JuelError(f"cannot read `{bad[:20]}` at character {len(source) - len(bad) + 1}")
            kind = m.lastgroup
            text = m.group(kind)
            if kind == "ident" and text in _WORD_OPS:
                kind, text = "op", _WORD_OPS[text]
            tokens.append((kind, text, m.start(kind)))
            i = m.end()
        tokens.append(("end", "", len(source)))
        return tokens

    # -- token helpers --------------------------------------------------------------------------
    def peek(self, offset: int = 0):
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def take(self, *ops: str) -> str | None:
        kind, text, _ = self.peek()
        if kind == "op" and text in ops:
            self.pos += 1
            return text
        if kind == "ident" and text in ops:  # `empty`
            self.pos += 1
            return text
        return None

    def expect(self, op: str) -> None:
        if self.take(op) is None:
            kind, text, at = self.peek()
            found = "the end" if kind == "end" else f"`{text}`"
            raise JuelError(f"expected `{op}` at character {at + 1}, found {found}")

    # -- grammar (JUEL spec 1.8: choice, or, and, eq, cmp, add, mul, unary, value) ---------------
    def parse(self):
        node = self.expression()
        kind, text, at = self.peek()
        if kind != "end":
            raise JuelError(f"unexpected `{text}` at character {at + 1}")
        return node

    def expression(self):
        test = self.or_()
        if self.take("?") is None:
            return test
        yes = self.expression()
        self.expect(":")
        no = self.expression()
        return ast.IfExp(test=_truth_of(self.value_of(test)), body=self.value_of(yes), orelse=self.value_of(no))

    def _boolean(self, op: str, py, below):
        node = below()
        while self.take(op):
            node = ast.BoolOp(op=py(), values=[_truth_of(self.value_of(node)), _truth_of(self.value_of(below()))])
        return node

    def or_(self):
        return self._boolean("||", ast.Or, self.and_)

    def and_(self):
        return self._boolean("&&", ast.And, self.equality)

    def _binary(self, ops: dict, below, compare: bool):
        node = below()
        while (op := self.take(*ops)) is not None:
            left, right = self.value_of(node), self.value_of(below())
            # A comparison coerces its sides as JUEL does (engine/bpmn/juel_values.py), Python would not.
            node = (ast.Call(func=ast.Name("juel_compare", ast.Load()), args=[left, ast.Constant(op), right],
                             keywords=[]) if compare else ast.BinOp(left=left, op=ops[op](), right=right))
        return node

    def equality(self):
        return self._binary({k: v for k, v in _COMPARE.items() if k in ("==", "!=")}, self.comparison, True)

    def comparison(self):
        return self._binary({k: v for k, v in _COMPARE.items() if k not in ("==", "!=")}, self.additive, True)

    def additive(self):
        return self._binary({k: _ARITH[k] for k in "+-"}, self.multiplicative, False)

    def multiplicative(self):
        return self._binary({k: _ARITH[k] for k in "*/%"}, self.unary, False)

    def unary(self):
        if self.take("-"):
            return ast.UnaryOp(op=ast.USub(), operand=self.value_of(self.unary()))
        if self.take("!"):
            return ast.UnaryOp(op=ast.Not(), operand=_truth_of(self.value_of(self.unary())))
        if self.take("empty"):
            return _empty(self.value_of(self.unary()))
        return self.value()

    def value(self):
        kind, text, at = self.peek()
        if kind == "number":
            self.pos += 1
            node = ast.Constant(float(text) if any(c in text for c in ".eE") else int(text))
        elif kind == "string":
            self.pos += 1
            node = ast.Constant(_unquote(text))
        elif kind == "ident" and text in _LITERALS:
            self.pos += 1
            node = ast.Constant(_LITERALS[text])
        elif kind == "ident":
            self.pos += 1
            node = self.identifier(text)
        elif self.take("("):
            node = self.expression()
            self.expect(")")
        else:
            found = "the end of the expression" if kind == "end" else f"`{text}`"
            raise JuelError(f"expected a value at character {at + 1}, found {found}")
        return self.suffixes(node)

    def identifier(self, name: str):
        if self.peek()[1] == "(" and self.peek()[0] == "op":
            self.pos += 1
            args = self.arguments()
            if name in ("now", "dateTime") and not args:
                return _Date(ast.Call(func=ast.Name("juel_now", ast.Load()), args=[], keywords=[]))
            if name in _SPIN:
                raise JuelError(f"`{name}(...)` is Camunda Spin, which the engine does not have; {_INSTEAD}")
            raise JuelError(f"the function `{name}(...)` is not one the engine offers (only now() and dateTime()); "
                            f"{_INSTEAD}")
        if name == "execution":
            return self.execution()
        if name in _PYTHON_WORDS or name.startswith("_") or "$" in name:
            raise JuelError(f"the variable name `{name}` cannot be used in an expression here; rename the variable")
        return ast.Name(name, ast.Load())

    def execution(self):
        if self.take(".") and self.peek()[1] == "getVariable" and self.peek(1)[1] == "(":
            self.pos += 2
            args = self.arguments()
            if len(args) == 1 and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                return self.identifier(args[0].value)
            raise JuelError("execution.getVariable(..) needs the variable's name as a string literal")
        raise JuelError("`execution` may only be used as execution.getVariable('name'): the engine offers no "
                        "other method of Camunda's execution object; a script task or a form sets variables")

    def arguments(self) -> list:
        args = []
        if self.take(")"):
            return args
        while True:
            args.append(self.value_of(self.expression()))
            if self.take(")"):
                return args
            self.expect(",")

    def suffixes(self, node):
        while True:
            if self.take("["):
                index = self.value_of(self.expression())
                self.expect("]")
                node = ast.Subscript(value=self.value_of(node), slice=index, ctx=ast.Load())
            elif self.take("."):
                kind, name, at = self.peek()
                if kind != "ident":
                    raise JuelError(f"expected a property name after `.` at character {at + 1}")
                self.pos += 1
                if self.peek()[1] == "(" and self.peek()[0] == "op":
                    self.pos += 1
                    node = self.method(node, name, self.arguments())
                elif isinstance(node, _Date):
                    raise JuelError(f"`.{name}` of a date is not supported; use .plusDays(n) and the like, then .toDate()")
                else:
                    node = ast.Subscript(value=node, slice=ast.Constant(name), ctx=ast.Load())
            else:
                return node

    def method(self, node, name: str, args: list):
        if isinstance(node, _Date):
            if name == "toDate" and not args:
                return node
            if name in _SHIFTS and len(args) == 1:
                return _Date(ast.Call(func=ast.Name("juel_shift", ast.Load()),
                                      args=[node.node, ast.Constant(_SHIFTS[name]), args[0]], keywords=[]))
            raise JuelError(f"the date method `.{name}(...)` is not supported; use .plusDays(n), .plusWeeks(n), "
                            ".plusMonths(n), .plusHours(n), .plusMinutes(n) (or minus...), then .toDate()")
        if name == "equals" and len(args) == 1:
            return ast.Compare(left=node, ops=[ast.Eq()], comparators=[args[0]])
        target = ast.unparse(node) if isinstance(node, ast.AST) else "a value"
        raise JuelError(f"the method call `{target}.{name}(...)` is not supported (a bean or Spin method, which the "
                        f"engine does not have); {_INSTEAD}")

    @staticmethod
    def value_of(node):
        return node.node if isinstance(node, _Date) else node


def _truth_of(node):
    """An operand of !, &&, || or ?: read as JUEL reads it (the text 'false' is false, Python would say true);
    what is already true or false is left as it is, so conditions keep their plain shape."""
    if isinstance(node, ast.BoolOp) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)) \
            or (isinstance(node, ast.Constant) and isinstance(node.value, bool)) \
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("juel_compare", "juel_bool")):
        return node
    return ast.Call(func=ast.Name("juel_bool", ast.Load()), args=[node], keywords=[])


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: m.group(1), body)


def _empty(node):
    """JUEL's `empty x`: true for null, an empty string, list or map; never for 0 or false."""
    return ast.BoolOp(op=ast.Or(), values=[
        ast.Compare(left=node, ops=[ast.Is()], comparators=[ast.Constant(None)]),
        ast.Compare(left=node, ops=[ast.In()], comparators=[
            ast.Tuple(elts=[ast.Constant(""), ast.List(elts=[], ctx=ast.Load()), ast.Dict(keys=[], values=[])],
                      ctx=ast.Load())])])


def _parts(text: str) -> list[tuple[str, str]]:
    """The text as ("text", ..) and ("expr", ..) parts; braces inside string literals do not close."""
    parts, i = [], 0
    while i < len(text):
        m = _EXPRESSION.search(text, i)
        if not m:
            parts.append(("text", text[i:]))
            break
        if m.start() > i:
            parts.append(("text", text[i:m.start()]))
        j, quote = m.end(), None
        while j < len(text) and (quote or text[j] != "}"):
            if quote and text[j] == "\\":
                j += 1
            elif text[j] in "'\"":
                quote = None if quote == text[j] else (quote or text[j])
            j += 1
        if j >= len(text):
            raise JuelError(f"the expression starting at character {m.start() + 1} has no closing `}}`")
        parts.append(("expr", text[m.end():j]))
        i = j + 1
    return parts


def translate(text: str) -> str:
    """Python source for a JUEL text: `${expr}` alone is that expression; text with expressions inside
    (`PT${minutes}M`) is a string joining them. JuelError says why it cannot be translated."""
    parts = _parts(text.strip())
    if len(parts) == 1 and parts[0][0] == "expr":
        return ast.unparse(_expression(parts[0][1]))
    pieces = [ast.Constant(p) if kind == "text" else
              ast.Call(func=ast.Name("str", ast.Load()), args=[_expression(p)], keywords=[])
              for kind, p in parts]
    node = pieces[0] if pieces else ast.Constant("")
    for piece in pieces[1:]:
        node = ast.BinOp(left=node, op=ast.Add(), right=piece)
    return ast.unparse(node)


def _expression(source: str):
    if not source.strip():
        raise JuelError("the expression `${}` is empty")
    parser = _Parser(source)
    return parser.value_of(parser.parse())


def variable_name(text: str) -> str:
    """The variable a camunda:collection or elementVariable names: `items` or `${items}`."""
    source = text.strip()
    if is_juel(source):
        source = translate(source)
    if not source.isidentifier() or source in _PYTHON_WORDS or source.startswith("_"):
        raise JuelError(f"`{text}` does not name a variable; write the variable's name, or `${{name}}`")
    return source


def names(text: str) -> list[str]:
    """A comma-separated camunda: list as its items, each a name or a JUEL expression (commas inside
    `${..}` do not split)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{" and i and text[i - 1] in "$#":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif ch == "," and not depth:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


# -- Camunda's date built-ins, as bounded helpers diagrams may call ------------------------------

def juel_now() -> str:
    """now() and dateTime(): the current instant by the step's clock, as ISO text."""
    now = current_now()
    return (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).isoformat()


def juel_shift(instant: str, unit: str, amount) -> str:
    """dateTime().plusDays(n) and the like: the instant moved by `amount` units (months keep the day where it exists)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > 100_000:
        raise ValueError(f"{unit.lstrip('-')} must be a whole number up to 100,000, not {amount!r}")
    when = datetime.fromisoformat(instant)
    sign = -1 if unit.startswith("-") else 1
    unit, amount = unit.lstrip("-"), sign * amount
    if unit in ("years", "months"):
        months = when.month - 1 + amount * (12 if unit == "years" else 1)
        year, month = when.year + months // 12, months % 12 + 1
        day = min(when.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31,
                             30, 31, 31, 30, 31, 30, 31][month - 1])
        return when.replace(year=year, month=month, day=day).isoformat()
    return (when + timedelta(**{unit: amount})).isoformat()


HELPERS = {"juel_now": juel_now, "juel_shift": juel_shift, "juel_compare": juel_compare, "juel_bool": juel_bool}
