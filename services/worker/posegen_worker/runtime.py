"""What the worker keeps between jobs: settings, connections, the warm pipeline and the shutdown flag.

It is built once when ``posegen worker`` starts and installed as the process's runtime; the job function
(called by RQ with only a generation id) reads it from here. ``posegen extractor`` (``extractor.py``) shares
the connections and the start-up around its own runtime.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

import redis
from psycopg_pool import ConnectionPool
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from posegen.events import EventPublisher
from posegen.retry import retrying
from posegen.settings import AuthSettings, WorkerSettings, load_settings
from posegen.storage import Storage, UrlSigner, open_storage, signing_key, storage_status
from posegen_worker.metrics import MetricsServer, WorkerMetrics

if TYPE_CHECKING:
    from posegen.inference.loading import LoadedPipeline

log = logging.getLogger("posegen.worker")
PUBLISH_RETRY_SECONDS = 120.0
REDIS_BACKOFF_SECONDS = 2.0
R = TypeVar("R")


@dataclass
class Connections:
    """What the worker and the extractor both hold: the database pool, Redis, storage, URL signing, events."""

    settings: AuthSettings
    pool: ConnectionPool
    redis: redis.Redis
    storage: Storage
    signer: UrlSigner
    events: EventPublisher
    stop_event: threading.Event = field(default_factory=threading.Event, kw_only=True)
    """Set when the process is asked to stop (SIGTERM): a job's waits end early."""

    @staticmethod
    def connect(settings, *, pool_size: int, name: str) -> dict:
        """The fields above, opened from a service's settings (which carry ``public_base_url``)."""
        from posegen.db.pool import create_pool

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=1)
        return {
            "settings": settings,
            "pool": create_pool(settings.database_url, max_size=pool_size, name=name),
            "redis": client,
            "storage": open_storage(settings),
            "signer": UrlSigner(signing_key(settings.jwt_secret.get_secret_value()), settings.public_base_url),
            "events": EventPublisher(client),
        }

    def serve_metrics(self, host: str, port: int, *, ready: Callable[[], bool] = lambda: True) -> MetricsServer:
        """``/metrics``, ``/health`` and ``/ready`` (``ready()`` and Redis answering, with the storage's state)."""
        server = MetricsServer(
            host,
            port,
            self.metrics,
            ready=lambda: ready() and self.redis_answers(),
            details=lambda: {"storage": storage_status(self.storage)},
        )
        server.start()
        return server

    def work(self, worker_class: type[SimpleWorker], queue: Queue, name: str, *beside) -> int:
        """Work ``queue`` with an RQ worker named ``name`` (which can reach this runtime as ``worker.runtime``)
        until it stops; then stop what ran beside it, in order, and close."""
        worker = worker_class([queue], connection=self.redis, name=name, serializer=JSONSerializer)
        worker.runtime = self
        try:
            worker.work(logging_level=self.settings.log_level, with_scheduler=False)
        finally:
            for running in beside:
                running.stop()
            self.close()
        return 0

    def redis_answers(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:
            return False

    def close(self) -> None:
        self.redis.close()
        self.pool.close()


class Slot(Generic[R]):
    """The process's runtime: the one installed at start-up, or one built from the environment by the first
    job that asks (a job run by a plain RQ worker)."""

    def __init__(self, build: Callable[[], R]) -> None:
        self.installed: R | None = None
        self._build = build
        self._lock = threading.Lock()

    def install(self, runtime: R | None) -> None:
        self.installed = runtime

    def current(self) -> R:
        with self._lock:
            if self.installed is None:
                self.installed = self._build()
            return self.installed


@dataclass
class Runtime(Connections):
    settings: WorkerSettings
    pipeline: LoadedPipeline
    metrics: WorkerMetrics
    requeue: list[str] = field(default_factory=list)
    redis_down_until: float = 0.0

    @classmethod
    def open(cls, settings: WorkerSettings, *, pipeline: LoadedPipeline | None = None) -> Runtime:
        from posegen.inference.loading import load_pipeline

        loaded = pipeline if pipeline is not None else load_pipeline(settings)
        metrics = WorkerMetrics(with_cuda=loaded.device == "cuda")
        metrics.model_load_seconds.set(loaded.load_seconds)
        return cls(**cls.connect(settings, pool_size=4, name="worker"), pipeline=loaded, metrics=metrics)

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


slot: Slot[Runtime] = Slot(lambda: Runtime.open(load_settings(WorkerSettings)))
install, current = slot.install, slot.current
