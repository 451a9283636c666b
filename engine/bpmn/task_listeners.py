"""The few JavaScript task listeners Camunda's invoice example uses, translated into plain steps.

Only this subset is read (the engine runs no JavaScript): statements `task.setAssignee(v)` and
`task.setVariable('name', v)`, `if (c) { ... }`, where a value is `task.getVariable('name')`,
`task.getAssignee()`, a string literal or a process variable, and a condition is a value with any
number of `!`. The steps are data, run by `run` on the task's data: nothing is evaluated as code.
Any other listener (a Java class, an expression, other script) is refused at deploy, naming it.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<name>[A-Za-z_$][\w$]*)"
                    r"|(?P<number>\d+(?:\.\d+)?)|(?P<op>\S))")
SUBSET = ("task.getVariable('x'), task.setVariable('x', v), task.getAssignee(), task.setAssignee(v), "
          "`if (v) { ... }` and `!v`")
EVENTS = ("create", "assignment")


class ListenerError(ValueError):
    """The listener is beyond what the engine translates."""


def _tokens(source: str) -> list[str]:
    out, i = [], 0
    while source[i:].strip():
        m = _TOKEN.match(source, i)
        if not m:
            raise ListenerError(f"cannot read `{source[i:].strip()[:30]}`")
        out.append(m.group(m.lastgroup))
        i = m.end()
    return out


class _Reader:
    def __init__(self, source: str):
        self.tokens, self.pos, self.source = _tokens(source), 0, source

    def peek(self, n: int = 0) -> str | None:
        return self.tokens[self.pos + n] if self.pos + n < len(self.tokens) else None

    def take(self, *expected: str) -> None:
        for token in expected:
            if self.peek() != token:
                found = self.peek() or "the end"
                raise ListenerError(f"`{found}` where the engine expected `{token}`: only {SUBSET} are translated")
            self.pos += 1

    def statements(self, until: str | None = None) -> list:
        steps = []
        while self.peek() not in (None, until):
            steps.append(self.statement())
        return steps

    def statement(self):
        if self.peek() == "if":
            self.take("if", "(")
            negations = 0
            while self.peek() == "!":
                self.take("!")
                negations += 1
            value = self.value()
            self.take(")")
            if self.peek() == "{":
                self.take("{")
                body = self.statements("}")
                self.take("}")
            else:
                body = [self.statement()]
            return {"if": value, "negated": negations % 2 == 1, "then": body}
        if self.peek() != "task" or self.peek(1) != ".":
            raise ListenerError(f"`{' '.join(self.tokens[self.pos:self.pos + 3])}...` is not translated: only {SUBSET} are")
        self.take("task", ".")
        method = self.peek()
        if method == "setAssignee":
            self.take("setAssignee", "(")
            step = {"assign": self.value()}
        elif method == "setVariable":
            self.take("setVariable", "(")
            name = self.string()
            self.take(",")
            step = {"set": name, "to": self.value()}
        else:
            raise ListenerError(f"`task.{method}` is not translated: only {SUBSET} are")
        self.take(")")
        if self.peek() == ";":
            self.take(";")
        return step

    def string(self) -> str:
        token = self.peek() or ""
        if token[:1] not in ("'", '"'):
            raise ListenerError(f"`{token}` where the engine expected a variable name in quotes")
        self.pos += 1
        return re.sub(r"\\(.)", r"\1", token[1:-1])

    def value(self) -> dict:
        token = self.peek() or ""
        if token[:1] in ("'", '"'):
            return {"text": self.string()}
        if token == "task":
            self.take("task", ".")
            if self.peek() == "getAssignee":
                self.take("getAssignee", "(", ")")
                return {"assignee": True}
            self.take("getVariable", "(")
            name = self.string()
            self.take(")")
            return {"variable": name}
        if re.fullmatch(r"[A-Za-z_]\w*", token) and token not in ("execution", "if", "null", "true", "false"):
            self.pos += 1
            return {"variable": token}  # a process variable in the script's scope, as Camunda offers them
        raise ListenerError(f"`{token or 'the end'}` is not a value the engine translates: only {SUBSET} are")


def translate(source: str) -> list:
    """The steps of a listener script, or ListenerError saying what is beyond the subset."""
    reader = _Reader(source or "")
    steps = reader.statements()
    if reader.peek() is not None:
        raise ListenerError(f"unexpected `{reader.peek()}`: only {SUBSET} are translated")
    return steps


def _truthy(value) -> bool:
    """JavaScript's truth: null, undefined, '', 0, NaN and false are false; anything else (even []) true."""
    if value is None or value is False or value == "" or (isinstance(value, (int, float)) and (value == 0 or value != value)):
        return False
    return True


def run(steps: list, data: dict, assignee: str | None) -> str | None:
    """Run the steps on the task's data (changed in place); returns the assignee they leave."""
    def value(v):
        if "text" in v:
            return v["text"]
        if "assignee" in v:
            return assignee
        return data.get(v["variable"])

    for step in steps:
        if "if" in step:
            if _truthy(value(step["if"])) != step["negated"]:
                assignee = run(step["then"], data, assignee)
        elif "assign" in step:
            assigned = value(step["assign"])
            assignee = str(assigned) if assigned is not None else None
        else:
            data[step["set"]] = value(step["to"])
    return assignee


def read(el, camunda_ns: str, bpmn_ns: str) -> tuple[dict, list[str]]:
    """The listeners of a user task `el` by event, as steps, and the problems of those refused."""
    listeners, problems = {}, []
    for listener in el.findall(f"{{{bpmn_ns}}}extensionElements/{{{camunda_ns}}}taskListener"):
        event = listener.get("event") or "create"
        script = listener.find(f"{{{camunda_ns}}}script")
        how = next((a for a in ("class", "expression", "delegateExpression") if listener.get(a)), None)
        if how or script is None:
            problems.append(f"task listener on '{event}' uses {f'{how} `{listener.get(how)}`' if how else 'no script'}, "
                            "which the engine does not run (no Java, no beans): move the work into a script task "
                            f"in Python or a JavaScript listener limited to {SUBSET}")
            continue
        if event not in EVENTS:
            problems.append(f"task listener on '{event}' is not run by the engine (only 'create' and 'assignment' "
                            "are): do the work in a Python script task after this task")
            continue
        language = (script.get("scriptFormat") or "").lower()
        try:
            if language not in ("javascript", "js", "ecmascript"):
                raise ListenerError(f"its script is {language or 'of no stated language'}, not JavaScript")
            listeners.setdefault(event, []).extend(translate(script.text or ""))
        except ListenerError as exc:
            problems.append(f"task listener on '{event}' cannot be translated: {exc}; do the work in a Python "
                            f"script task, or keep the listener to {SUBSET}")
    return listeners, problems
