"""Generations that are ``queued`` in PostgreSQL but have no live RQ job (the process died between the
commit and the enqueue, Redis was down or lost its data) are enqueued again, so no paid-for generation is
lost; final events that were owed but never published (a crash after the commit) are delivered; and pose
extractions that never finished (their extractor died) are failed as ``timeout``, with their event.
Each pass also deletes expired ``Idempotency-Key`` answers and the discarded avatars nothing pins any more
(a replaced avatar whose generation has finished, or one a crash left behind)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from psycopg_pool import ConnectionPool

from posegen import lifecycle
from posegen.contracts import Event, generation_lease_key
from posegen.db import extractions as extractions_db
from posegen.db import generations as generations_db
from posegen.db import idempotency as idempotency_db
from posegen.db.library import refresh_usage_counts
from posegen.queue import discard_job, enqueue_generation, job_is_live
from posegen.storage import Storage
from posegen_gateway.serving.extractions import STALE_SECONDS, announce_failure
from posegen_gateway.serving.projects import delete_discarded_avatars

log = logging.getLogger("posegen_gateway.reconcile")
LOCK_KEY = "pose-generation:reconciler-lock"
GRACE_SECONDS = 10.0


def reconcile_queued(*, pool: ConnectionPool, connection: redis.Redis, grace_seconds: float) -> list[str]:
    """Enqueue every queued generation older than ``grace_seconds`` without a live job; return their ids. A
    started job counts as live only while the generation's lease is held: one whose worker died before it
    took the lease, or that a stopping worker handed back without re-enqueueing it (Redis was down then),
    stays "started" in RQ with nobody running it."""
    with pool.connection() as conn:
        candidates = generations_db.stale_queued(conn=conn, older_than_seconds=grace_seconds)
    enqueued = []
    for generation_id in candidates:
        running = bool(connection.exists(generation_lease_key(generation_id)))
        if job_is_live(connection, generation_id, running_counts=running):
            continue
        discard_job(connection, generation_id)
        if enqueue_generation(connection, generation_id):
            enqueued.append(generation_id)
            log.warning("re-enqueued generation %s that had no live job", generation_id)
    return enqueued


@dataclass(kw_only=True)
class Reconciler:
    """Runs :func:`reconcile_queued` (and refreshes the poses' usage counts) every ``interval`` seconds in a
    thread; one process at a time does the work (a Redis lock), so several gateway replicas do not enqueue
    the same generation together."""

    pool: ConnectionPool
    connection: redis.Redis
    publish: Callable[[Event], bool]
    storage: Storage | None = None
    """Where discarded avatars are deleted from; None: they are left for a process that has it."""
    interval: float = 15.0
    grace_seconds: float = GRACE_SECONDS
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def run_once(self) -> list[str]:
        lock = self.connection.lock(LOCK_KEY, timeout=max(30.0, self.interval * 2), blocking=False)
        if not lock.acquire(blocking=False):
            return []
        try:
            enqueued = reconcile_queued(pool=self.pool, connection=self.connection, grace_seconds=self.grace_seconds)
            lifecycle.deliver_owed(pool=self.pool, publish=self.publish, older_than_seconds=self.grace_seconds)
            with self.pool.connection() as conn:
                refresh_usage_counts(conn=conn)
                for row in extractions_db.expire_stale(conn=conn, older_than_seconds=STALE_SECONDS):
                    announce_failure(self.publish, row)
                idempotency_db.delete_expired(conn=conn)
                if self.storage is not None:
                    delete_discarded_avatars(conn=conn, storage=self.storage)
            return enqueued
        finally:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("reconciler pass failed; retrying in %.0fs", self.interval)
