"""Flask-Login set-up: the signed-in User, loaded from the engine on every request."""
from __future__ import annotations

from flask import Flask
from flask_login import LoginManager, UserMixin

from engine.users import user_roles

from .context import stagegate

manager = LoginManager()
manager.login_view = "auth.login"
manager.login_message = "Please sign in to see this page."
manager.login_message_category = "info"
manager.session_protection = "basic"


class User(UserMixin):
    """A signed-in staff member: name and roles as the engine has them now."""

    def __init__(self, name: str, roles: list[str]):
        self.id = name
        self.name = name
        self.roles = list(roles)


@manager.user_loader
def _load(name: str) -> User | None:
    # Asking the engine each time means a deactivated user or a revoked role counts at once.
    info = user_roles(stagegate(), name)
    return User(info["name"], info["roles"]) if info else None


def init_app(app: Flask) -> None:
    """Attach the login manager to the app."""
    manager.init_app(app)
