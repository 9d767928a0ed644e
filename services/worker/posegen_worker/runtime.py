"""What the worker keeps between jobs: settings, connections, the warm pipeline and the shutdown flag.

It is built once when ``posegen worker`` starts and installed as the process's runtime; the job function
(called by RQ with only a generation id) reads it from here.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from psycopg_pool import ConnectionPool

from posegen.events import EventPublisher
from posegen.retry import retrying
from posegen.settings import WorkerSettings
from posegen.storage import Storage, UrlSigner, open_storage, signing_key
from posegen_worker.metrics import WorkerMetrics

if TYPE_CHECKING:
    from posegen.inference.loading import LoadedPipeline

log = logging.getLogger("posegen.worker")
PUBLISH_RETRY_SECONDS = 120.0
REDIS_BACKOFF_SECONDS = 2.0


@dataclass
class Runtime:
    settings: WorkerSettings
    pool: ConnectionPool
    redis: redis.Redis
    storage: Storage
    signer: UrlSigner
    events: EventPublisher
    pipeline: LoadedPipeline
    metrics: WorkerMetrics
    stop_event: threading.Event = field(default_factory=threading.Event)
    requeue: list[str] = field(default_factory=list)
    redis_down_until: float = 0.0

    @classmethod
    def open(cls, settings: WorkerSettings, *, pipeline: LoadedPipeline | None = None) -> Runtime:
        from posegen.db.pool import create_pool
        from posegen.inference.loading import load_pipeline

        loaded = pipeline if pipeline is not None else load_pipeline(settings)
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=1)
        metrics = WorkerMetrics(with_cuda=loaded.device == "cuda")
        metrics.model_load_seconds.set(loaded.load_seconds)
        return cls(
            settings=settings,
            pool=create_pool(settings.database_url, max_size=4, name="worker"),
            redis=client,
            storage=open_storage(settings),
            signer=UrlSigner(signing_key(settings.jwt_secret.get_secret_value()), settings.public_base_url),
            events=EventPublisher(client),
            pipeline=loaded,
            metrics=metrics,
        )

    def publish(self, event) -> bool:
        """Publish an event without letting Redis trouble fail the generation; True when it reached Redis. A
        ``progress`` event is tried once (the next step brings a fresher one), any other is retried with
        backoff for a while (the database keeps the truth either way, and a final event left unpublished is
        delivered later, see ``posegen.lifecycle``)."""
        if event.type == "progress" and not self.redis_usable():
            return False
        deadline = 0.0 if event.type == "progress" else PUBLISH_RETRY_SECONDS
        try:
            for attempt in retrying(on=(redis.RedisError,), deadline=deadline, first=0.2, cap=5.0, log=log):
                with attempt:
                    self.events.publish(event)
        except redis.RedisError as error:
            self.redis_failed()
            log.warning("could not publish %s of %s: %s", event.type, event.generation_id, error)
            return False
        return True

    def redis_usable(self) -> bool:
        """False for a short while after a Redis error, so the denoising loop does not wait on timeouts."""
        return time.monotonic() >= self.redis_down_until

    def redis_failed(self) -> None:
        self.redis_down_until = time.monotonic() + REDIS_BACKOFF_SECONDS

    def close(self) -> None:
        self.redis.close()
        self.pool.close()


_installed: Runtime | None = None
_lock = threading.Lock()


def install(runtime: Runtime | None) -> None:
    global _installed
    _installed = runtime


def current() -> Runtime:
    """The installed runtime, or one built from the environment (a job run by a plain RQ worker)."""
    global _installed
    with _lock:
        if _installed is None:
            from posegen.settings import load_settings

            _installed = Runtime.open(load_settings(WorkerSettings))
        return _installed
