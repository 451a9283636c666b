"""Whom a department head may hand a task to."""
from __future__ import annotations

from engine.queries import records as queries
from engine.assignment import works


def assignees(sg, tasks: list[dict]) -> dict[str, list[str]]:
    """For each of `tasks` the signed-in user oversees as department head: the active users who may work it."""
    overseen = [t for t in tasks if t.get("oversees")]
    if not overseen:
        return {}
    people = [u for u in queries.users(sg) if u["active"]]
    return {t["id"]: [u["name"] for u in people if works(set(u["roles"]), u["name"], t["roles"], t["candidate_users"])]
            for t in overseen}
