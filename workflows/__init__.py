"""The sales domain that diagrams call into: vocabulary and expression helpers (no engine imports)."""
