"""Between the engine's form fields and HTML: what each input looks like, and what was sent."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from engine.limits import DEFAULT_MAXLENGTH

# A decimal is a text box with the numeric keyboard (inputmode), not type="number": browsers
# refuse "1,200.50" in a number box before the server, which accepts it, ever sees it.
INPUT_TYPES = {"string": "text", "long": "number", "double": "text", "date": "date", "boolean": "checkbox",
               "enum": "select"}
TEXTAREA_FROM = 500  # strings allowed to be this long get a text area
_TRUE = {"true", "on", "yes", "1"}


def _widget(kind: str, f: dict) -> str:
    c = f.get("constraints") or {}
    if kind == "string" and int(c.get("maxlength") or 0) >= TEXTAREA_FROM:
        return "textarea"
    if kind == "boolean" and "required" in c and f.get("default") in (None, ""):
        # A sign-off is a decision: an untouched box must not submit "no" for the user.
        return "yesno"
    return INPUT_TYPES.get(kind, "text")


def _attrs(kind: str, widget: str, c: dict) -> dict:
    """HTML constraint attributes mirroring the diagram's, so the browser warns early too."""
    attrs: dict = {}
    if "required" in c and widget != "checkbox":  # an unticked box is an answer: "no"
        attrs["required"] = True
    if "readonly" in c:
        attrs["readonly"] = True
    if kind in ("long", "date"):
        for name in ("min", "max"):
            if c.get(name) not in (None, ""):
                attrs[name] = c[name]
        if kind == "long":
            attrs["step"] = "1"
    if kind == "double":
        attrs["inputmode"] = "decimal"
    if kind == "string":
        for name in ("minlength", "maxlength"):
            if c.get(name) not in (None, ""):
                attrs[name] = c[name]
        attrs.setdefault("maxlength", DEFAULT_MAXLENGTH)  # what the engine holds a field without one to
    return attrs


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def widgets(fields: list[dict], values: dict | None = None, errors: dict | None = None) -> list[dict]:
    """One dict per field for the form template: input, value, attributes, message."""
    values, errors = values or {}, errors or {}
    out = []
    for f in fields:
        kind = f.get("type") or "string"
        c = f.get("constraints") or {}
        raw = values[f["id"]] if f["id"] in values else f.get("default")
        widget = _widget(kind, f)
        attrs = _attrs(kind, widget, c)
        out.append({
            "id": f["id"],
            "name": f["id"],
            "label": f.get("label") or f["id"],
            "type": kind,
            "widget": widget,
            "value": _shown(raw),
            "checked": _shown(raw).strip().lower() in _TRUE,
            "required": "required" in c,
            "readonly": "readonly" in c,
            "required_if": (f.get("properties") or {}).get("required_if"),
            "options": f.get("options") or [],
            "attrs": attrs,
            "error": errors.get(f["id"]),
        })
    return out


def submitted(fields: list[dict], form: MultiDict) -> dict:
    """The values sent for `fields` (as text; the engine checks and converts them)."""
    data = {}
    for f in fields:
        fid = f["id"]
        if "readonly" in (f.get("constraints") or {}) or fid not in form:
            continue
        # A checkbox sends a hidden "false" then, when ticked, "true": the last one wins.
        data[fid] = form.getlist(fid)[-1] if f.get("type") == "boolean" else form.get(fid)
    return data


def unknown_errors(errors: dict, fields: list[dict]) -> dict:
    """Messages about keys that are not fields (shown above the form, not next to an input)."""
    known = {f["id"] for f in fields}
    return {k: v for k, v in errors.items() if k not in known}
