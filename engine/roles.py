"""The roles the engine's own access model knows: who designs, who audits, who heads a department."""
from __future__ import annotations

from engine import domain

# The role allowed to draw and deploy diagrams.
DESIGNER_ROLE = "process designer"

# The role that reads every process, deal and history, and may change nothing.
AUDITOR_ROLE = "auditor"

# The role of systems that send messages to deals (an e-signature service, the ERP): it may send
# any message; a person may send one only to an element in a lane of a role they hold.
INTEGRATION_ROLE = "integration"

# The role that administers the installation (users, webhooks, mail); it reads no deal data.
ADMIN_ROLE = "administrator"


# The roles of the engine's own access model: none of them is a working role, so an account holding
# only these (an auditor, an administrator, a designer, a system) is no staff member who works tasks.
ACCESS_ROLES = frozenset({DESIGNER_ROLE, AUDITOR_ROLE, INTEGRATION_ROLE, ADMIN_ROLE})


def is_staff(held: set[str]) -> bool:
    """True if the roles `held` include a working role (one not of the engine's access model)."""
    return bool(set(held) - ACCESS_ROLES)


def head_of(role: str) -> str:
    """The role that heads `role` (case-folded names): "X head", unless the domain names another."""
    return domain.current().department_heads.get(role, f"{role} head")


def headed_by(role: str) -> str | None:
    """The department that `role` heads, if it is a head role (the inverse of head_of)."""
    for department, head in domain.current().department_heads.items():
        if head == role:
            return department
    return role[: -len(" head")] if role.endswith(" head") and len(role) > len(" head") else None
