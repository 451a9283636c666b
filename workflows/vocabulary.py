"""Words of the sales process, shared by diagrams, metrics and pages."""

STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation", "Closed")

GATE_OUTCOMES = ("go", "kill", "hold", "recycle")

# The role allowed to draw and deploy diagrams.
DESIGNER_ROLE = "process designer"
