"""Requests in one worker process take turns to run, instead of all running at once.

Gunicorn's threaded worker runs up to `threads` requests at once in a process, and they share its
one interpreter lock: on bench.http's sign-offs (2 workers, 4 clients) 4 threads per worker cost
5.5 ms of CPU per request against 4.4 ms with 1 thread, and answered 252/s against 355/s, the
threads' hand-offs of the lock costing more than their overlap saved. Threads are still what lets
a request wait (an external-task worker's long poll, an expression running in the sandbox, the
SQLite writer queue) without stalling the process, so here each request waits for the process's
turn before it runs and a long poll gives its turn up while it waits. The turn only orders work:
a request that has waited TURN_WAIT_S for it runs anyway, so a slow page or a long evaluation
holds the others back that long at most, and no wait anywhere can deadlock on a turn.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

TURN_WAIT_S = 0.1  # several sign-offs' worth: in the queue of a busy worker, a request's turn comes well before
_here = threading.local()  # the Turns whose turn this thread holds, if any


class Turns:
    """WSGI middleware: one request of the process runs at a time (see the module's docstring)."""

    def __init__(self, app, wait_s: float = TURN_WAIT_S):
        self.app = app
        self.wait_s = wait_s
        self._turn = threading.Lock()

    def __call__(self, environ, start_response):
        self._take()
        try:
            return self.app(environ, start_response)
        finally:
            if getattr(_here, "turns", None) is self:  # (a long poll may have got it back or not)
                self._give()

    def _take(self) -> None:
        _here.turns = self if self._turn.acquire(timeout=self.wait_s) else None

    def _give(self) -> None:
        _here.turns = None
        self._turn.release()


@contextmanager
def given_up():
    """While the block waits (a long poll), the other requests of the process run; its turn after."""
    turns = getattr(_here, "turns", None)
    if turns is None:
        yield
        return
    turns._give()
    try:
        yield
    finally:
        turns._take()
