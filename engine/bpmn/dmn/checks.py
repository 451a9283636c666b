"""Deploy-time checks of a decision table: what it declares, every cell, and every name it reads.

Each problem names the decision, and for a cell the rule (id and row), the column (label)
and the cell's text, with the cell's place for the designer to mark (`Problem.cell`).
"""
from __future__ import annotations

import ast

from engine import sandbox
from engine.bpmn.dmn import dialects as dmn_dialects, unary_tests
from engine.bpmn.dmn.evaluate import (AGGREGATIONS, HIT_POLICIES, NUMERIC_TYPES, ORDERED, TYPES, column_name, fits,
                                      language, output_key, rule_name, type_name)
from engine.errors import Problem
from engine.bpmn.dmn.unary_tests import CellRefused


def _python(text: str | None, dialect: str) -> str | None:
    """The Python an expression in `dialect` translates to, None when it is refused (lint says why)."""
    try:
        return dmn_dialects.source(text, dialect or "python")
    except CellRefused:
        return None


def _problem(decision: dict, reason: str, line=None, cell: dict | None = None) -> Problem:
    return Problem(decision["file"], reason, decision["id"], decision["name"], line or decision.get("line"), cell)


def _cell_problem(decision: dict, rule: dict, column: dict, cell: dict, kind: str, reason: str) -> Problem:
    """A problem with one cell: "rule R (row 2), column 'Industry', cell `...` <reason>" (or "output 'X' `...`")."""
    text = (cell["text"] or "").strip()
    where = f"column '{column_name(column)}', cell" if kind == "input" else f"output '{column_name(column)}'"
    return _problem(decision, f"{rule_name(rule)}, {where} `{text}` {reason}", cell["line"],
                    {"rule": rule.get("id"), "row": rule["row"], "column": column.get("id"), "kind": kind})


def _compiles(source: str) -> str | None:
    try:
        sandbox.check(source)
    except sandbox.SandboxError as exc:
        return str(exc)
    return None


def lint_table(decision: dict) -> list[Problem]:
    """Problems with a decision's table that need no process to see: policy, types, languages, every cell."""
    table = decision["table"]
    problems = _declarations(decision, table)
    for column in table["inputs"]:
        where = f"input column '{column_name(column)}'"
        if not column["expression"]:
            problems.append(_problem(decision, f"{where} has no input expression (say which data field it reads)",
                                     column["line"]))
        elif (reason := expression_problem(column["expression"], column["dialect"])) is not None:
            problems.append(_problem(decision, f"input expression `{column['expression']}` {reason}", column["line"]))
    for rule in table["rules"]:
        problems += _rule_problems(decision, table, rule)
    return problems


def lint_requirements(decision: dict, siblings: dict) -> list[Problem]:
    """A decision's required decisions must be decisions of its own file, and never require it back."""
    problems = []
    for required in decision["requires"]:
        if required not in siblings:
            problems.append(_problem(decision, f"requires decision '{required}', which is not in this file (a "
                                     "required decision is one of its own file's decisions, as in Camunda)"))
    path, seen, todo = None, set(), [(decision["id"], (decision["id"],))]
    while todo and path is None:  # each decision visited once: linear however the graph is drawn
        did, trail = todo.pop()
        for required in (siblings.get(did) or {}).get("requires") or []:
            if required == decision["id"]:
                path = [*trail, required]
                break
            if required not in seen:
                seen.add(required)
                todo.append((required, (*trail, required)))
    if path:
        problems.append(_problem(decision, "requires itself (" + " -> ".join(path) + "); a decision graph cannot "
                                 "go round in a circle"))
    return problems


def lint_literal(decision: dict) -> list[Problem]:
    """Problems with a literal-expression decision: its expression, and its variable's type."""
    literal = decision["literal"]
    if not literal["expression"]:
        return [_problem(decision, "the literal expression is empty (write the value it gives)", literal["line"])]
    if (reason := expression_problem(literal["expression"], literal["dialect"])) is not None:
        return [_problem(decision, f"literal expression `{literal['expression']}` {reason}", literal["line"])]
    if type_name(literal["type_ref"]) not in (None, *TYPES):
        return [_problem(decision, f"the variable has type '{literal['type_ref']}', which the engine does not know "
                         f"({', '.join(TYPES)})", literal["line"])]
    return []


