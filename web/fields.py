"""Between the engine's form fields and HTML: what each input looks like, and what was sent."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from engine.services.attachments import TYPES as FILE_TYPES
from engine.limits import DEFAULT_MAXLENGTH

from . import conditions

# Numbers are text boxes with the numeric keyboard (inputmode), not type="number": browsers
# refuse "1,200,000" in a number box before the server, which accepts it, ever sees it. Dates
# are text boxes in the one format every page shows (YYYY-MM-DD), not type="date", whose
# picker shows the browser's locale format (mm/dd/yyyy in en-US) beside pages that say ISO.
INPUT_TYPES = {"string": "text", "long": "text", "double": "text", "date": "text", "boolean": "checkbox",
               "enum": "select", "file": "file"}
DATE_FORMAT = "YYYY-MM-DD"
_WHOLE = r"[+\-]?(\d{1,3}(,\d{3})+|\d+)"  # 1200000 or 1,200,000 (what engine/bpmn/forms.py accepts)
_DAY = r"\d{4}-\d{2}-\d{2}"
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
    if kind == "long":
        attrs.update(inputmode="numeric", pattern=_WHOLE, autocomplete="off")
    if kind == "date":
        attrs.update(pattern=_DAY, placeholder=DATE_FORMAT, autocomplete="off")
    if kind == "double":
        attrs["inputmode"] = "decimal"
    if kind == "file":
        attrs["accept"] = ",".join(f".{ext}" for ext in sorted(FILE_TYPES))
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


def _hint(kind: str, c: dict) -> str | None:
    """What the diagram's bounds and the date format say, in words (a text box shows no min/max)."""
    low, high = c.get("min"), c.get("max")
    after, before = ("on or after", "on or before") if kind == "date" else ("at least", "at most")
    bounds = (f"from {low} to {high}" if low not in (None, "") and high not in (None, "") else
              f"{after} {low}" if low not in (None, "") else f"{before} {high}" if high not in (None, "") else "")
    text = ", ".join(t for t in (f"a date as {DATE_FORMAT}" if kind == "date" else "", bounds) if t)
    return text[:1].upper() + text[1:] if text else None


def applies_when(f: dict, by_id: dict) -> tuple[dict | None, str | None]:
    """A required_if field's rule (for the browser) and its condition in plain language."""
    r = conditions.rule((f.get("properties") or {}).get("required_if"))
    return (r, conditions.plain(r, by_id)) if r else (None, None)


def _worded(error: str | None, f: dict, words: str | None) -> str | None:
    """The engine's "is required when <expression>" said with the condition in plain language."""
    if words and error == f"is required when {(f.get('properties') or {}).get('required_if')}":
        return f"is required because {words}"
    return error


def widgets(fields: list[dict], values: dict | None = None, errors: dict | None = None) -> list[dict]:
    """One dict per field for the form template: input, value, attributes, message."""
    values, errors = values or {}, errors or {}
    by_id = {f["id"]: f for f in fields}
    out = []
    for f in fields:
        kind = f.get("type") or "string"
        c = f.get("constraints") or {}
        raw = values[f["id"]] if f["id"] in values else f.get("default")
        widget = _widget(kind, f)
        attrs = _attrs(kind, widget, c)
        show_when, words = applies_when(f, by_id)
        condition_hint = (f"Needed because {words}" if words else "May be required, depending on the other answers"
                          if (f.get("properties") or {}).get("required_if") else None)
        if kind == "file" and _shown(raw):
            attrs.pop("required", None)  # uploaded already (the form came back with another error)
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
            "required_if": condition_hint,
            "show_when": show_when,
            "hint": _hint(kind, c),
            "options": f.get("options") or [],
            "attrs": attrs,
            "error": _worded(errors.get(f["id"]), f, words),
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
