"""A server process's own memory limit (`stagegate serve`, `python -m web`)."""
from __future__ import annotations

import os
import resource

MB = 1024 * 1024
#: The kinds of memory limit a server process can set on itself.
RLIMITS = {"data": resource.RLIMIT_DATA, "as": resource.RLIMIT_AS}
_raw = os.environ.get("STAGEGATE_SERVER_MEMORY_MB", "").strip()
DEFAULT_MEMORY_MB = int(_raw) if _raw.isascii() and _raw.isdigit() else 1024
DEFAULT_RLIMIT = os.environ.get("STAGEGATE_SERVER_MEMORY_RLIMIT") if os.environ.get(
    "STAGEGATE_SERVER_MEMORY_RLIMIT") in RLIMITS else "data"


def limit_memory(megabytes: int, kind: str = "data") -> None:
    """Cap this process's memory at `megabytes` (0: no cap), for it and every process it forks.

    kind "data" (RLIMIT_DATA) counts the heap and other private writable memory, so the cap is
    what the process can really fill; "as" (RLIMIT_AS) counts its whole address space, mapped
    libraries and thread stacks included. An allocation past the cap fails with MemoryError: that
    request fails, the server goes on. Sandbox workers set their own, lower limits."""
    if not megabytes:
        return
    which = RLIMITS[kind]
    _, hard = resource.getrlimit(which)
    soft = megabytes * MB if hard == resource.RLIM_INFINITY else min(megabytes * MB, hard)
    resource.setrlimit(which, (soft, hard))
