"""The builtins diagram code gets, and guarded arithmetic: no result so large that building it in one
C call could exhaust memory or time before the tracer runs again."""
from __future__ import annotations


from engine.sandbox.limits import SandboxError

#: Longest str/bytes/list/tuple that ``*`` may build, and longest ``range``.
MAX_SEQUENCE = 1_000_000
#: Largest exponent ``**`` accepts, and largest ``<<`` shift.
MAX_EXPONENT = 10_000
MAX_SHIFT = 10_000
#: Largest integer (in bits) that ``**``, ``*`` and ``<<`` may produce.
MAX_INT_BITS = 100_000


def safe_range(*args):
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_SEQUENCE + 1
    if n > MAX_SEQUENCE:
        raise SandboxError(f"range of more than {MAX_SEQUENCE:,} items is not allowed")
    return r


def safe_sum(iterable, /, start=0):
    # sum([[..], [..], ...], []) concatenates quadratically inside one C call.
    if isinstance(start, (str, bytes, bytearray, list, tuple)):
        raise SandboxError("sum() of sequences is not allowed; use a comprehension")
    return sum(iterable, start)


def safe_pow(base, exp, mod=None):
    if mod is not None:
        # Modular exponentiation is cheap as long as the operands are of sane size.
        for v in (base, exp, mod):
            if isinstance(v, int) and v.bit_length() > MAX_INT_BITS:
                raise SandboxError("number too large")
        return pow(base, exp, mod)
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        if abs(exp) > MAX_EXPONENT:
            raise SandboxError("exponent too large")
        if isinstance(base, int) and isinstance(exp, int) and exp > 0:
            if base.bit_length() * exp > MAX_INT_BITS:
                raise SandboxError("exponent too large")
    return base ** exp


SEQUENCES = (str, bytes, bytearray, list, tuple)


def safe_mul(a, b):
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if ta is int and tb is int and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise SandboxError("number too large")
        return a * b
    if isinstance(a, SEQUENCES) and isinstance(b, int):
        if len(a) * b > MAX_SEQUENCE:
            raise SandboxError(f"result longer than {MAX_SEQUENCE:,} items is not allowed")
    elif isinstance(b, SEQUENCES) and isinstance(a, int):
        if len(b) * a > MAX_SEQUENCE:
            raise SandboxError(f"result longer than {MAX_SEQUENCE:,} items is not allowed")
    elif isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise SandboxError("number too large")
    return a * b


def safe_lshift(a, b):
    if isinstance(b, int):
        if b > MAX_SHIFT:
            raise SandboxError("shift too large")
        if isinstance(a, int) and a.bit_length() + b > MAX_INT_BITS:
            raise SandboxError("number too large")
    return a << b


# What is deliberately NOT here, and why:
#   open, input, print, help, breakpoint, exit, quit, license, credits: I/O, the
#       interpreter's console, or process exit.
#   __import__, exec, eval, compile: load modules or run unchecked code.
#   getattr, setattr, delattr, hasattr, vars, dir, globals, locals: reach attributes or
#       namespaces by a string, which bypasses the static check on "_" names.
#   type, object, super, classmethod, staticmethod, property, issubclass: reach or build
#       classes (type(x).__subclasses__ style escapes, metaclass tricks).
#   memoryview, bytearray, id: raw memory views and addresses.
#   format: format(x, '1000000000') builds a huge string in one C call.
#   iter, next: iter(callable, sentinel) is an endless iterator that list() would
#       drain inside one C call, beyond the step limit.
#   pow: replaced by the guarded safe_pow below; range and sum by guarded versions.
#   Exception classes: not offered, and try statements are refused (see check()).
SAFE_BUILTINS: dict = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "dict": dict,
    "divmod": divmod,
    "enumerate": enumerate,
    "filter": filter,
    "float": float,
    "frozenset": frozenset,
    "int": int,
    "isinstance": isinstance,
    "len": len,
    "list": list,
    "map": map,
    "max": max,
    "min": min,
    "pow": safe_pow,
    "range": safe_range,
    "reversed": reversed,
    "round": round,
    "set": set,
    "sorted": sorted,
    "str": str,
    "sum": safe_sum,
    "tuple": tuple,
    "zip": zip,
    "True": True,
    "False": False,
    "None": None,
}
