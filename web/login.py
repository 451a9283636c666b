"""Flask-Login set-up: the signed-in User, loaded from the engine on every request.

A session holds the user's name and the session generation it was signed in at. Signing out,
a new password, a role change and deactivation bump the user's generation in the database, so
every session signed in before (a copied cookie too) is signed out at its next request.

The token-authenticated APIs (/api/, /engine-rest/) have no session at all: a browser's cookie sent
there is not read (no one is signed in by it) and none is sent back.
"""
from __future__ import annotations

from flask import Flask, flash, g, redirect, request, session
from flask.sessions import NullSession, SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, login_url

from engine.services.users import session_user

from .context import stagegate

manager = LoginManager()
manager.login_view = "auth.login"
manager.login_message = "Please sign in to see this page."
manager.login_message_category = "info"
manager.session_protection = "basic"
SESSION_ENDED = ("Your session has ended (you signed out, or your password or roles changed): "
                 "please sign in again.")


class User(UserMixin):
    """A signed-in staff member: name and roles as the engine has them now."""

    def __init__(self, name: str, roles: list[str], session_generation: int):
        self.id = name
        self.name = name
        self.roles = list(roles)
        self.session_generation = session_generation

    def get_id(self) -> str:
        return f"{self.session_generation}:{self.name}"


@manager.user_loader
def _load(session_id: str) -> User | None:
    # Asking the engine each time means a deactivated user, a changed role or an ended session counts at once.
    generation, _, name = session_id.partition(":")
    info = session_user(stagegate(), name, int(generation)) if generation.isdigit() else None
    if info is None:
        session.clear()  # signed out for good: the cookie sent back from now on is an empty one
        g.session_ended = True
        return None
    return User(info["name"], info["roles"], info["session_generation"])


@manager.unauthorized_handler
def _to_sign_in():
    flash(SESSION_ENDED if g.get("session_ended") else manager.login_message, manager.login_message_category)
    return redirect(login_url(manager.login_view, next_url=request.url))


TOKEN_APIS = ("/api/", "/engine-rest/")


class NoSession(NullSession):
    """What an API request has for a session: empty, and refusing to keep anything."""

    def _fail(self, *args, **kwargs):
        raise RuntimeError(f"{request.path} is an API that takes no session cookie: nothing can be kept in a session")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class PagesOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions for the pages; none for the token APIs, which then also skip
    reading and verifying a cookie, the sign-in check behind it, and writing one back."""

    null_session_class = NoSession

    def open_session(self, app, request):
        if request.path.startswith(TOKEN_APIS):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Attach the login manager to the app; sessions for the pages only."""
    app.session_interface = PagesOnlySessions()
    manager.init_app(app)
