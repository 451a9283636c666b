"""A timer worker whose diagrams may call linger(seconds): it says so on stdout, then sleeps.

The fault scenarios use it to know a worker is inside a step (holding the deal's lock, its
transaction open) before they kill it. Otherwise it is the real worker pass."""
from __future__ import annotations

import time

from stagegate.compose import DIAGRAM_HELPERS, bootstrap
from engine.services.timers import fire_due_timers


def linger(seconds):
    """Take `seconds` inside the current step."""
    print("lingering", flush=True)
    time.sleep(seconds)
    return seconds


if __name__ == "__main__":
    # Scripts run in sandbox worker processes, which import helpers by module name: this one's
    # importable name, not __main__.
    from bench.slow_worker import linger as importable_linger

    print(fire_due_timers(bootstrap(helpers={**DIAGRAM_HELPERS, "linger": importable_linger})), flush=True)
