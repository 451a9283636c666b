"""The audit key ring: the HMAC keys the audit chain is signed with, kept outside the database.

A database writer can recompute plain hashes, not HMACs: without the key they cannot make an
edited or inserted event verify. The keys come from STAGEGATE_AUDIT_KEY (hex keys, newest
last, separated by spaces or commas), else from the file STAGEGATE_AUDIT_KEY_FILE names, else
from instance/audit_key (next to the web app's instance/secret_key). The file has one hex key a
line, newest last: `stagegate audit rotate-key` appends to it, and the older keys stay so the
events they signed still verify.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from engine.errors import AuditKeyError, StagegateError  # noqa: F401 - AuditKeyError: raised here, importable from here

ENV_KEYS = "STAGEGATE_AUDIT_KEY"
ENV_FILE = "STAGEGATE_AUDIT_KEY_FILE"
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "instance" / "audit_key"
KEY_BYTES = 32
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64,}$")


def key_id(key: bytes) -> str:
    """A short public name of a key (an HMAC of a constant: it reveals nothing of the key)."""
    return hmac.new(key, b"stagegate audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    """Every audit key this installation has, by id; `current` signs what is written from now on."""

    keys: dict
    source: str  # where the keys came from, for messages

    @property
    def current(self) -> str:
        return list(self.keys)[-1]

    def get(self, kid: str | None) -> bytes | None:
        return self.keys.get(kid) if kid else None

    @classmethod
    def of(cls, *keys: bytes, source: str = "(given)") -> "KeyRing":
        return cls({key_id(k): k for k in keys}, source)


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_file() -> Path | None:
    """The key file in use, or None when the keys come from the environment."""
    if os.environ.get(ENV_KEYS):
        return None
    return Path(os.environ.get(ENV_FILE) or DEFAULT_FILE)


def _parse(text: str, source: str) -> KeyRing:
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        for word in line.split("#", 1)[0].replace(",", " ").split():
            if not _HEX_KEY.match(word) or len(word) % 2:
                raise AuditKeyError(f"{source}, line {n}: not a hex key of at least {KEY_BYTES} bytes")
            keys.append(bytes.fromhex(word))
    if not keys:
        raise AuditKeyError(f"{source} holds no key")
    return KeyRing.of(*keys, source=source)


def load(create: bool = False) -> KeyRing | None:
    """The installation's keys; with create=True a missing key file is made (mode 0600). None if none."""
    if os.environ.get(ENV_KEYS):
        return _parse(os.environ[ENV_KEYS], f"${ENV_KEYS}")
    path = key_file()
    if not path.exists():
        if not create:
            return None
        _write_new(path)
    return read_key_file(path)


def read_key_file(path: Path) -> KeyRing:
    """The keys in a key file."""
    try:
        return _parse(path.read_text(), str(path))
    except OSError as exc:
        raise AuditKeyError(f"the audit key file {path} cannot be read: {exc.strerror}")


def _write_new(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it just now: use that one
        return
    with os.fdopen(fd, "w") as f:
        f.write("# Stagegate audit keys, newest last. Back this file up apart from the database.\n")
        f.write(new_key().hex() + "\n")


def append_key(ring: KeyRing) -> KeyRing:
    """Add a new newest key to the key file (for rotation); the older keys stay to verify old events."""
    path = key_file()
    if path is None:
        raise AuditKeyError(f"the audit keys come from ${ENV_KEYS}: add a new key at its end "
                            f"(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) instead")
    key = new_key()
    with open(path, "a") as f:
        f.write(key.hex() + "\n")
    return KeyRing({**ring.keys, key_id(key): key}, ring.source)


def missing_key_message() -> str:
    """What to do when no key is found."""
    where = key_file()
    return (f"no audit key: {where} does not exist and ${ENV_KEYS} is not set. Run `stagegate init` to make "
            "one for a new database; for an existing one, restore the key file from your backup "
            "(see the README, 'The audit key')")
