"""Words of the sales process, shared by diagrams, metrics and pages."""
from engine.roles import AUDITOR_ROLE, DESIGNER_ROLE

STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation", "Closed")

GATE_OUTCOMES = ("go", "kill", "hold", "recycle")

# The gate outcome that stops a deal: a deal whose last gate decision was this is "killed" at that gate.
STOP_OUTCOME = "kill"

# How a deal closes, as the catalog's end events declare it (their `outcome` property); the metrics
# count these (win rate = won / (won + lost)) besides the killed deals.
CLOSE_OUTCOMES = ("won", "lost")

# Who heads a department: may reassign its tasks and receives its escalations.
# A role "X head" heads "X" (engine/roles.py); these are the exceptions.
DEPARTMENT_HEADS = {"sales": "sales leadership"}

# Who may read the sales metrics and run what-if replays (case-folded).
METRICS_ROLES = ("sales leadership", AUDITOR_ROLE, DESIGNER_ROLE)
