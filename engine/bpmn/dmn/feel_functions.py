"""FEEL's built-in functions as engine/bpmn/dmn/feel.py translates them: each call becomes the sandbox's
Python over its (already translated) arguments, using only builtins the sandbox offers. Dates and
times are ISO text in the engine, as forms store them; a literal one is checked here.
"""
from __future__ import annotations

import ast
from datetime import date, datetime, time


class FeelRefused(Exception):
    """The text is not FEEL the engine reads; the message says what and what to write instead."""


#: FEEL functions the engine reads, with their arity (None: one or more).
FUNCTIONS = {
    "not": (1,), "date": (1, 3), "date and time": (1,), "time": (1,), "string": (1,), "number": (1,),
    "string length": (1,), "upper case": (1,), "lower case": (1,), "contains": (2,), "starts with": (2,),
    "ends with": (2,), "substring": (2, 3), "substring before": (2,), "substring after": (2,),
    "abs": (1,), "floor": (1,), "ceiling": (1,), "decimal": (2,), "round half even": (2,), "modulo": (2,),
    "odd": (1,), "even": (1,), "min": None, "max": None, "sum": None, "count": (1,), "mean": (1,),
    "list contains": (2,),
}


def call(name: str, args: list[str]) -> str:
    arity = FUNCTIONS.get(name, ())
    if name not in FUNCTIONS:
        raise FeelRefused(f"calls `{name}(...)`, which is not a FEEL function the engine knows "
                          f"({', '.join(sorted(FUNCTIONS))})")
    if arity is not None and len(args) not in arity:
        raise FeelRefused(f"calls `{name}` with {len(args)} arguments (it takes {' or '.join(map(str, arity))})")
    if arity is None and not args:
        raise FeelRefused(f"calls `{name}()` with no arguments")
    a = args
    if name in ("date", "date and time", "time"):
        return _temporal(name, a)
    simple = {
        "not": "(not {0})", "string": "str({0})", "number": "float({0})", "string length": "len({0})",
        "upper case": "{0}.upper()", "lower case": "{0}.lower()", "contains": "({1} in {0})",
        "starts with": "{0}.startswith({1})", "ends with": "{0}.endswith({1})",
        "substring before": "({0}.partition({1})[0] if {1} in {0} else '')",
        "substring after": "({0}.partition({1})[2] if {1} in {0} else '')",
        "abs": "abs({0})", "floor": "int({0} // 1)", "ceiling": "(-int(-{0} // 1))",
        "decimal": "round({0}, {1})", "round half even": "round({0}, {1})", "modulo": "({0} % {1})",
        "odd": "({0} % 2 == 1)", "even": "({0} % 2 == 0)", "count": "len({0})",
        "mean": "(sum({0}) / len({0}))", "list contains": "({1} in {0})",
    }
    if name in simple:
        return simple[name].format(*a)
    if name == "substring":
        start = f"(({a[1]} - 1) if {a[1]} > 0 else len({a[0]}) + {a[1]})"
        return f"{a[0]}[{start}:]" + (f"[:{a[2]}]" if len(a) == 3 else "")
    # min, max, sum: of one list, or of several values
    items = a[0] if len(a) == 1 else f"[{', '.join(a)}]"
    return f"{name}({items})"


def _literal_text(source: str) -> str | None:
    """The text of a string literal in translated source, else None."""
    if len(source) >= 2 and source[0] == source[-1] and source[0] in "'\"":
        try:
            return ast.literal_eval(source)
        except (ValueError, SyntaxError):
            return None
    return None


def _temporal(name: str, args: list[str]) -> str:
    """Dates and times are ISO text in the engine (as forms store them): a literal is checked here."""
    if name == "date" and len(args) == 3:
        parts = [a for a in args if a.isascii() and a.isdigit()]
        if len(parts) != 3:
            raise FeelRefused("calls `date(year, month, day)` with values that are not literal numbers; "
                              "write date(\"2026-01-31\")")
        try:
            return repr(date(*map(int, parts)).isoformat())
        except ValueError as exc:
            raise FeelRefused(f"`date({', '.join(args)})` is no date: {exc}") from None
    text = _literal_text(args[0])
    if text is None:
        return f"str({args[0]})[:10]" if name == "date" else f"str({args[0]})"
    reader = {"date": date.fromisoformat, "date and time": datetime.fromisoformat, "time": time.fromisoformat}[name]
    try:
        reader(text)
    except ValueError:
        raise FeelRefused(f"`{name}(\"{text}\")` is not an ISO {name} (e.g. "
                          f"{ {'date': '2026-01-31', 'date and time': '2026-01-31T09:00:00', 'time': '09:00:00'}[name]})"
                          ) from None
    return repr(text)
