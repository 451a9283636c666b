"""The use cases: one module per group, each taking the acting user and returning plain data."""
