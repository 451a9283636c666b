"""Benchmarks for Stagegate (run with `python -m bench.run`)."""

import os as _os
import secrets as _secrets

# The benchmarks' throwaway databases are signed with a throwaway audit key (never instance/audit_key),
# one per run, shared with the servers and workers they start.
_os.environ.setdefault("STAGEGATE_AUDIT_KEY", _secrets.token_hex(32))
