"""Read a DMN document into plain data: its decisions, their tables or literal expressions, and
the decisions each requires (engine/bpmn/dmn/evaluate.py and engine/bpmn/dmn/graph.py run them).

Every column and cell records the expression language it is written in: its own
`expressionLanguage`, else the table's, else the document's (`definitions`), else the
deployment's default. DMN 1.3 (and Camunda 7) default to FEEL; files stored before FEEL was
supported were read with Python as the default, and are still read so (engine/services/deployment.py
passes the language recorded with each stored file), so their versions decide as they did.
"""
from __future__ import annotations

import ast

from lxml import etree

FEEL_LANGUAGES = {"feel", "http://www.omg.org/spec/feel/20140401", "https://www.omg.org/spec/dmn/20191111/feel/",
                  "http://www.omg.org/spec/dmn/20180521/feel/", "https://www.omg.org/spec/dmn/20230324/feel/",
                  "http://www.omg.org/spec/dmn/20191111/feel/", "https://www.omg.org/spec/feel/20140401"}
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"
_FEEL_KEYS = {language.rstrip("/") for language in FEEL_LANGUAGES}
#: What a DMN element without any expressionLanguage is written in (DMN 1.3's default).
DEFAULT_LANGUAGE = "feel"
#: What files stored before FEEL was supported were read as.
LEGACY_LANGUAGE = "python"


def dialect(*languages) -> str:
    """The expression language a DMN element is written in: the nearest one declared ('feel',
    'python', 'juel', or the declared text for one the engine does not know)."""
    for language in languages:
        text = (language or "").strip()
        if text.lower().rstrip("/") in _FEEL_KEYS:
            return "feel"
        if text:
            return text.lower() if text.lower() in ("python", "juel", "javascript", "groovy") else text
    return DEFAULT_LANGUAGE


def _text(el, q) -> str | None:
    found = el.find("dmn:text", namespaces=q)
    return found.text if found is not None else None


def _listed_values(text: str | None) -> list[str] | None:
    """The items of an output values list (`"high","medium","low"`) as expression texts."""
    if not (text or "").strip():
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return [text.strip()]
    items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
    return [ast.get_source_segment(text.strip(), e) or ast.unparse(e) for e in items]


def decision_table(table, decision, file_name: str, language: str) -> dict:
    """Plain data of one dmn:decisionTable: columns, rules and their cells, hit policy, aggregation."""
    q = {"dmn": etree.QName(table).namespace}
    language = dialect(table.get("expressionLanguage"), language)
    inputs, outputs, rules = [], [], []
    for inp in table.xpath("./dmn:input", namespaces=q):
        expr = inp.find("dmn:inputExpression", namespaces=q)
        inputs.append({
            "id": inp.get("id"), "label": inp.get("label"), "line": inp.sourceline,
            "expression": (_text(expr, q) or "").strip() if expr is not None else "",
            "type_ref": expr.get("typeRef") if expr is not None else None,
            "dialect": dialect(expr.get("expressionLanguage") if expr is not None else None, language),
            "input_variable": inp.get(f"{{{CAMUNDA_DMN_NS}}}inputVariable") or None,
        })
    for out in table.xpath("./dmn:output", namespaces=q):
        values = out.find("dmn:outputValues", namespaces=q)
        values_text = _text(values, q) if values is not None else None
        outputs.append({"id": out.get("id"), "label": out.get("label"), "name": out.get("name"),
                        "type_ref": out.get("typeRef"), "line": out.sourceline,
                        "values_text": values_text, "values": _listed_values(values_text)})
    for row, rule in enumerate(table.xpath("./dmn:rule", namespaces=q), start=1):
        description = rule.find("dmn:description", namespaces=q)
        # An entry is in its own expressionLanguage, else the table's (an inputExpression's is its own).
        cells = {kind: [{"text": _text(e, q), "line": e.sourceline, "id": e.get("id"),
                         "dialect": dialect(e.get("expressionLanguage"), language)}
                        for e in rule.xpath(f"./dmn:{kind}", namespaces=q)] for kind in ("inputEntry", "outputEntry")}
        rules.append({"id": rule.get("id"), "row": row, "line": rule.sourceline,
                      "description": " ".join(description.text.split()) if description is not None
                      and description.text else None,
                      "inputs": cells["inputEntry"], "outputs": cells["outputEntry"]})
    return {"decision": decision.get("id"), "decision_name": decision.get("name"), "id": table.get("id"),
            "file": file_name, "line": table.sourceline, "language": language,
            "hit_policy": " ".join((table.get("hitPolicy") or "UNIQUE").split()).upper(),
            "aggregation": (table.get("aggregation") or "").strip().upper() or None,
            "inputs": inputs, "outputs": outputs, "rules": rules}


def literal_expression(literal, decision, file_name: str, language: str) -> dict:
    """Plain data of a literal-expression decision: the expression and the variable it gives."""
    q = {"dmn": etree.QName(literal).namespace}
    variable = decision.find("dmn:variable", namespaces=q)
    return {"kind": "literal", "decision": decision.get("id"), "decision_name": decision.get("name"),
            "id": literal.get("id"), "file": file_name, "line": literal.sourceline,
            "expression": (_text(literal, q) or "").strip(),
            "dialect": dialect(literal.get("expressionLanguage"), language),
            "variable": (variable.get("name") if variable is not None else None) or decision.get("id"),
            "type_ref": (variable.get("typeRef") if variable is not None else None) or literal.get("typeRef")}


def _required(d, q) -> list[str]:
    hrefs = [r.get("href") or "" for r in d.xpath("./dmn:informationRequirement/dmn:requiredDecision", namespaces=q)]
    return list(dict.fromkeys(h.split("#", 1)[1] if "#" in h else h for h in hrefs))


def dmn_decisions(root, file_name: str, default_language: str = DEFAULT_LANGUAGE) -> list[dict]:
    """Each decision in a DMN document, with its decision table or literal expression as plain data."""
    q = {"dmn": etree.QName(root).namespace}
    language = dialect(root.get("expressionLanguage"), default_language)
    decisions = []
    for d in root.xpath("./dmn:decision", namespaces=q):
        tables = d.xpath("./dmn:decisionTable", namespaces=q)
        literals = d.xpath("./dmn:literalExpression", namespaces=q)
        requires = _required(d, q)
        table = decision_table(tables[0], d, file_name, language) if tables else None
        literal = literal_expression(literals[0], d, file_name, language) if literals and not tables else None
        for logic in (table, literal):
            if logic is not None:
                logic["requires"] = requires
        decisions.append({
            "id": d.get("id"), "name": d.get("name"), "file": file_name, "line": d.sourceline,
            "has_table": bool(tables), "tables": len(tables) + len(literals), "requires": requires,
            "table": table, "literal": literal,
        })
    return decisions


def logic_of(decision: dict) -> dict | None:
    """What decides a decision: its table, else its literal expression (None when it has neither)."""
    return decision.get("table") or decision.get("literal")
