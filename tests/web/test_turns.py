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


def test_a_long_poll_lets_the_other_requests_run_while_it_waits():
    answered, seen = threading.Event(), []

    def poll(environ, start_response):
        with given_up():
            seen.append(answered.wait(5))  # False: the other request did not run while the poll waited
        return [b"found"]

    def page(environ, start_response):
        answered.set()
        return [b"page"]

    turns = Turns(lambda e, s: (poll if e.get("poll") else page)(e, s), wait_s=30)
    waiting = threading.Thread(target=lambda: turns({"poll": True}, None))
    waiting.start()
    time.sleep(0.1)  # the poll holds the turn first, then gives it up
    started = time.monotonic()
    turns({}, None)
    waiting.join(10)
    assert seen == [True] and time.monotonic() - started < 2


def test_a_request_held_up_longer_than_the_wait_runs_anyway():
    other_ran, seen = threading.Event(), []

    def slow(environ, start_response):  # holds its turn until the other request has run
        seen.append(other_ran.wait(5))  # False: the second request waited for a turn that never came
        return [b"slow"]

    def quick(environ, start_response):
        other_ran.set()
        return [b"quick"]

    turns = Turns(lambda e, s: (slow if e.get("slow") else quick)(e, s), wait_s=0.05)
    first = threading.Thread(target=lambda: turns({"slow": True}, None))
    first.start()
    time.sleep(0.05)
    turns({}, None)
    first.join(10)
    assert seen == [True]
