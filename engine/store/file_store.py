"""Where attachments' bytes live: one small interface, files on disk by default.

Keys are made by the engine (`<deal>/<random hex>`), never from a user's file name, so no name
can reach outside the store's folder; a key that does not match that shape is refused.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterable, Protocol

KEY = re.compile(r"^[0-9]{1,19}/[0-9a-f]{32}$")
CHUNK = 64 * 1024


class TooLarge(Exception):
    """The upload passed the size limit; nothing was kept."""


class FileStore(Protocol):
    """Stores and returns attachments' bytes by key."""

    def put(self, key: str, chunks: Iterable[bytes], limit: int) -> tuple[int, str]:
        """Store the chunks under `key` (all or nothing); (size, sha256); TooLarge past `limit` bytes."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes, for reading (FileNotFoundError when gone)."""

    def delete(self, key: str) -> None:
        """Forget `key` (an upload whose transaction rolled back)."""


def new_key(instance_id: int) -> str:
    """A fresh key for a file of deal `instance_id`."""
    return f"{int(instance_id)}/{secrets.token_hex(16)}"


class LocalFileStore:
    """Files under one folder (by default the app's instance folder), written whole or not at all."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        if not KEY.match(key or ""):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def put(self, key: str, chunks: Iterable[bytes], limit: int) -> tuple[int, str]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"the file is larger than {limit:,} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # a reader never sees half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size, digest.hexdigest()

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def chunks_of(stream: BinaryIO) -> Iterable[bytes]:
    """A binary stream read in pieces."""
    while True:
        block = stream.read(CHUNK)
        if not block:
            return
        yield block
