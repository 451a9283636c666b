"""camunda:inputOutput on a user task, a script task or an external service or send task: local
variables as it opens (or before its script runs; what the worker fetches), output variables as it
completes (after its script ran; computed on the worker's variables too).

A parameter's value is its text (a constant, or JUEL such as `${amount * 2}` or `Dear ${name}`),
nothing (null), a camunda:list or a camunda:map of such values. Input parameters are the task's
own variables: the process's variables of those names are as they were once the task completes.
A worker's variable of an input's name is local too, as in Camunda. Output parameters are
computed on the task's data as it completes and set in the process. Scripts in parameters, and
parameters on other elements (a service task a built-in handler runs included), are refused at deploy.
"""
from __future__ import annotations

from engine import sandbox
from engine.bpmn import juel

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _c(tag: str) -> str:
    return f"{{{CAMUNDA_NS}}}{tag}"


def _value(el, problems: list, where: str):
    """A parameter's (or list item's, or map entry's) value as plain data."""
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        text = (el.text or "").strip()
        if not text:
            return {"null": True}
        if not juel.is_juel(text):
            return {"text": text}
        try:
            source = juel.translate(text)
            sandbox.check(source)
            return {"expression": source}
        except (juel.JuelError, sandbox.SandboxError) as exc:
            problems.append(f"{where} `{text}`: JUEL the engine cannot run: {exc}")
            return {"null": True}
    child = children[0]
    if child.tag == _c("list"):
        return {"list": [_value(v, problems, where) for v in child if v.tag == _c("value")]}
    if child.tag == _c("map"):
        return {"map": {e.get("key"): _value(e, problems, f"{where} entry '{e.get('key')}'")
                        for e in child if e.tag == _c("entry")}}
    kind = child.get("scriptFormat") or "a script"
    problems.append(f"{where} is {kind} script, which the engine does not run: write its value as text or JUEL "
                    "(`${...}`), or compute it in a Python script task before")
    return {"null": True}


def read(el) -> tuple[dict, list[str]]:
    """The input and output parameters of an element, and why any cannot be honoured."""
    io = {"inputs": [], "outputs": []}
    problems: list[str] = []
    for block in el.findall(f"{{{BPMN_NS}}}extensionElements/{_c('inputOutput')}"):
        for kind, key in (("inputParameter", "inputs"), ("outputParameter", "outputs")):
            for p in block.findall(_c(kind)):
                name = p.get("name") or ""
                if not name.isidentifier() or name.startswith("_"):
                    problems.append(f"camunda:{kind} name `{name}` is not a variable name the engine can set: name "
                                    "it with letters, digits and _ (a dotted path is not a variable)")
                    continue
                io[key].append([name, _value(p, problems, f"camunda:{kind} '{name}'")])
    return io, problems


def _evaluate(value: dict, data: dict, evaluate):
    if "list" in value:
        return [_evaluate(v, data, evaluate) for v in value["list"]]
    if "map" in value:
        return {k: _evaluate(v, data, evaluate) for k, v in value["map"].items()}
    if "expression" in value:
        return evaluate(value["expression"], data)
    return value.get("text")


def open_task(io: dict, data: dict, evaluate) -> dict:
    """Set the input parameters in the task's data; returns what to restore when it completes."""
    prior = {"values": {}, "absent": []}
    for name, value in io.get("inputs", []):
        set_local(data, prior, name, _evaluate(value, data, evaluate))
    return prior


def set_local(data: dict, prior: dict, name: str, value) -> None:
    """Set a variable local to the task, noting in `prior` what the process had under that name (once)."""
    if name not in prior["values"] and name not in prior["absent"]:
        if name in data:
            prior["values"][name] = data[name]
        else:
            prior["absent"].append(name)
    data[name] = value


def complete_task(io: dict, data: dict, prior: dict | None, evaluate) -> None:
    """Compute the output parameters on the task's data, end its local variables, set the outputs."""
    outputs = {name: _evaluate(value, data, evaluate) for name, value in io.get("outputs", [])}
    end_inputs(data, prior)
    data.update(outputs)


def end_inputs(data: dict, prior: dict | None) -> None:
    """The task's local variables end: the process's variables of those names are as they were before it."""
    prior = prior or {"values": {}, "absent": []}
    for name in prior["absent"]:
        data.pop(name, None)
    data.update(prior["values"])


def process_view(data: dict, prior: dict | None) -> dict:
    """A waiting task's data without its local input variables: the process's variables."""
    if not prior:
        return data
    seen = dict(data)
    end_inputs(seen, prior)
    return seen


def inputs_of(el: dict, data: dict) -> dict:
    """The task's input parameters as they were set when it opened (from its data)."""
    return {name: data[name] for name, _value in (el.get("io") or {}).get("inputs", []) if name in data}


def around_script(task, el: dict) -> None:
    """Before a script task runs: hand its input/output parameters to the script engine, which sets them
    around the script (engine/bpmn/script_engine.py), before its data passes on."""
    if el.get("io") and el.get("type") == "scriptTask":
        task._set_internal_data(io=el["io"])
