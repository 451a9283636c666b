"""Whom a department head may hand a task to."""
from __future__ import annotations

from engine import queries


def assignees(sg, user, tasks: list[dict]) -> dict[str, list[str]]:
    """For each role of `tasks` that `user` heads: the active users who hold it."""
    headed = {t["role"] for t in tasks if user.heads(t["role"])}
    if not headed:
        return {}
    people = [u for u in queries.users(sg) if u["active"]]
    return {role: [u["name"] for u in people if role in u["roles"]] for role in sorted(headed)}
