"""The worker's Prometheus metrics and its small HTTP server (``/metrics``, ``/health``, ``/ready``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from posegen.metrics_http import Answer, EndpointServer

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
IMAGE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class CudaMemoryCollector(Collector):
    NAMES = ("posegen_worker_gpu_memory_allocated_bytes", "posegen_worker_gpu_memory_reserved_bytes")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import torch

        if not torch.cuda.is_available():
            return
        readings = (
            (torch.cuda.memory_allocated, "CUDA memory held by tensors"),
            (torch.cuda.memory_reserved, "CUDA memory reserved by torch"),
        )
        for name, (read, documentation) in zip(self.NAMES, readings, strict=True):
            family = GaugeMetricFamily(name, documentation, labels=["device"])
            for index in range(torch.cuda.device_count()):
                family.add_metric([str(index)], read(index))
            yield family


class Metrics:
    """A service's metrics in a registry of their own (tests build several in one process); ``counter``,
    ``gauge`` and ``histogram`` make a metric in it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.counter, self.gauge, self.histogram = (
            functools.partial(kind, registry=self.registry) for kind in (Counter, Gauge, Histogram)
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class WorkerMetrics(Metrics):
    def __init__(self, *, with_cuda: bool = False) -> None:
        super().__init__()
        self.images = self.counter("posegen_worker_images_total", "Images finished, by status", ["status"])
        self.image_seconds = self.histogram(
            "posegen_worker_pose_duration_seconds", "Seconds of denoising per image", buckets=IMAGE_BUCKETS
        )
        self.step_seconds = self.histogram(
            "posegen_worker_step_duration_seconds", "Seconds per denoising step of a batch", buckets=STEP_BUCKETS
        )
        self.pipeline_seconds = self.counter(
            "posegen_worker_pipeline_seconds_total", "Seconds spent inside pipeline calls"
        )
        self.busy_seconds = self.counter("posegen_worker_busy_seconds_total", "Seconds spent running jobs")
        self.generations = self.counter(
            "posegen_worker_generations_total", "Generations ended, by outcome", ["outcome"]
        )
        self.model_load_seconds = self.gauge("posegen_worker_model_load_seconds", "Seconds the pipeline took to load")
        self.busy = self.gauge("posegen_worker_busy", "1 while a generation runs")
        self.recoveries = self.counter(
            "posegen_worker_recoveries_total", "Generations re-queued by this worker's reaper"
        )
        self.warmup_seconds = self.gauge(
            "posegen_worker_warmup_seconds", "Seconds the start-up warm-up and compilation took"
        )
        self.identity_embeddings = self.counter(
            "posegen_worker_identity_embeddings_total",
            "Avatar embeddings computed (one per generation with identity conditioning)",
        )
        if with_cuda:
            self.registry.register(CudaMemoryCollector())


class MetricsServer(EndpointServer):
    """``/metrics`` for Prometheus, ``/health`` (the process answers) and ``/ready`` (pipeline loaded and
    Redis answering), on ``WORKER_METRICS_PORT``."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: Metrics,
        ready: Callable[[], bool],
        details: Callable[[], dict] | None = None,
    ) -> None:
        self.metrics, self.ready, self.details = metrics, ready, details or dict
        super().__init__(
            host,
            port,
            {
                "/metrics": lambda: (200, self.metrics.exposition(), CONTENT_TYPE_LATEST),
                "/health": lambda: (200, b'{"status":"ok"}', "application/json"),
                "/ready": self._readiness,
            },
        )

    def _readiness(self) -> Answer:
        ok = self.ready()
        body = json.dumps({"status": "ready" if ok else "not_ready", **self.details()}).encode()
        return 200 if ok else 503, body, "application/json"
