"""What the worker keeps between jobs: settings, connections, the warm pipeline and the shutdown flag.

It is built once when ``posegen worker`` starts and installed as the process's runtime; the job function
(called by RQ with only a generation id) reads it from here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import redis
from psycopg_pool import ConnectionPool

from posegen.events import EventPublisher
from posegen.storage import Storage, UrlSigner, signing_key
from posegen_worker.metrics import WorkerMetrics


@dataclass
class Runtime:
    settings: object
    pool: ConnectionPool
    redis: redis.Redis
    storage: Storage
    signer: UrlSigner
    events: EventPublisher
    pipeline: object
    metrics: WorkerMetrics
    stop_event: threading.Event = field(default_factory=threading.Event)
    requeue: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, settings, *, pipeline=None) -> Runtime:
        from posegen.db.pool import create_pool
        from posegen.inference.loading import load_pipeline

        loaded = pipeline if pipeline is not None else load_pipeline(settings)
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
        metrics = WorkerMetrics(with_cuda=loaded.device == "cuda")
        metrics.model_load_seconds.set(loaded.load_seconds)
        return cls(
            settings=settings,
            pool=create_pool(settings.database_url, max_size=4, name="worker"),
            redis=client,
            storage=Storage(settings.storage_dir),
            signer=UrlSigner(signing_key(settings.jwt_secret.get_secret_value()), settings.public_base_url),
            events=EventPublisher(client),
            pipeline=loaded,
            metrics=metrics,
        )

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
            from posegen.settings import WorkerSettings, load_settings

            _installed = Runtime.open(load_settings(WorkerSettings))
        return _installed
