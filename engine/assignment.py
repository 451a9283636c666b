"""Who may work a human task (its roles and candidate users) and who oversees it (the heads of its roles).

A task that names nobody (no role, no candidate user: a Camunda user task outside any lane naming
no candidates) is open to anyone, as in Camunda: any staff member (a user holding a working role)
may claim and complete it; auditors, administrators and designers only may not."""
from __future__ import annotations

from engine.actors import require_any_role, roles_of
from engine.errors import Refused
from engine.store.models import User
from engine.roles import ACCESS_ROLES, head_of, headed_by, is_staff

# The inbox's index of open tasks (human_task_roles) is keyed by role; a candidate user gets a
# key of their own. Role keys are case-folded, so a key with a capital letter is never a role's.
USER_KEY = "User:"
# The key of the tasks open to anyone: every staff member's inbox finds them under it.
ANYONE_KEY = "Anyone:"
# How the audit says a staff member worked a task open to anyone (as "candidate user" for those).
AS_ANYONE = "anyone (staff)"


def user_key(name: str) -> str:
    """The inbox index key of a task's candidate user."""
    return USER_KEY + name


def index_keys(roles: list[str], candidate_users: list[str] | None) -> list[str]:
    """The keys a task is found under in the inbox: its roles and its candidate users."""
    return list(roles) + [user_key(u) for u in candidate_users or []]


def task_keys(roles: list[str], candidate_users: list[str] | None) -> list[str]:
    """The keys an open task is filed under: its own, or the key of tasks open to anyone if it names nobody."""
    return index_keys(roles, candidate_users) or [ANYONE_KEY]


def open_to_anyone(task) -> bool:
    """True if the task (a row or its plain data) names no role and no candidate user."""
    return not (_get(task, "roles") or _get(task, "candidate_users"))


def inbox_keys(user: User) -> set[str]:
    """The keys under which the inbox finds the tasks `user` may work (a staff member's: those open to anyone too)."""
    held = roles_of(user)
    return held | {user_key(user.name)} | ({ANYONE_KEY} if is_staff(held) else set())


def headed_departments(user: User) -> set[str]:
    """The roles whose department `user` heads (and does not hold)."""
    mine = roles_of(user)
    return {d for d in (headed_by(r) for r in mine) if d and d not in mine}


def heads(user: User) -> set[str]:
    """Every department `user` heads, whether or not they also hold its role (empty: they head none)."""
    return {d for d in (headed_by(r) for r in roles_of(user)) if d}


def reader_keys(user: User) -> set[str]:
    """The keys by which `user` may read a process's deals: those they work, and the departments they head."""
    return inbox_keys(user) | headed_departments(user)


def works(held: set[str], name: str, roles: list[str], candidate_users: list[str] | None) -> bool:
    """True if someone called `name` holding the roles `held` may work a task of `roles` and `candidate_users`."""
    if not roles and not candidate_users:
        return is_staff(held)  # open to anyone
    return bool(held & set(roles)) or name in (candidate_users or [])


def may_work(user: User, roles: list[str], candidate_users: list[str] | None) -> bool:
    """True if `user` holds one of the task's roles or is one of its candidate users."""
    return works(roles_of(user), user.name, roles, candidate_users)


def acting_as(user: User, task) -> dict:
    """How `user` works the task, as the audit records it: the task's role they hold, else as one of its
    candidate users (an assignee is one), else as anyone (a task naming nobody), with the working roles they hold."""
    held = [r for r in _get(task, "roles") or [] if r in roles_of(user)]
    if held:
        return {"role": held[0]}
    if user.name in (_get(task, "candidate_users") or []):
        return {"role": None, "as": "candidate user"}
    if open_to_anyone(task):
        return {"role": None, "as": AS_ANYONE, "staff_roles": sorted(roles_of(user) - ACCESS_ROLES)}
    return {"role": None}


def oversees(user: User, roles: list[str]) -> bool:
    """True if `user` heads the department of one of the task's roles (may read, release, reassign it)."""
    return bool(roles_of(user) & {head_of(r) for r in roles})


def flags(user: User, task) -> dict:
    """What `user` may do with a task (a row or its plain data): work it, oversee it."""
    roles, users = _get(task, "roles") or [], _get(task, "candidate_users") or []
    return {"may_work": may_work(user, roles, users), "oversees": oversees(user, roles)}


def _get(task, key):
    return task.get(key) if isinstance(task, dict) else getattr(task, key)


def require_worker(user: User, task, what: str) -> None:
    """Refuse unless `user` may work the task (a task naming no role and no user: unless they are staff)."""
    roles, users = _get(task, "roles") or [], _get(task, "candidate_users") or []
    if not roles and not users:
        if not is_staff(roles_of(user)):
            raise Refused(f"{user.name} may not {what}: it names nobody, so any staff member may work it, and "
                          f"{user.name} holds no working role (only {', '.join(sorted(roles_of(user))) or 'none'})")
    elif not users:
        require_any_role(user, roles, what)
    elif not may_work(user, roles, users):
        listed = ", ".join(users)
        raise Refused(f"{user.name} may not {what}: " + (
            f"it needs the role {' or '.join(repr(r) for r in roles)}, or to be one of its candidate users "
            f"({listed}), and {user.name} is neither" if roles else f"it is for its candidate users only ({listed})"))


def require_head(user: User, task, what: str) -> None:
    """Refuse unless `user` heads the department of one of the task's roles."""
    heads = list(dict.fromkeys(head_of(r) for r in _get(task, "roles") or []))
    if not heads:
        raise Refused(f"{user.name} may not {what}: it has no role, so no department head oversees it")
    require_any_role(user, heads, what)
