"""Words of the sales process, shared by diagrams, metrics and pages."""

STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation", "Closed")

GATE_OUTCOMES = ("go", "kill", "hold", "recycle")

# The role allowed to draw and deploy diagrams.
DESIGNER_ROLE = "process designer"

# Who heads a department: may reassign its tasks and receives its escalations.
# A role "X head" heads "X"; these are the exceptions.
DEPARTMENT_HEADS = {"sales": "sales leadership"}


def head_of(role: str) -> str:
    """The role that heads `role` (case-folded names)."""
    return DEPARTMENT_HEADS.get(role, f"{role} head")


# Read-only access to the whole history and its audit trail.
AUDITOR_ROLE = "auditor"

# Who may read the sales metrics and run what-if replays (case-folded).
METRICS_ROLES = ("sales leadership", AUDITOR_ROLE, DESIGNER_ROLE)
