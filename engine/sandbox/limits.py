"""The hard bounds on diagram code, and the error that says which one was hit.

Every evaluation that is not proven cheap runs in a worker process (engine.sandbox.pool) under
these limits: an address-space limit (RLIMIT_AS), a CPU-time limit (RLIMIT_CPU in the worker and
per-evaluation accounting by the parent), a wall-clock kill by the parent, and size limits on the
source, on the data sent in and on the result. Operators set them with environment variables
(README, "Security"); tests lower them by replacing `engine.sandbox.LIMITS`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

from engine.limits import LIMIT_NAMES  # noqa: F401 - what LimitExceeded.limit can be

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds for one evaluation (or one job, such as a what-if replay)."""

    cpu_seconds: float = 2.0
    wall_seconds: float = 5.0
    memory_mb: int = 256
    expression_chars: int = 10_000
    script_chars: int = 100_000
    input_bytes: int = 4 * MB
    result_bytes: int = 1 * MB

    def with_(self, **changes) -> "Limits":
        """A copy with some bounds changed."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return {"cpu_seconds": self.cpu_seconds, "wall_seconds": self.wall_seconds, "memory_mb": self.memory_mb,
                "input_bytes": self.input_bytes, "result_bytes": self.result_bytes}


class _Env:
    def __init__(self, prefix: str):
        self.prefix = prefix

    def number(self, name: str, default, kind=float):
        raw = os.environ.get(self.prefix + name)
        if raw is None or not raw.strip():
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise SystemExit(f"{self.prefix + name}={raw!r} is not a number") from None
        if value <= 0:
            raise SystemExit(f"{self.prefix + name} must be greater than 0")
        return value


def from_environment(prefix: str, base: Limits) -> Limits:
    """`base` with the bounds the environment sets, e.g. STAGEGATE_SANDBOX_CPU_SECONDS=1."""
    env = _Env(prefix)
    return Limits(
        cpu_seconds=env.number("CPU_SECONDS", base.cpu_seconds),
        wall_seconds=env.number("WALL_SECONDS", base.wall_seconds),
        memory_mb=env.number("MEMORY_MB", base.memory_mb, int),
        expression_chars=env.number("EXPRESSION_CHARS", base.expression_chars, int),
        script_chars=env.number("SCRIPT_CHARS", base.script_chars, int),
        input_bytes=env.number("INPUT_BYTES", base.input_bytes, int),
        result_bytes=env.number("RESULT_BYTES", base.result_bytes, int),
    )


def pool_size() -> int:
    """Worker processes per server process (STAGEGATE_SANDBOX_WORKERS, default 2)."""
    return _Env("STAGEGATE_SANDBOX_").number("WORKERS", 2, int)


#: Conditions, DMN cells, timer expressions, required_if conditions and script tasks.
EXPRESSIONS = from_environment("STAGEGATE_SANDBOX_", Limits())
#: A what-if replay as a whole (it reads every recorded pass of the gates a table feeds).
JOBS = from_environment("STAGEGATE_WHATIF_", Limits(cpu_seconds=60, wall_seconds=120, memory_mb=1024,
                                                    input_bytes=256 * MB, result_bytes=64 * MB))


class SandboxError(Exception):
    """Anything the sandbox refused, or that failed while running; ``str()`` is user-facing."""

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.message = message
        self.lineno = lineno

    def __str__(self) -> str:
        return self.message


class LimitExceeded(SandboxError):
    """Diagram code hit a hard bound. `limit` is a key of LIMIT_NAMES."""

    def __init__(self, limit: str, message: str, lineno: int | None = None):
        super().__init__(message, lineno)
        self.limit = limit


def stopped(limit: str, bound, unit: str) -> str:
    """The message for an evaluation stopped at `bound` of `limit`."""
    return f"it went over the sandbox's {LIMIT_NAMES[limit]} limit of {bound:g} {unit}"


def limit_of(exc: BaseException | None) -> LimitExceeded | None:
    """The LimitExceeded behind an exception (SpiffWorkflow wraps what scripts raise), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, LimitExceeded):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    return None
