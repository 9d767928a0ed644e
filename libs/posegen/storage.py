"""Image storage under ``STORAGE_DIR`` and the signed, expiring URLs that serve it (``/files/{key}``)."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from posegen.contracts import API_PREFIX

FILES_PATH = f"{API_PREFIX}/files"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    """A storage key is a relative path of plain segments: no ``..``, no absolute path, no odd characters."""
    if len(key) > 512 or not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise InvalidKey("invalid file key")
    return key


def media_type(key: str) -> str:
    return MEDIA_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


class Storage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidKey("invalid file key")
        return path

    def write(self, key: str, data: bytes) -> None:
        """Write atomically: readers see the old file or the whole new one, never a part."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when there is no such file."""
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete_prefix(self, prefix: str) -> None:
        folder = self.path(prefix)
        if folder.is_dir():
            for child in sorted(folder.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() else child.unlink()
            folder.rmdir()


def signing_key(jwt_secret: str) -> bytes:
    """A key for file URLs derived from ``JWT_SECRET``, so a URL signature is never a token signature."""
    return hmac.new(jwt_secret.encode(), b"posegen/file-urls/v1", hashlib.sha256).digest()


class UrlSigner:
    """``{base}/files/{key}?exp=&sig=``. Expiry is rounded up to ``granularity`` so a browser can cache
    the same URL for a while instead of getting a new one on every listing."""

    def __init__(self, key: bytes, base_url: str, *, ttl_seconds: int = 3600, granularity_seconds: int = 600) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.ttl_seconds = ttl_seconds
        self.granularity_seconds = granularity_seconds

    def signature(self, key: str, expires: int) -> str:
        return hmac.new(self._key, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, key: str, *, now: float | None = None) -> str:
        check_key(key)
        moment = now if now is not None else time.time()
        expires = math.ceil((moment + self.ttl_seconds) / self.granularity_seconds) * self.granularity_seconds
        return f"{self.base_url}{FILES_PATH}/{quote(key)}?exp={expires}&sig={self.signature(key, expires)}"

    def verify(self, key: str, expires: int, signature: str, *, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self.signature(key, expires), signature)
