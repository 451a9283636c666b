"""Whom a department head may hand a task to."""
from __future__ import annotations

from engine import queries


def assignees(sg, user, tasks: list[dict]) -> dict[str, list[str]]:
    """For each of `tasks` that `user` oversees as department head: the active users who may work it."""
    overseen = [t for t in tasks if t.get("oversees")]
    if not overseen:
        return {}
    people = [u for u in queries.users(sg) if u["active"]]
    return {t["id"]: [u["name"] for u in people
                      if set(t["roles"]) & set(u["roles"]) or u["name"] in (t.get("candidate_users") or [])]
            for t in overseen}
