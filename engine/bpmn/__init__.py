"""Reading, checking and running diagrams: the only package that imports SpiffWorkflow."""