def _declarations(decision: dict, table: dict) -> list[Problem]:
    problems = []
    policy, aggregation = table["hit_policy"], table["aggregation"]
    if policy not in HIT_POLICIES:
        problems.append(_problem(decision, f"hit policy '{policy}' is not one the engine knows "
                                 f"({', '.join(HIT_POLICIES)})", table["line"]))
    if aggregation and policy != "COLLECT":
        problems.append(_problem(decision, f"aggregation {aggregation} only goes with hit policy COLLECT, "
                                 f"not {policy}", table["line"]))
    elif aggregation and aggregation not in AGGREGATIONS:
        problems.append(_problem(decision, f"aggregation '{aggregation}' is not one the engine knows "
                                 f"({', '.join(AGGREGATIONS)})", table["line"]))
    elif aggregation and len(table["outputs"]) != 1 and language(table) == "python":
        problems.append(_problem(decision, f"COLLECT {aggregation} aggregates one output, but the table has "
                                 f"{len(table['outputs'])} output columns (DMN 1.3 allows no aggregation of compound "
                                 "outputs); split the table or drop the aggregation", table["line"]))
    elif aggregation in ("SUM", "MIN", "MAX") and type_name(table["outputs"][0]["type_ref"]) not in (None, *NUMERIC_TYPES):
        problems.append(_problem(decision, f"COLLECT {aggregation} needs numbers, but output "
                                 f"'{column_name(table['outputs'][0])}' is of type {table['outputs'][0]['type_ref']}",
                                 table["line"]))
    if aggregation and len(table["outputs"]) > 1 and language(table) != "python":
        for rule in table["rules"]:  # Camunda aggregates a compound table's outputs if each rule fills one
            if sum(1 for c in rule["outputs"] if (c["text"] or "").strip()) > 1:
                problems.append(_problem(decision, f"{rule_name(rule)} fills several outputs, but COLLECT {aggregation} "
                                         "aggregates one output per rule; leave all but one empty", rule["line"]))
    if policy in ORDERED and not any(c["values"] for c in table["outputs"]):
        problems.append(_problem(decision, f"hit policy {policy} orders the matching rules by their outputs' output "
                                 "values, but no output column lists its output values (e.g. \"high\",\"medium\",\"low\")",
                                 table["line"]))
    if not table["outputs"]:
        problems.append(_problem(decision, "the table has no output column", table["line"]))
    for column in table["inputs"] + table["outputs"]:
        if type_name(column["type_ref"]) not in (None, *TYPES):
            problems.append(_problem(decision, f"column '{column_name(column)}' has type '{column['type_ref']}', which "
                                     f"the engine does not know ({', '.join(TYPES)})", column["line"]))
    for column in table["outputs"]:
        if not output_key(column):
            problems.append(_problem(decision, "an output column has no name (the data field it sets)", column["line"]))
        for text in column["values"] or []:
            node = _expression(text)
            if not isinstance(node, ast.Constant) or not fits(node.value, column["type_ref"]):
                problems.append(_problem(decision, f"output values `{column['values_text']}` of '{column_name(column)}' "
                                         f"must be a list of {type_name(column['type_ref']) or 'literal'} values, "
                                         "e.g. \"high\",\"medium\",\"low\"", column["line"]))
                break
    return problems


def _expression(text: str) -> ast.expr | None:
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return None


def _rule_problems(decision: dict, table: dict, rule: dict) -> list[Problem]:
    problems = []
    for kind, cells, columns in (("input", rule["inputs"], table["inputs"]), ("output", rule["outputs"], table["outputs"])):
        if len(cells) != len(columns):
            problems.append(_problem(decision, f"{rule_name(rule)} has {len(cells)} {kind} entries for "
                                     f"{len(columns)} {kind} columns", rule["line"],
                                     {"rule": rule.get("id"), "row": rule["row"], "column": None, "kind": "rule"}))
            return problems
    for kind, check, columns, cells in (("input", input_entry_problem, table["inputs"], rule["inputs"]),
                                        ("output", output_entry_problem, table["outputs"], rule["outputs"])):
        for column, cell in zip(columns, cells):
            reason = check(column, cell)
            if reason:
                problems.append(_cell_problem(decision, rule, column, cell, kind, reason))
    return problems


def expression_problem(text: str, dialect: str) -> str | None:
    """Why an expression in `dialect` cannot be evaluated, if it cannot: refused, or not compiling."""
    try:
        translated = dmn_dialects.source(text, dialect or "python")
    except CellRefused as exc:
        return str(exc)
    if (reason := _compiles(translated)) is not None:
        return f"does not compile: {reason}"
    return None


def input_entry_problem(column: dict, cell: dict) -> str | None:
    """Why an input entry is no test of its column, if it is not."""
    try:
        test = unary_tests.parse(cell["text"], cell["dialect"])
    except CellRefused as exc:
        return str(exc)
    for source in unary_tests.expressions(test):
        if (reason := _compiles(source)) is not None:
            return f"does not compile: {reason}"
    return _operand_type_problem(column, test)


def _operand_type_problem(column: dict, test: dict) -> str | None:
    kind = type_name(column["type_ref"])
    if kind in (None, "any"):
        return None
    ordered = test["kind"] == "range" or (test["kind"] == "comparison" and test["op"] not in ("==", "!="))
    if ordered and kind == "boolean":
        return f"orders the values of '{column_name(column)}', which are True or False; compare with `== True`"
    for source in unary_tests.expressions(test):
        node = _expression(source)
        value = _literal(node)
        if value is not _NOT_LITERAL and not fits(value, column["type_ref"]):
            return (f"compares the column, of type {kind}, with {source}, which is "
                    f"{_kind_of(value)}")
    return None


_NOT_LITERAL = object()


