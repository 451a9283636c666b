"""Configuration: defaults, the database URL, the secret key and the session cookie."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask

from stagegate.compose import database_url

from . import limits

REPO_ROOT = Path(__file__).resolve().parent.parent
SESSION_HOURS = 8

DEFAULTS = {
    "TESTING": False,
    "MIGRATE": False,
    "WTF_CSRF_ENABLED": True,
    # A form left open for a working day must still submit; the token dies with the session.
    "WTF_CSRF_TIME_LIMIT": SESSION_HOURS * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=SESSION_HOURS),
    "BPMN_JS_DIST": str(REPO_ROOT / "node_modules" / "bpmn-js" / "dist"),
    **limits.CONFIG,
}


def configure(app: Flask, config: dict) -> None:
    """Fill app.config from DEFAULTS, the caller's config and the environment."""
    app.config.update(DEFAULTS)
    app.config.update(config)
    app.config["DATABASE_URL"] = database_url(config.get("DATABASE_URL"))
    if "SESSION_COOKIE_SECURE" not in config:
        # Tests and http://localhost have no TLS; every real deployment must.
        app.config["SESSION_COOKIE_SECURE"] = not app.config["TESTING"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _kept_secret(Path(app.instance_path) / "secret_key")
    # The checkpoint file /audit/verify checks (`stagegate audit checkpoint --append FILE`).
    app.config.setdefault("AUDIT_CHECKPOINTS", os.environ.get("STAGEGATE_AUDIT_CHECKPOINTS") or None)
    # How many proxies in front set X-Forwarded-For: sign-in throttling counts per client address.
    app.config.setdefault("TRUSTED_PROXIES", int(os.environ.get("STAGEGATE_TRUSTED_PROXIES") or 0))


def _kept_secret(path: Path) -> str:
    """A random key made once and kept, so sessions survive a restart."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
