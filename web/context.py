"""Who and what a request works with: the app's Stagegate and the signed-in actor."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

STAGEGATE_KEY = "stagegate"


def stagegate():
    """The Stagegate built by create_app."""
    return current_app.extensions[STAGEGATE_KEY]


def current_actor() -> str:
    """The signed-in user's name: the actor every engine call is made as."""
    return current_user.name
