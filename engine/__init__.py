"""Stagegate engine: the runtime around SpiffWorkflow, persistence and audit."""
