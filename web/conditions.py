"""A diagram's simple conditions (`discovery_decision == 'hold'`) in plain language, and as a
small rule the browser can check to show a field only when it applies.

Only comparisons of a form field with literal values, joined by and/or/not, are understood;
anything else gives None, and the page then says the field may be needed (the server still
checks the condition itself, through the sandbox).
"""
from __future__ import annotations

import ast

from .formatting import label as key_label
from .formatting import value as shown

MAX_CONDITION = 500  # characters; a longer condition is not summarised
_OPS = {ast.Eq: "eq", ast.NotEq: "ne", ast.In: "in", ast.NotIn: "not_in", ast.Lt: "lt", ast.LtE: "le",
        ast.Gt: "gt", ast.GtE: "ge"}
_WORDS = {"eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of", "lt": "is less than",
          "le": "is at most", "gt": "is more than", "ge": "is at least"}


def _literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_literal(n) for n in node.elts]
        return None if any(i is _NOT for i in items) else items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    return _NOT


_NOT = object()
# The engine translates a JUEL comparison into `juel_compare(a, '<', b)` (it coerces as JUEL does).
_JUEL_OPS = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE}


def _as_compare(node):
    """A translated JUEL comparison read as the comparison it is (a JUEL truth test as its operand); any
    other node as it is."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "juel_bool" \
            and len(node.args) == 1 and not node.keywords:
        return _as_compare(node.args[0])
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "juel_compare"
            and len(node.args) == 3 and not node.keywords and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in _JUEL_OPS):
        return ast.Compare(left=node.args[0], ops=[_JUEL_OPS[node.args[1].value]()], comparators=[node.args[2]])
    return node


def _rule(node) -> dict | None:
    node = _as_compare(node)
    if isinstance(node, ast.BoolOp):
        parts = [_rule(v) for v in node.values]
        if any(p is None for p in parts):
            return None
        return {"op": "and" if isinstance(node.op, ast.And) else "or", "parts": parts}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _rule(node.operand)
        return None if inner is None else {"op": "not", "parts": [inner]}
    if isinstance(node, ast.Name):
        return {"op": "truthy", "field": node.id}
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS:
        left, right = node.left, node.comparators[0]
        op = _OPS[type(node.ops[0])]
        if isinstance(left, ast.Name):
            lit = _literal(right)
            if lit is _NOT or (op in ("in", "not_in")) != isinstance(lit, list):
                return None
            if isinstance(lit, bool) and op in ("eq", "ne"):  # `approved == False` reads as "not approved"
                truthy = {"op": "truthy", "field": left.id}
                return truthy if lit == (op == "eq") else {"op": "not", "parts": [truthy]}
            return {"op": op, "field": left.id, "value": lit}
    return None


def rule(expression: str | None) -> dict | None:
    """The condition as a rule {"op", "field", "value"|"parts"}, or None when it is not a simple one."""
    text = (expression or "").strip()
    if text.startswith(("${", "#{")) and text.endswith("}"):  # JUEL as Camunda writes it: the same shapes
        text = text[2:-1].replace("&&", " and ").replace("||", " or ")
    if not text or len(text) > MAX_CONDITION:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return None
    return _rule(tree.body)


def _value(v, field: dict | None) -> str:
    if isinstance(v, list):
        return ", ".join(_value(i, field) for i in v)
    return shown(v, field) if field else (f"'{v}'" if isinstance(v, str) else shown(v))


def plain(r: dict, fields: dict) -> str:
    """A rule as people say it: 'Decision is Hold', 'Outcome is Lost or Outcome is Killed'."""
    op = r["op"]
    if op in ("and", "or"):
        return f" {op} ".join(plain(p, fields) for p in r["parts"])
    if op == "not":
        inner = r["parts"][0]
        if inner["op"] == "truthy":
            return f"{_name(inner['field'], fields)} is not set or is no"
        return f"not ({plain(inner, fields)})"
    name, field = _name(r["field"], fields), fields.get(r["field"])
    if op == "truthy":
        return f"{name} is yes" if (field or {}).get("type") == "boolean" else f"{name} is filled in"
    return f"{name} {_WORDS[op]} {_value(r['value'], field)}"


def _name(field_id: str, fields: dict) -> str:
    return (fields.get(field_id) or {}).get("label") or key_label(field_id)


def describe(expression: str | None, fields: dict) -> str | None:
    """The condition in plain language, or None when it is not a simple one."""
    r = rule(expression)
    return plain(r, fields) if r else None
