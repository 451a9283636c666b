"""Maps the engine's expected errors to HTTP statuses, so routes need no try/except for them."""
from __future__ import annotations

from functools import wraps

from flask import abort

from engine.errors import Conflict, NotFound, Refused


def engine_errors(view):
    """Turn NotFound into 404, Conflict into 409 and Refused into 403, with the engine's message."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except NotFound as exc:
            abort(404, description=str(exc))
        except Conflict as exc:  # before Refused: a Conflict is a Refused that went stale
            abort(409, description=str(exc))
        except Refused as exc:
            abort(403, description=str(exc))
    return wrapped
