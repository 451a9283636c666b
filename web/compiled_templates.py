"""Compiled page templates kept for the life of the process, shared by every app it builds."""
from __future__ import annotations

from jinja2 import BytecodeCache


class CompiledTemplates(BytecodeCache):
    """Jinja's bytecode of each template, by name and source checksum (an edited template compiles again).

    Every app gets the same environment options, so their compiled code is interchangeable. A process
    that builds many apps (the test suite builds one per test) would otherwise compile every page again
    for each: ~40 ms per template, more than the rest of building the app."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()
