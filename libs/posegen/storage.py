"""Where images live, behind one interface: result images, thumbnails, avatars, extraction photos and
skeletons, exports. ``LocalStorage`` keeps them under ``STORAGE_DIR``; ``posegen.objectstore.S3Storage`` in
an S3 bucket. :func:`open_storage` builds the one ``STORAGE_BACKEND`` names; keys are the same on both.

URLs handed to clients are ours either way (``/files/{key}?exp=&sig=``, :class:`UrlSigner`): the gateway checks
the signature, then serves the bytes (local) or redirects to a presigned GET that expires at the same moment
(S3), so a URL never outlives what it was signed for and nobody reaches a key they were not given.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar
from urllib.parse import quote

from tenacity import stop_when_event_set

from posegen.contracts import API_PREFIX
from posegen.retry import retrying

if TYPE_CHECKING:
    from posegen.settings import CommonSettings

FILES_PATH = f"{API_PREFIX}/files"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".zip": "application/zip",
}


class InvalidKey(ValueError):
    pass


class StorageUnavailable(OSError):
    """The backend could not be reached or refused the request (a fault that may pass: retry)."""


class StorageMisconfigured(RuntimeError):
    """The backend answers but cannot be used as configured (no such bucket, bad credentials)."""


T = TypeVar("T")


def with_storage_retry(
    call: Callable[[], T], *, log: logging.Logger, deadline: float, stop: threading.Event | None = None
) -> T:
    """Run a storage call, retrying with backoff while the backend is unreachable (``posegen.retry``'s policy,
    as for PostgreSQL and Redis); after ``deadline`` seconds, or as soon as ``stop`` is set, the last
    :class:`StorageUnavailable` is raised. Writes are idempotent (same key, same bytes), so a retried write is
    safe."""
    policy = retrying(on=(StorageUnavailable,), deadline=deadline, first=0.5, cap=10.0, log=log)
    if stop is not None:
        policy = policy.copy(stop=policy.stop | stop_when_event_set(stop), sleep=stop.wait)
    return policy(call)


class StorageRetry:
    """Storage calls that ride out one outage for a bounded time (``STORAGE_RETRY_DEADLINE_SECONDS``): the
    clock starts at the first call that fails and stops at the next one that succeeds, so a generation
    waits out an outage once, not once per image. Past the deadline each call is tried once, until the
    backend answers again. Once ``stop`` is set (the worker's SIGTERM), the waiting ends at once and a call
    made during the outage is not even tried: the caller leaves its work to whoever takes it over."""

    def __init__(self, *, deadline_seconds: float, stop: threading.Event, log: logging.Logger) -> None:
        self.deadline_seconds = deadline_seconds
        self.stop = stop
        self.log = log
        self.failing_since: float | None = None

    def __call__(self, call: Callable[[], T]) -> T:
        started = time.monotonic()
        if self.failing_since is not None and self.stop.is_set():
            raise StorageUnavailable("the storage is unavailable and this process is stopping")
        since = started if self.failing_since is None else self.failing_since
        budget = max(0.0, since + self.deadline_seconds - started)
        try:
            result = with_storage_retry(call, log=self.log, deadline=budget, stop=self.stop)
        except StorageUnavailable:
            self.failing_since = since
            raise
        self.failing_since = None
        return result


def check_key(key: str) -> str:
    """A storage key is a relative path of plain segments: no ``..``, no absolute path, no odd characters."""
    if len(key) > 512 or not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise InvalidKey("invalid file key")
    return key


def media_type(key: str) -> str:
    return MEDIA_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


class Storage(ABC):
    """Objects by key. ``write`` is atomic (a reader sees the old object or the whole new one) and returns
    only once the object can be read back; ``read`` raises FileNotFoundError for a missing key; a backend
    that cannot be reached raises :class:`StorageUnavailable`."""

    backend: ClassVar[str]

    @abstractmethod
    def describe(self) -> str:
        """The backend and where it keeps the objects, for log lines."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def read(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object (nothing when it is not there)."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Remove every object under ``prefix/`` (nothing when there is none)."""

    @abstractmethod
    def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix`` (all keys when empty), sorted, as S3 lists them."""

    @abstractmethod
    def check(self) -> None:
        """Raise StorageMisconfigured or StorageUnavailable unless objects can be written and read."""

    def open_stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        """The object's size and its bytes in chunks, for serving a large object (an export) without holding
        it in memory; FileNotFoundError at once when it is missing."""
        data = self.read(key)
        return len(data), iter((data,))

    def download_url(self, key: str, expires_at: int) -> str | None:
        """A URL the client can GET the object from directly until ``expires_at`` (Unix seconds), or None
        when this backend has none and the gateway serves the bytes itself."""
        return None


class LocalStorage(Storage):
    """Files under a folder (``STORAGE_DIR``): one host, or a ReadWriteMany volume shared by the pods."""

    backend = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        """The file of ``key``: for this backend's own use and tests, never for callers of the interface."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidKey("invalid file key")
        return path

    def write(self, key: str, data: bytes) -> None:
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
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open_stream(self, key: str, chunk_size: int = 1 << 20) -> tuple[int, Iterator[bytes]]:
        handle = self.path(key).open("rb")

        def chunks() -> Iterator[bytes]:
            with handle:
                while block := handle.read(chunk_size):
                    yield block

        return os.fstat(handle.fileno()).st_size, chunks()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        folder = self.path(prefix)
        if folder.is_dir():
            for child in sorted(folder.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() else child.unlink()
            folder.rmdir()

    def keys(self, prefix: str = "") -> list[str]:
        parent = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        folder = self.path(parent) if parent else self.root
        if not folder.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())
        return sorted(k for k in found if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".tmp-check-"):
                pass
        except OSError as error:
            raise StorageMisconfigured(f"STORAGE_DIR {self.root} is not writable: {error}") from error

    def describe(self) -> str:
        return f"local {self.root}"


def open_storage(settings: CommonSettings) -> Storage:
    """The backend ``STORAGE_BACKEND`` names, built from the settings (no connection is opened yet)."""
    if settings.storage_backend == "s3":
        from posegen.objectstore import S3Storage

        return S3Storage.from_settings(settings)
    return LocalStorage(settings.storage_dir)


def check_at_startup(storage: Storage, log: logging.Logger) -> None:
    """A service's start: a backend that cannot work as configured (no such bucket, refused credentials,
    an unwritable folder) stops the process with one line naming it; one that does not answer yet only
    warns (readiness reports it until it does, and writes are retried)."""
    try:
        storage.check()
    except StorageMisconfigured as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except StorageUnavailable as error:
        log.warning("storage (%s) does not answer yet: %s", storage.describe(), error)


def storage_status(storage: Storage) -> dict[str, str]:
    """What readiness reports about the backend: ``{"backend": "s3", "status": "connected"}`` when it answers
    and can be used."""
    try:
        storage.check()
    except (StorageMisconfigured, StorageUnavailable):
        return {"backend": storage.backend, "status": "disconnected"}
    return {"backend": storage.backend, "status": "connected"}


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
