"""`stagegate serve`: the web app and API under gunicorn, N worker processes of T threads each,
one connection pool each, every process under a memory limit of its own."""
from __future__ import annotations

import faulthandler
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from engine.process_limits import DEFAULT_MEMORY_MB, DEFAULT_RLIMIT, limit_memory


class StagegateServer(BaseApplication):
    """Gunicorn running web.create_app; each worker builds its own app after the fork."""

    def __init__(self, config: dict, options: dict, on_app=None):
        self.app_config = config
        self.options = options
        self.on_app = on_app
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # control_socket_disable exists from gunicorn 25.1 on
                self.cfg.set(key, value)

    def load(self):
        from . import create_app

        app = create_app(self.app_config)
        if self.on_app:  # in the worker, after the fork: threads started here keep running
            self.on_app(app)
        return app


class QuitOnceThreadWorker(ThreadWorker):
    """Gunicorn's threaded worker, quitting once however many quit signals arrive.

    Ctrl-C reaches the worker twice: SIGINT from the terminal (the whole process group gets it)
    and SIGQUIT from the master. Gunicorn's handler shuts the thread pool down under the pool's
    lock; a second signal landing inside that lock ran the handler again, which waited for the
    lock its own thread held, until the master killed the worker 30 s later (seen 2 times in 40
    stops beside the browser tests)."""

    _quitting = False

    def handle_quit(self, sig, frame):
        if self._quitting:
            return  # the first quit goes on: it ends the process
        self._quitting = True
        super().handle_quit(sig, frame)


def stuck_stop_report(graceful_s: int):
    """Gunicorn's worker_int hook: a worker told to quit (Ctrl-C, SIGQUIT) that is still alive a second
    before the master would kill it prints where each of its threads is, then ends itself."""
    def worker_int(_worker):
        faulthandler.dump_traceback_later(max(1, graceful_s - 1), exit=True, file=sys.stderr)
    return worker_int


def serve(database_url: str | None, bind: str, workers: int, secure_cookies: bool, timeout: int = 60,
          threads: int = 4, memory_mb: int = DEFAULT_MEMORY_MB, rlimit: str = DEFAULT_RLIMIT,
          on_app=None, loglevel: str = "info", graceful_s: int = 30) -> None:
    """Migrate the database once, then serve until stopped (SIGTERM gracefully, Ctrl-C at once).

    With threads > 1 each worker process answers that many requests at once (gunicorn's gthread
    worker), so a request waiting for a sandbox evaluation leaves the others answered. `on_app(app)`
    runs in each worker once its app is built (the demo starts its integrations there); `loglevel`
    "warning" keeps gunicorn's start and stop lines out of the output. A worker gets `graceful_s`
    seconds to finish its requests when stopped; one that hangs in quitting says where first."""
    from stagegate.compose import bootstrap

    limit_memory(memory_mb, rlimit)
    bootstrap(database_url, migrate=True).dispose()
    # Long polls of external-task workers (/engine-rest fetchAndLock) may hold all threads but two.
    config = {"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": secure_cookies,
              "LONG_POLL_SLOTS": max(1, threads - 2)}
    StagegateServer(config, {"bind": bind, "workers": workers, "threads": threads, "timeout": timeout,
                             "worker_class": QuitOnceThreadWorker if threads > 1 else "sync",
                             "graceful_timeout": graceful_s, "worker_int": stuck_stop_report(graceful_s),
                             "accesslog": None, "errorlog": "-", "loglevel": loglevel,
                             # Several servers may share a machine (and a home directory).
                             "control_socket_disable": True}, on_app).run()
