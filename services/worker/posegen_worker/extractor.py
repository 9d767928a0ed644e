"""Entry point: ``posegen extractor``. Pose extraction from photos on the CPU: it loads mediapipe's pose
models once (no diffusion pipeline, no torch) and works the ``pose-extraction`` queue with an RQ
``SimpleWorker``, so an extraction never waits behind a generation and a slow photo never holds a GPU."""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from dataclasses import dataclass

import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from psycopg_pool import ConnectionPool
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from posegen.events import EventPublisher
from posegen.logs import configure_logging
from posegen.queue import extraction_queue
from posegen.settings import ExtractorSettings, load_settings
from posegen.storage import Storage, UrlSigner, check_at_startup, open_storage, signing_key, storage_status
from posegen_worker.metrics import MetricsServer

log = logging.getLogger("posegen.extractor")
SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class ExtractorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.extractions = Counter(
            "posegen_extractor_extractions_total", "Extractions ended, by outcome", ["outcome"], registry=self.registry
        )
        self.seconds = Histogram(
            "posegen_extractor_extraction_duration_seconds",
            "Seconds from claiming a photo to its stored result",
            registry=self.registry,
            buckets=SECONDS_BUCKETS,
        )
        self.busy = Gauge("posegen_extractor_busy", "1 while a photo is being processed", registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class ExtractorRuntime:
    settings: ExtractorSettings
    pool: ConnectionPool
    redis: redis.Redis
    storage: Storage
    signer: UrlSigner
    events: EventPublisher
    detector: object
    metrics: ExtractorMetrics

    @classmethod
    def open(cls, settings: ExtractorSettings, *, detector=None) -> ExtractorRuntime:
        from posegen.db.pool import create_pool
        from posegen.extraction.detector import PoseDetector

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=1)
        return cls(
            settings=settings,
            pool=create_pool(settings.database_url, max_size=2, name="extractor"),
            redis=client,
            storage=open_storage(settings),
            signer=UrlSigner(signing_key(settings.jwt_secret.get_secret_value()), settings.public_base_url),
            events=EventPublisher(client),
            detector=detector if detector is not None else PoseDetector(),
            metrics=ExtractorMetrics(),
        )

    def close(self) -> None:
        self.redis.close()
        self.pool.close()


_installed: ExtractorRuntime | None = None
_lock = threading.Lock()


def install(runtime: ExtractorRuntime | None) -> None:
    global _installed
    _installed = runtime


def current() -> ExtractorRuntime:
    """The installed runtime, or one built from the environment (a job run by a plain RQ worker)."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = ExtractorRuntime.open(load_settings(ExtractorSettings))
        return _installed


def main() -> int:
    settings = load_settings(ExtractorSettings)
    configure_logging(settings.log_format, settings.log_level)
    if importlib.util.find_spec("mediapipe") is None:
        print(
            "error: mediapipe is not installed: pip install --no-deps -r requirements/mediapipe.txt "
            "(`make install` does; see docs/decisions.md)",
            file=sys.stderr,
        )
        return 2
    check_at_startup(open_storage(settings), log)
    runtime = ExtractorRuntime.open(settings)
    install(runtime)
    server = MetricsServer(
        settings.extractor_metrics_host,
        settings.extractor_metrics_port,
        runtime.metrics,
        ready=lambda: _redis_answers(runtime),
        details=lambda: {"storage": storage_status(runtime.storage)},
    )
    server.start()
    worker = SimpleWorker(
        [extraction_queue(runtime.redis)],
        connection=runtime.redis,
        name=settings.extractor_name,
        serializer=JSONSerializer,
    )
    log.info("extractor %s ready on queue pose-extraction (metrics on :%s)", settings.extractor_name, server.port)
    try:
        worker.work(logging_level=settings.log_level, with_scheduler=False)
    finally:
        server.stop()
        runtime.close()
    return 0


def _redis_answers(runtime: ExtractorRuntime) -> bool:
    try:
        return bool(runtime.redis.ping())
    except Exception:
        return False
