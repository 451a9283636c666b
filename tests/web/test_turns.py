"""A worker process's requests take turns (web/turns.py): one runs at a time, a long poll lets the
others run while it waits, and a request held up too long runs anyway, so nothing deadlocks."""
from __future__ import annotations

import threading
import time

from web.turns import Turns, given_up


def _call(app) -> threading.Thread:
    thread = threading.Thread(target=lambda: app({}, lambda *a: None))
    thread.start()
    return thread


def test_requests_of_one_process_run_one_at_a_time():
    running, most = [0], [0]
    guard = threading.Lock()

    def app(environ, start_response):
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with guard:
            running[0] -= 1
        return [b"ok"]

    turns = Turns(app, wait_s=10)
    for t in [_call(turns) for _ in range(4)]:
        t.join(10)
    assert most[0] == 1


def _second_request_while_the_first_waits(first_waits, wait_s: float) -> tuple[list, float]:
    """A first request that waits (as `first_waits(wait)` does) until a second one has run, and that
    second request sent once the first holds its turn: whether the first saw it run, and how long the
    second took."""
    other_ran, seen = threading.Event(), []

    def first(environ, start_response):
        seen.append(first_waits(lambda: other_ran.wait(5)))  # False: the second never ran meanwhile
        return [b"first"]

    def second(environ, start_response):
        other_ran.set()
        return [b"second"]

    turns = Turns(lambda e, s: (first if e.get("first") else second)(e, s), wait_s=wait_s)
    waiting = threading.Thread(target=lambda: turns({"first": True}, None))
    waiting.start()
    time.sleep(0.1)  # the first request holds the turn
    started = time.monotonic()
    turns({}, None)
    took = time.monotonic() - started
    waiting.join(10)
    return seen, took


def test_a_long_poll_lets_the_other_requests_run_while_it_waits():
    def long_poll(wait):
        with given_up():
            return wait()

    seen, took = _second_request_while_the_first_waits(long_poll, wait_s=30)
    assert seen == [True] and took < 2  # long before the 30 s a held turn would make it wait


def test_a_request_held_up_longer_than_the_wait_runs_anyway():
    seen, _ = _second_request_while_the_first_waits(lambda wait: wait(), wait_s=0.05)  # holds its turn throughout
    assert seen == [True]
