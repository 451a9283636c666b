"""Decide a decision table on a deal's data, under the hit policy the table declares.

`decide(table, data, evaluate)` is a pure function of the plain-data table model (built by
engine/bpmn/diagram_model.py), the data and an `evaluate(expression, context)` function (the
sandbox's, as the script engine offers it). Each input expression is evaluated once; each
input entry is parsed (engine/bpmn/dmn/unary_tests.py, cached) and tested against its column's value;
the hit policy then picks the hits, as DMN 1.3 defines them (and Camunda 7 runs them):

- UNIQUE: at most one rule may match; two matching rules are a failure naming both.
- FIRST: the first matching rule in rule order.
- PRIORITY: the matching rule whose outputs come first in the outputs' output values.
- ANY: every matching rule must give the same outputs; otherwise a failure naming them.
- RULE ORDER: every matching rule, in rule order; OUTPUT ORDER: in output values order.
- COLLECT: every matching rule; with an aggregation, the SUM, MIN, MAX or COUNT of the one
  output's values (empty output entries are left out, as Camunda does).

Expressions and cells are in the language their table records (engine/bpmn/dmn/dialects.py turns
FEEL into the sandbox's Python). When no rule matches, a table in FEEL (Camunda's and DMN's
default) gives an empty result, as Camunda does; a Python table fails, as it always has, saying
so. Multiple-hit tables then give empty lists (COUNT 0). FEEL's null: an order comparison with
no value, or with a value of another type, does not match (it fails in a Python table).
"""
from __future__ import annotations

import operator
import re
from datetime import date

from engine.bpmn.dmn.dialects import evaluate_in, with_nulls
from engine.bpmn.dmn.unary_tests import PLACEHOLDER, CellRefused, parse

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "RULE ORDER", "OUTPUT ORDER", "COLLECT")
SINGLE_HIT = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
ORDERED = ("PRIORITY", "OUTPUT ORDER")  # need output values to order by
OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "==": operator.eq, "!=": operator.ne}
NUMERIC_TYPES = ("number", "integer", "long", "double")
TYPES = ("string", "boolean", *NUMERIC_TYPES, "date", "any")
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class DecisionFailed(Exception):
    """The table could not decide for these data; the message says where and why."""


def type_name(type_ref: str | None) -> str | None:
    """A typeRef as the engine knows it ('feel:number' -> 'number'), None for no type."""
    text = (type_ref or "").strip()
    text = text.split(":", 1)[1] if text.lower().startswith("feel:") else text
    return text.lower() or None


def fits(value, type_ref: str | None) -> bool:
    """Whether a value is of the column's type (None, no value, fits every type)."""
    kind = type_name(type_ref)
    if value is None or kind in (None, "any"):
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("number", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, date) or (isinstance(value, str) and bool(_ISO_DATE.match(value)))
    return True  # a type deploy does not know is refused there


def column_name(column: dict) -> str:
    """How a column is named to people: its label, else its expression or output name, else its id."""
    return column.get("label") or column.get("expression") or column.get("name") or column.get("id") or "?"


def output_key(column: dict) -> str:
    """The data field an output column sets."""
    return column.get("name") or column.get("label") or column.get("id")


def rule_name(rule: dict) -> str:
    return f"rule {rule['id']} (row {rule['row']})" if rule.get("id") else f"row {rule['row']}"


def language(table: dict) -> str:
    """The language a table is written in (tables stored before it was recorded are Python)."""
    return table.get("language") or "python"


def decide(table: dict, data: dict, evaluate) -> dict:
    """{'inputs': {column: value}, 'rules': [hit rules], 'outputs': {field: value or list},
    'results': [{field: value} per hit, as Camunda's result list], 'description'}."""
    values = _input_values(table, data, evaluate)
    inputs = {column_name(c): v for c, v in zip(table["inputs"], values)}
    policy = table.get("hit_policy") or "UNIQUE"
    matched = []
    for rule in table["rules"]:
        if _rule_matches(table, rule, values, data, evaluate):
            matched.append(rule)
            if policy == "FIRST":
                break
    if not matched and policy in SINGLE_HIT and language(table) == "python":
        raise DecisionFailed(f"decision '{table['decision']}' has no rule matching the inputs {inputs}")
    if policy == "UNIQUE" and len(matched) > 1:
        raise DecisionFailed(f"decision '{table['decision']}' has hit policy UNIQUE, but {_names(matched)} all "
                             f"match the inputs {inputs}; make the rules exclusive or choose another hit policy")
    results = [(rule, _outputs(table, rule, data, evaluate)) for rule in matched]
    if not results and policy in SINGLE_HIT:
        return {"inputs": inputs, "rules": [], "description": None, "outputs": {}, "results": []}
    hits, outputs = _apply(table, policy, results, data, evaluate, inputs)
    by_rule = {id(rule): out for rule, out in results}
    # Camunda's result entries leave out the outputs a rule leaves empty.
    listed = [_given(rule, by_rule[id(rule)]) for rule in hits]
    if policy == "COLLECT" and table.get("aggregation"):
        listed = [outputs] if matched and None not in outputs.values() else []
    return {"inputs": inputs, "results": [_nest(out) for out in listed],
            "rules": [{"id": r["id"], "row": r["row"], "description": r.get("description")} for r in hits],
            "description": "; ".join(r["description"] for r in hits if r.get("description")) or None,
            "outputs": _nest(outputs)}