def _literal(node):
    """The constant a syntax tree stands for (a literal, or a negative number), else _NOT_LITERAL."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    return _NOT_LITERAL


def _type_of(value) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else None


def _kind_of(value) -> str:
    found = _type_of(value)
    return "text" if found == "string" else f"a {found or type(value).__name__}"


def output_entry_problem(column: dict, cell: dict) -> str | None:
    """Why an output entry cannot give its column's value, if it cannot."""
    text = (cell["text"] or "").strip()
    if not text:
        return None
    if (reason := expression_problem(text, cell["dialect"])) is not None:
        return reason
    text = dmn_dialects.source(text, cell["dialect"] or "python")
    kind = type_name(column["type_ref"])
    node = _expression(text)
    value = _literal(node)
    if value is not _NOT_LITERAL:
        if not fits(value, column["type_ref"]):
            return f"is {_kind_of(value)}, but the column's type is {kind}"
        if column["values"] and value not in [_literal(_expression(v)) for v in column["values"]]:
            return f"is not among the column's output values {column['values_text']}"
        return None
    found = static_type(node)
    if found and kind not in (None, "any") and not (found == kind or (found == "number" and kind in NUMERIC_TYPES)
                                                     or (found == "string" and kind == "date")):
        return f"gives {'text' if found == 'string' else 'a ' + found}, but the column's type is {kind}"
    return None


_NUMBER_CALLS = {"int", "float", "len", "round", "abs", "percent", "clamp"}


def static_type(node) -> str | None:
    """'string', 'number' or 'boolean' when an expression's type is plain from its syntax, else None."""
    if isinstance(node, ast.Constant):
        return _type_of(node.value)
    if isinstance(node, ast.JoinedStr):
        return "string"
    if isinstance(node, (ast.Compare,)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return "boolean"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("juel_compare", "juel_bool"):
        return "boolean"  # a JUEL comparison, as engine/bpmn/juel.py translates it
    if isinstance(node, ast.BinOp):
        left, right = static_type(node.left), static_type(node.right)
        if isinstance(node.op, ast.Add) and "string" in (left, right):
            return "string"
        if left == right == "number":
            return "number"
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return "number" if static_type(node.operand) == "number" else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return {"str": "string", "bool": "boolean"}.get(node.func.id) or (
            "number" if node.func.id in _NUMBER_CALLS else None)
    if isinstance(node, ast.IfExp):
        body, other = static_type(node.body), static_type(node.orelse)
        return body if body == other else None
    return None


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

def names_problems(decision: dict, fields: set[str] | None, helpers: set[str], usage: str | None) -> list[Problem]:
    """Every name the table reads that is neither an input column's data, nor a field the process
    can have where it decides (`fields`; None when no process uses the table), nor a helper."""
    where = f"process {usage}"
    if decision["table"] is None:
        literal = decision["literal"]
        missing = [n for n in _names(literal["expression"], literal["dialect"]) if n not in (fields or set()) | helpers]
        if not missing:
            return []
        context = (f"which {where} cannot have when it decides ({_known(fields)})" if fields is not None
                   else "which is not a helper (no process uses this decision yet to say which data fields there are)")
        return [_problem(decision, f"literal expression `{literal['expression']}` reads {_listing(missing)}, "
                         f"{context}", literal["line"])]
    table = decision["table"]
    problems = []
    if fields is not None:
        for column in table["inputs"]:
            missing = [n for n in _names(column["expression"], column["dialect"]) if n not in fields | helpers]
            if missing:
                problems.append(_problem(decision, f"input column '{column_name(column)}' reads "
                                         f"{_listing(missing)}, which {where} cannot have when it decides "
                                         f"({_known(fields)})", column["line"]))
        context = (f"not an input column's data, not a helper and not a data field {where} can have when it "
                   f"decides ({_known(fields)})")
    else:
        context = ("not read by any input column and not a helper (no process uses this table yet to say which "
                   "data fields there are)")
    readable = ({n for c in table["inputs"] for n in _names(c["expression"], c["dialect"])} | helpers | (fields or set())
                | {c["input_variable"] for c in table["inputs"] if c.get("input_variable")})
    for rule in table["rules"]:
        for kind, columns, cells in (("input", table["inputs"], rule["inputs"]),
                                     ("output", table["outputs"], rule["outputs"])):
            for column, cell in zip(columns, cells):
                text = (cell["text"] or "").strip()
                names = (unary_tests.names_read(unary_tests.parse(text, cell["dialect"])) if kind == "input"
                         else _names(text, cell["dialect"])) if text else []
                missing = [n for n in names if n not in readable]
                if missing:
                    problems.append(_cell_problem(decision, rule, column, cell, kind,
                                                  f"reads {_listing(missing)}, which is {context}"))
    return problems


def _names(text: str, dialect: str = "python") -> list[str]:
    source = _python(text, dialect) if text else None
    if not source:
        return []
    try:
        return sandbox.names_read(source)
    except sandbox.SandboxError:
        return []


def _listing(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _known(fields: set[str] | None, shown: int = 12) -> str:
    names = sorted(fields or ())
    if not names:
        return "it has no data fields there"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return "it can have " + ", ".join(names[:shown]) + more
