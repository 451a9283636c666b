"""Words of the sales process, shared by diagrams, metrics and pages."""

STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation", "Closed")

GATE_OUTCOMES = ("go", "kill", "hold", "recycle")

# The gate outcome that stops a deal: a deal whose last gate decision was this is "killed" at that gate.
STOP_OUTCOME = "kill"

# How a deal closes, as the catalog's end events declare it (their `outcome` property); the metrics
# count these (win rate = won / (won + lost)) besides the killed deals.
CLOSE_OUTCOMES = ("won", "lost")

# The role allowed to draw and deploy diagrams.
DESIGNER_ROLE = "process designer"

# The role that reads every process, deal and history, and may change nothing.
AUDITOR_ROLE = "auditor"

# Who heads a department: may reassign its tasks and receives its escalations.
# A role "X head" heads "X"; these are the exceptions.
DEPARTMENT_HEADS = {"sales": "sales leadership"}


def head_of(role: str) -> str:
    """The role that heads `role` (case-folded names)."""
    return DEPARTMENT_HEADS.get(role, f"{role} head")


def headed_by(role: str) -> str | None:
    """The department that `role` heads, if it is a head role (the inverse of head_of)."""
    for department, head in DEPARTMENT_HEADS.items():
        if head == role:
            return department
    return role[: -len(" head")] if role.endswith(" head") and len(role) > len(" head") else None

# Who may read the sales metrics and run what-if replays (case-folded).
METRICS_ROLES = ("sales leadership", AUDITOR_ROLE, DESIGNER_ROLE)
