"""Leases and the reaper: a running generation holds a lease in Redis that its worker renews; when the
worker dies the lease expires and any worker's reaper puts the generation back on the queue (at most
``WORKER_MAX_RECOVERIES`` times, then it fails and its unfinished images are refunded)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import redis

from posegen import lifecycle
from posegen.contracts import generation_lease_key
from posegen.db import generations as generations_db
from posegen.queue import discard_job, enqueue_generation, job_is_live
from posegen_worker.runtime import Runtime

log = logging.getLogger("posegen.worker.recovery")
REAPER_LOCK_KEY = "pose-generation:reaper-lock"
# Take the lease, or renew it when it is ours: also when it vanished (Redis restarted without persistence).
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """``pose-generation:lease:{generationId}`` = the worker's name, with a TTL that a thread renews."""

    def __init__(self, connection: redis.Redis, generation_id: str, owner: str, ttl_seconds: int) -> None:
        self.key = generation_lease_key(generation_id)
        self.owner = owner
        self.ttl = ttl_seconds
        self.lost = threading.Event()
        self._renew = connection.register_script(_RENEW)
        self._release = connection.register_script(_RELEASE)

    def acquire(self) -> bool:
        """True when the lease is ours (taken or renewed), False while another worker holds it."""
        return bool(self._renew(keys=[self.key], args=[self.owner, self.ttl]))

    def release(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self._release(keys=[self.key], args=[self.owner])

    @contextlib.contextmanager
    def kept(self) -> Iterator[Lease]:
        """Renew every third of the TTL while the block runs; ``lost`` is set if another worker took it."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(max(0.5, self.ttl / 3)):
                try:
                    if not self.acquire():
                        self.lost.set()
                        return
                except redis.RedisError:
                    log.warning("could not renew the lease %s; retrying", self.key)

        thread = threading.Thread(target=renew, name="lease", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5)


def reap(runtime: Runtime) -> list[str]:
    """Recover every processing generation whose lease has expired; one reaper at a time (a Redis lock)."""
    settings = runtime.settings
    lock = runtime.redis.lock(REAPER_LOCK_KEY, timeout=max(10, settings.worker_lease_seconds), blocking=False)
    if not lock.acquire(blocking=False):
        return []
    try:
        with runtime.pool.connection() as conn:
            candidates = generations_db.processing_older_than(conn=conn, seconds=1.0)
        return [generation_id for generation_id in candidates if _recover(runtime, generation_id)]
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def _recover(runtime: Runtime, generation_id: str) -> bool:
    lease = generation_lease_key(generation_id)
    if runtime.redis.exists(lease):
        return False
    with runtime.pool.connection() as conn:
        result = lifecycle.recover(
            conn=conn,
            generation_id=generation_id,
            max_recoveries=runtime.settings.worker_max_recoveries,
            abandoned=lambda: not runtime.redis.exists(lease),
        )
    if result.ended is not None:
        lifecycle.deliver(result.ended, publish=runtime.publish, pool=runtime.pool)
        log.error("generation %s failed: %s", generation_id, result.ended.row.error_message)
    elif result.requeued is not None:
        if not job_is_live(runtime.redis, generation_id, running_counts=False):
            discard_job(runtime.redis, generation_id)
            enqueue_generation(runtime.redis, generation_id, at_front=True)
        log.warning("re-queued generation %s whose worker stopped renewing its lease", generation_id)
    else:
        return False
    runtime.metrics.recoveries.inc()
    return True


class Reaper:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.interval = max(1.0, runtime.settings.worker_lease_seconds / 2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                reap(self.runtime)
            except Exception:
                log.exception("reaper pass failed")
