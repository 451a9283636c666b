"""The staff web app: server-rendered pages over the engine's services and queries."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from stagegate.compose import bootstrap

from . import (account, admin, api, attachments, audit, auth, comments, converters, deals, designer, diagrams,
               engine_rest, errors, formatting, inbox, incidents, limits, login, metrics, pipeline, readonly, security,
               settings, start, tasks)
from .compiled_templates import COMPILED
from .context import STAGEGATE_KEY
from .turns import Turns


def create_app(config: dict | None = None) -> Flask:
    """Build the app and its one Stagegate (or use config["STAGEGATE"], e.g. a test's)."""
    app = Flask(__name__, instance_relative_config=True)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": COMPILED}
    settings.configure(app, config or {})
    sg = app.config.pop("STAGEGATE", None)
    if sg is None:
        sg = bootstrap(app.config["DATABASE_URL"], migrate=app.config["MIGRATE"])
    app.extensions[STAGEGATE_KEY] = sg
    if app.config["TRUSTED_PROXIES"]:  # request.remote_addr is then the client's, as the proxy saw it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])
    app.wsgi_app = Turns(app.wsgi_app)  # a worker's threads run one request at a time (web/turns.py)
    converters.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    readonly.init_app(app)
    login.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    attachments.init_app(app)
    comments.init_app(app)
    for module in (auth, inbox, tasks, start, deals, pipeline, diagrams, designer, audit, metrics, api, engine_rest,
                   incidents, account, comments, attachments, admin):
        app.register_blueprint(module.bp)
    return app