def _given(rule: dict, out: dict) -> dict:
    """The outputs a rule's non-empty output entries give."""
    return {k: v for (k, v), cell in zip(out.items(), rule["outputs"]) if (cell.get("text") or "").strip()}


def _names(rules: list[dict]) -> str:
    names = [rule_name(r) for r in rules]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _input_values(table: dict, data: dict, evaluate) -> list:
    values = []
    for column in table["inputs"]:
        expression = (column.get("expression") or "").strip()
        if not expression:
            values.append(None)
            continue
        try:
            values.append(evaluate_in(evaluate, expression, column.get("dialect") or "python", data))
        except CellRefused as exc:
            raise DecisionFailed(f"decision '{table['decision']}': input '{column_name(column)}' (`{expression}`) "
                                 f"{exc}") from None
        except Exception as exc:  # noqa: BLE001 - any failure of diagram code is this deal's failure
            raise DecisionFailed(f"decision '{table['decision']}': input '{column_name(column)}' (`{expression}`) "
                                 f"failed: {_said(exc)}") from None
    return values


def _said(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _rule_matches(table: dict, rule: dict, values: list, data: dict, evaluate) -> bool:
    if len(rule["inputs"]) != len(values):
        raise DecisionFailed(f"decision '{table['decision']}' {rule_name(rule)} has {len(rule['inputs'])} input "
                             f"entries for {len(values)} input columns")
    for column, cell, value in zip(table["inputs"], rule["inputs"], values):
        # camunda:inputVariable names the column's value for its cells, besides `?`/cellInput
        scope = {**data, column["input_variable"]: value} if column.get("input_variable") else data
        try:
            if not _test(parse(cell.get("text"), cell.get("dialect") or "python"), value, scope, evaluate):
                return False
        except (CellRefused, _CellFailed) as exc:
            raise DecisionFailed(f"decision '{table['decision']}' {rule_name(rule)}, column '{column_name(column)}', "
                                 f"cell `{(cell.get('text') or '').strip()}`: {exc}") from None
    return True


class _CellFailed(Exception):
    pass


def _value(expression: str, context: dict, evaluate, feel: bool = False):
    try:
        return evaluate(expression, with_nulls(expression, context) if feel else context)
    except Exception as exc:  # noqa: BLE001
        raise _CellFailed(f"`{expression}` failed: {_said(exc)}") from None


def _compare(op: str, value, operand, feel: bool = False) -> bool:
    if feel and op in ("==", "!=") and isinstance(value, bool) != isinstance(operand, bool):
        return op == "!="  # FEEL: true is not 1
    if feel and op not in ("==", "!=") and (value is None or operand is None):
        return False  # FEEL: ordering null gives null, which matches nothing
    try:
        return bool(OPERATORS[op](value, operand))
    except TypeError:
        if feel:
            return False  # FEEL: comparing values of different types gives null
        raise _CellFailed(f"cannot compare {value!r} {op} {operand!r}") from None


def _test(test: dict, value, data: dict, evaluate) -> bool:
    kind = test["kind"]
    if kind == "any":
        return True
    feel = test.get("dialect") == "feel"
    if kind == "comparison":
        operand = _value(test["operand"], data, evaluate, feel)
        if test.get("plain") and isinstance(operand, bool) and not isinstance(value, bool):
            return operand  # FEEL: an expression that gives true (or false) with the input is the test itself
        if test.get("plain") and isinstance(operand, list) and not isinstance(value, list):
            return any(_compare("==", value, item, feel) for item in operand)  # FEEL: equal to one in the list
        return _compare(test["op"], value, operand, feel)
    if kind == "range":
        low, high = _value(test["low"], data, evaluate, feel), _value(test["high"], data, evaluate, feel)
        return (_compare("<=" if test["low_closed"] else "<", low, value, feel)
                and _compare("<=" if test["high_closed"] else "<", value, high, feel))
    if kind == "list":
        hit = any(_test(item, value, data, evaluate) for item in test["items"])
        return not hit if test["negated"] else hit
    result = _value(test["expression"], {**data, PLACEHOLDER: value}, evaluate, feel)
    if feel and result is None:
        return False  # FEEL: a test that gives null does not match
    if not isinstance(result, bool):
        raise _CellFailed(f"gave {result!r}, not True or False")
    return result


def _outputs(table: dict, rule: dict, data: dict, evaluate) -> dict:
    out = {}
    for column, cell in zip(table["outputs"], rule["outputs"]):
        text = (cell.get("text") or "").strip()
        where = f"decision '{table['decision']}' {rule_name(rule)}, output '{column_name(column)}'"
        try:
            value = evaluate_in(evaluate, text, cell.get("dialect") or "python", data) if text else None
        except CellRefused as exc:
            raise DecisionFailed(f"{where} `{text}` {exc}") from None
        except Exception as exc:  # noqa: BLE001
            raise DecisionFailed(f"{where} `{text}` failed: {_said(exc)}") from None
        if not fits(value, column.get("type_ref")):
            raise DecisionFailed(f"{where} `{text}` gave {value!r}, which is not a {type_name(column.get('type_ref'))}")
        out[output_key(column)] = value
    return out


def _apply(table, policy, results, data, evaluate, inputs) -> tuple[list, dict]:
    """The hit rules and the decision's outputs under the policy."""
    keys = [output_key(c) for c in table["outputs"]]
    if policy in SINGLE_HIT:
        if policy == "ANY" and any(out != results[0][1] for _, out in results[1:]):
            raise DecisionFailed(f"decision '{table['decision']}' has hit policy ANY, but {_names([r for r, _ in results])}"
                                 f" match the inputs {inputs} with different outputs")
        if policy == "PRIORITY":
            results = _by_output_order(table, results, data, evaluate)
        rule, out = results[0]
        return [rule], out
    if policy == "OUTPUT ORDER":
        results = _by_output_order(table, results, data, evaluate)
    aggregation = table.get("aggregation")
    if policy == "COLLECT" and aggregation:
        key, value = _aggregate(table, aggregation, results)
        return [r for r, _ in results], {key: value}
    return [r for r, _ in results], {k: [out[k] for _, out in results] for k in keys}


def _by_output_order(table, results, data, evaluate) -> list:
    """The results sorted by their outputs' positions in the output values lists (stable: rule order breaks ties)."""
    orders = []
    for column in table["outputs"]:
        texts = column.get("values") or []
        if texts:
            orders.append((output_key(column), column, [_output_value(table, column, t, data, evaluate) for t in texts]))

    def rank(item):
        rule, out = item
        positions = []
        for key, column, allowed in orders:
            if out[key] not in allowed:
                raise DecisionFailed(f"decision '{table['decision']}' {rule_name(rule)} gives {out[key]!r} for output "
                                     f"'{column_name(column)}', which is not among its output values {allowed}")
            positions.append(allowed.index(out[key]))
        return positions

    return sorted(results, key=rank)


def _output_value(table, column, text, data, evaluate):
    try:
        return evaluate_in(evaluate, text, language(table), data)
    except Exception as exc:  # noqa: BLE001 - a refused value too: the deploy check names it
        raise DecisionFailed(f"decision '{table['decision']}': output value `{text}` of '{column_name(column)}' "
                             f"failed: {_said(exc)}") from None


def _aggregate(table: dict, aggregation: str, results: list) -> tuple[str, object]:
    """(output name, aggregate) of the matching rules' values. As in Camunda, each rule gives at most
    one output (a table may have several columns, each rule filling one); the name is the first given."""
    key, values = None, []
    for rule, out in results:
        given = list(_given(rule, out).items())
        if len(given) > 1:
            raise DecisionFailed(f"decision '{table['decision']}' {rule_name(rule)} gives {len(given)} outputs; "
                                 f"COLLECT {aggregation} aggregates one output per rule")
        if given:
            key = key or given[0][0]
            if given[0][1] is not None:
                values.append(given[0][1])
    key = key or output_key(table["outputs"][0])
    if aggregation == "COUNT":
        return key, len(values)
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise DecisionFailed(f"decision '{table['decision']}': COLLECT {aggregation} needs numbers, got {values}")
    if not values:
        return key, None
    return key, {"SUM": sum, "MIN": min, "MAX": max}[aggregation](values)


def _nest(outputs: dict) -> dict:
    """Dotted output names ('item.y') set a field inside a field, as Camunda's and SpiffWorkflow's tables do."""
    out: dict = {}
    for key, value in outputs.items():
        *path, last = str(key).split(".")
        target = out
        for part in path:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[last] = value
    return out
