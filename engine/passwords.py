"""Password hashing with the standard library's scrypt (no extra dependency)."""
from __future__ import annotations

import hashlib
import hmac
import os

# scrypt's cost (N; r=8, p=1): ~50 ms and 16 MiB per hash. Each hash records the cost it was made with
# and is checked at that cost, so raising it later leaves existing passwords valid. The test suite
# lowers it in its own process (tests/conftest.py); the CLI and servers it starts hash at this cost.
SCRYPT_N = 2**14
_R, _P = 8, 1


def hash_password(password: str) -> str:
    """A salted scrypt hash in a self-describing text form."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=_R, p=_P, dklen=32)
    return f"scrypt${SCRYPT_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(stored: str | None, password: str) -> bool:
    """True if `password` matches the stored hash (constant-time compare)."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                   dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)
