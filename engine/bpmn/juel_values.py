"""JUEL's comparisons with the coercions of the EL spec (1.8.1, 1.8.2), as Camunda 7's JUEL applies them.

`${amount > '1000'}` compares numbers, `${approved == 'true'}` compares true/false, `${total < 250}`
with a total sent as the text "120" compares 120: where one side is a number, both are read as
numbers (decimal if either is, a float if either is, else whole numbers); else where one is
true/false, both as true/false (text: "true" in any case is true, anything else false); else where
one is text, both as text. Null equals only null and orders with nothing. What EL cannot coerce
(text that is no number against a number, true/false against a number) is an error, as in Camunda.
Python's bool is an int; here, as in Java, it is not a number.
"""
from __future__ import annotations

import operator
import re
from decimal import Decimal, InvalidOperation

_ORDER = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_WHOLE = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


class JuelValueError(ValueError):
    """Two values JUEL cannot compare; the message names them."""


def juel_compare(left, op: str, right) -> bool:
    """`left op right` (op: == != < > <= >=) as JUEL evaluates it."""
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if op not in _ORDER:
        raise JuelValueError(f"`{op}` is not a JUEL comparison")
    if left is None or right is None:
        return left is None and right is None and op in ("<=", ">=")
    kind = _numeric_kind(left, right)
    if kind is not None:
        return _ORDER[op](_number(left, kind, right), _number(right, kind, left))
    if isinstance(left, str) or isinstance(right, str):
        return _ORDER[op](_text(left), _text(right))
    try:
        return _ORDER[op](left, right)
    except TypeError:
        raise JuelValueError(f"JUEL cannot order {_shown(left)} and {_shown(right)}") from None


def _equal(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    kind = _numeric_kind(left, right)
    if kind is not None:
        return _number(left, kind, right) == _number(right, kind, left)
    if isinstance(left, bool) or isinstance(right, bool):
        return _truth(left, right) == _truth(right, left)
    if isinstance(left, str) or isinstance(right, str):
        return _text(left) == _text(right)
    return left == right


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _numeric_kind(left, right) -> type | None:
    """The type both sides are read as when either is a number (EL: BigDecimal, Double, Long)."""
    kinds = {type(v) for v in (left, right) if _is_number(v)}
    if not kinds:
        return None
    return Decimal if Decimal in kinds else float if float in kinds else int


def _number(value, kind: type, other):
    if _is_number(value):
        return kind(value) if kind is not Decimal or not isinstance(value, float) else Decimal(str(value))
    if isinstance(value, str):
        if value == "":
            return kind(0)  # EL: the empty text is 0
        try:
            if kind is int and _WHOLE.fullmatch(value):
                return int(value)
            if kind is not int and _FLOAT.fullmatch(value):
                return kind(value.strip())
        except (ValueError, InvalidOperation):
            pass
        raise JuelValueError(f"JUEL cannot read the text {_shown(value)} as a number to compare it with "
                             f"{_shown(other)}")
    raise JuelValueError(f"JUEL cannot compare {_shown(value)} with the number {_shown(other)}")


def juel_bool(value) -> bool:
    """An operand of `!`, `&&`, `||` or `?:` as JUEL coerces it: null and the empty text are false, a
    text is true only if it reads `true` (Java's Boolean.valueOf); a number or anything else is an error."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise JuelValueError(f"JUEL cannot read {_shown(value)} as true or false")


def _truth(value, other) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"  # Java's Boolean.valueOf; the empty text is false
    raise JuelValueError(f"JUEL cannot compare {_shown(value)} with {_shown(other)}")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
