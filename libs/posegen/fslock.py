"""An exclusive lock on a file, held across processes and machines that share the file system.

POSIX record locks (``fcntl.lockf``) rather than ``flock``: NFS (v3 with lockd, v4 natively), EFS, Filestore
and CephFS carry them between clients. The kernel drops the lock when its holder dies, so a killed pod
cannot leave it taken (on NFS, once the dead client's lease expires)."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_BUSY = {errno.EACCES, errno.EAGAIN}


@contextmanager
def exclusive_lock(
    *, path: Path, timeout: float | None = None, on_wait: Callable[[], None] | None = None, poll: float = 1.0
) -> Iterator[None]:
    """Hold ``path`` locked for the ``with`` block; ``on_wait`` is called once if another holder makes us
    wait; ``TimeoutError`` after ``timeout`` seconds (None waits for ever)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in _BUSY:
                    raise
            if on_wait is not None:
                on_wait()
                on_wait = None  # only the first wait is reported
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{path} is still locked by another process after {timeout:g} s")
            time.sleep(poll)
        yield
    finally:
        os.close(fd)  # closing releases the lock
