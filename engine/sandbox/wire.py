"""What travels between the web process and a sandbox worker: plain JSON, and helpers by name.

Only plain values cross (null, true/false, numbers, text, lists, objects with text keys), both
ways, so a worker that ran hostile code can send back nothing but data the parent parses with
a size limit. Helper functions travel as "module:qualified.name" and are imported in the worker.
"""
from __future__ import annotations

import importlib
import json
import math

from engine.sandbox.limits import SandboxError

#: Deepest nesting of lists and objects a value may have.
MAX_DEPTH = 100

_SCALARS = (str, int, bool, type(None))


def _kind(value) -> str:
    name = type(value).__name__
    return {"set": "a set", "frozenset": "a set", "function": "a function", "sandboxed_function": "a function",
            "Helper": "a helper function"}.get(name, f"a {name}" if name[0] not in "aeiou" else f"an {name}")


def plain(value, what: str = "the result"):
    """`value` as plain data (tuples become lists); SandboxError saying what is not plain."""
    stack = [(value, 0)]
    while stack:  # checked without recursion: a hostile value may be nested very deep
        v, depth = stack.pop()
        if isinstance(v, _SCALARS):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise SandboxError(f"{what} holds {v}, which is not a finite number")
            continue
        if depth >= MAX_DEPTH:
            raise SandboxError(f"{what} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(v, (list, tuple)):
            stack.extend((x, depth + 1) for x in v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise SandboxError(f"{what} has the key {k!r}; only text keys are plain data")
                stack.append((x, depth + 1))
        else:
            raise SandboxError(f"{what} is or holds {_kind(v)}, which is not plain data "
                               "(use numbers, text, true/false, None, lists and dicts with text keys)")
    return _lists(value)


def _lists(value):
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def dumps(message: dict) -> bytes:
    """A message as compact JSON bytes (strict: no NaN or infinity)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")


def loads(raw: bytes) -> dict:
    """A message from JSON bytes; SandboxError when it is not one."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise SandboxError(f"unreadable message ({type(exc).__name__})") from None
    if not isinstance(message, dict):
        raise SandboxError("unreadable message (not an object)")
    return message


# -- helpers by reference -----------------------------------------------------------------------

_refs: dict[int, tuple[object, str]] = {}


def helper_ref(name: str, fn) -> str:
    """'module:qualname' of a helper function, checked to import back as the same object."""
    known = _refs.get(id(fn))
    if known is not None and known[0] is fn:
        return known[1]
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    found = None
    if module and module != "__main__" and "<" not in qualname:
        try:
            found = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            found = None
    if found is not fn:
        raise SandboxError(f"the helper '{name}' cannot be used by the sandbox's worker processes: "
                           "it is not a function at the top level of an importable module")
    ref = f"{module}:{qualname}"
    _refs[id(fn)] = (fn, ref)
    return ref


class Helper:
    """A helper function as diagram code sees it: callable, and shown by name only (no address)."""

    __slots__ = ("_fn", "_name")

    def __init__(self, name: str, fn):
        self._fn = fn
        self._name = name

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<helper {self._name}>"


_resolved: dict[str, object] = {}


def resolve(ref: str):
    """The function a reference names (imported once per process)."""
    fn = _resolved.get(ref)
    if fn is None:
        module, _, qualname = ref.partition(":")
        fn = importlib.import_module(module)
        for part in qualname.split("."):
            fn = getattr(fn, part)
        _resolved[ref] = fn
    return fn


def resolve_helpers(refs: dict[str, str]) -> dict:
    """name -> Helper for each reference."""
    return {name: Helper(name, resolve(ref)) for name, ref in refs.items()}
