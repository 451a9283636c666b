"""`make run` on a fresh database: set-up says nothing unless it fails, then the server prints one short
ready block (the URL, a demo login per persona, how to stop) and no development-server warning.

The tests run make's own `run` recipe with the venv and front-end assets taken as done (-o setup -o
assets: installing them is not what is measured), on a database in tmp_path and a free port."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from tests.conftest import ROOT

PERSONAS = ["a salesperson", "a sign-off owner", "a gatekeeper", "the process designer", "the auditor"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run(db, port: int) -> subprocess.Popen:
    return subprocess.Popen(["make", "--no-print-directory", "-o", "setup", "-o", "assets", "run",
                             f"DB={db}", f"PORT={port}"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def read_until_ready(proc: subprocess.Popen, timeout: float = 90) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Ctrl-C" in line:
            return lines
    raise AssertionError("make run never said how to stop:\n" + "\n".join(lines))


def stopped(proc: subprocess.Popen, timeout: float = 30) -> str:
    """What the server printed after Ctrl-C until it ended; if it does not end, which processes remain."""
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        left = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "-g", str(proc.pid)],
                              capture_output=True, text=True).stdout
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"still running {timeout:.0f} s after Ctrl-C:\n{left}\n{proc.communicate()[0]}")


def signed_in(base: str, name: str, password: str) -> str:
    """The page a browser lands on after signing in through the login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base}/login", timeout=10) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "username": name, "password": password}).encode()
    with opener.open(f"{base}/login", data=form, timeout=10) as page:
        return page.read().decode()


def test_make_run_on_a_fresh_database_prints_one_short_ready_block(tmp_path):
    port, db = free_port(), tmp_path / "demo.db"
    proc = make_run(db, port)
    try:
        lines = read_until_ready(proc)
        inbox = signed_in(f"http://127.0.0.1:{port}", "sam", "stagegate")
        assert "Inbox" in inbox and "Sign out" in inbox, "the printed demo login works"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        rest = stopped(proc)
    out = "\n".join(lines)
    assert len(lines) < 15, out
    assert f"Stagegate is ready at http://localhost:{port}/" in out
    assert out.count("is ready at") == 1, "one ready block, not one per component"
    for persona in PERSONAS:
        assert persona in out, f"no login for {persona}:\n{out}"
    assert "sam" in out and "password 'stagegate'" in out
    assert "Ctrl-C" in out
    assert "development server" not in out + rest
    assert "Traceback" not in rest and len(rest.splitlines()) <= 2, rest  # stopping is quiet too
    assert db.exists()


def test_a_failing_set_up_step_shows_its_output_and_stops(tmp_path):
    proc = make_run(tmp_path / "missing" / "demo.db", free_port())
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0
    assert "make: stagegate demo failed" in out
    assert "unable to open database file" in out, "the step's own output is shown"
    assert "is ready at" not in out


STUCK_SERVER = """
import sys, threading, time
from web.serve import serve
def on_app(app):  # app code that leaves a thread the interpreter must wait for at exit
    threading.Thread(target=time.sleep, args=(3600,), name="never-ends").start()
    print("serving", flush=True)
serve(sys.argv[1], sys.argv[2], workers=1, secure_cookies=False, on_app=on_app, loglevel="warning", graceful_s=2)
"""


def test_a_worker_stuck_in_stopping_says_where_and_is_ended_within_the_grace(tmp_path):
    url, port = f"sqlite:///{tmp_path / 'stuck.db'}", free_port()
    proc = subprocess.Popen([sys.executable, "-c", STUCK_SERVER, url, f"127.0.0.1:{port}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "serving"
    finally:
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        rest = stopped(proc)
    took = time.monotonic() - started
    assert took < 10, f"the stop took {took:.1f} s; the grace is 2 s (gunicorn's own default is 30)"
    assert "Thread 0x" in rest and "in _shutdown" in rest, f"no word of where it was stuck:\n{rest}"


SECOND_QUIT = """
import os, signal, sys
from concurrent.futures import ThreadPoolExecutor
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker
from web.serve import QuitOnceThreadWorker

cfg = Config()
# "gunicorn's" (stock) waits for ever on its own lock: the hang this worker class removes.
worker = {"ours": QuitOnceThreadWorker, "gunicorn's": ThreadWorker}[sys.argv[1]](1, os.getppid(), [], None, 30, cfg, Logger(cfg))
worker.tpool = ThreadPoolExecutor(2)


class SignalledQueue:  # the master's SIGQUIT lands while shutdown() holds the pool's lock
    def __init__(self, queue):
        self.queue = queue

    def put(self, item):
        os.kill(os.getpid(), signal.SIGQUIT)
        self.queue.put(item)


worker.tpool._work_queue = SignalledQueue(worker.tpool._work_queue)
signal.signal(signal.SIGINT, worker.handle_quit)
signal.signal(signal.SIGQUIT, worker.handle_quit)
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the terminal's SIGINT reaches the worker first
signal.pause()
"""


def test_a_second_quit_signal_during_the_first_does_not_hang_the_worker():
    done = subprocess.run([sys.executable, "-c", SECOND_QUIT, "ours"], cwd=ROOT,
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
