"""`stagegate serve`: the web app and API under gunicorn, N worker processes, one connection pool each."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class StagegateServer(BaseApplication):
    """Gunicorn running web.create_app; each worker builds its own app after the fork."""

    def __init__(self, config: dict, options: dict):
        self.app_config = config
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # control_socket_disable exists from gunicorn 25.1 on
                self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app(self.app_config)


def serve(database_url: str | None, bind: str, workers: int, secure_cookies: bool, timeout: int = 60) -> None:
    """Migrate the database once, then serve until stopped (SIGTERM/Ctrl+C stops gracefully)."""
    from engine.bootstrap import bootstrap

    bootstrap(database_url, migrate=True).dispose()
    config = {"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": secure_cookies}
    StagegateServer(config, {"bind": bind, "workers": workers, "timeout": timeout,
                             "accesslog": None, "errorlog": "-",
                             # Several servers may share a machine (and a home directory).
                             "control_socket_disable": True}).run()
