"""The worker's Prometheus metrics and its small HTTP server (``/metrics``, ``/health``, ``/ready``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
IMAGE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class CudaMemoryCollector(Collector):
    NAMES = ("posegen_worker_gpu_memory_allocated_bytes", "posegen_worker_gpu_memory_reserved_bytes")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import torch

        if not torch.cuda.is_available():
            return
        allocated = GaugeMetricFamily(
            "posegen_worker_gpu_memory_allocated_bytes", "CUDA memory held by tensors", labels=["device"]
        )
        reserved = GaugeMetricFamily(
            "posegen_worker_gpu_memory_reserved_bytes", "CUDA memory reserved by torch", labels=["device"]
        )
        for index in range(torch.cuda.device_count()):
            allocated.add_metric([str(index)], torch.cuda.memory_allocated(index))
            reserved.add_metric([str(index)], torch.cuda.memory_reserved(index))
        yield allocated
        yield reserved


class WorkerMetrics:
    def __init__(self, *, with_cuda: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.images = Counter(
            "posegen_worker_images_total", "Images finished, by status", ["status"], registry=self.registry
        )
        self.image_seconds = Histogram(
            "posegen_worker_pose_duration_seconds",
            "Seconds of denoising per image",
            registry=self.registry,
            buckets=IMAGE_BUCKETS,
        )
        self.step_seconds = Histogram(
            "posegen_worker_step_duration_seconds",
            "Seconds per denoising step of a batch",
            registry=self.registry,
            buckets=STEP_BUCKETS,
        )
        self.pipeline_seconds = Counter(
            "posegen_worker_pipeline_seconds_total", "Seconds spent inside pipeline calls", registry=self.registry
        )
        self.busy_seconds = Counter(
            "posegen_worker_busy_seconds_total", "Seconds spent running jobs", registry=self.registry
        )
        self.generations = Counter(
            "posegen_worker_generations_total", "Generations ended, by outcome", ["outcome"], registry=self.registry
        )
        self.model_load_seconds = Gauge(
            "posegen_worker_model_load_seconds", "Seconds the pipeline took to load", registry=self.registry
        )
        self.busy = Gauge("posegen_worker_busy", "1 while a generation runs", registry=self.registry)
        self.recoveries = Counter(
            "posegen_worker_recoveries_total", "Generations re-queued by this worker's reaper", registry=self.registry
        )
        self.warmup_seconds = Gauge(
            "posegen_worker_warmup_seconds", "Seconds the start-up warm-up and compilation took", registry=self.registry
        )
        self.identity_embeddings = Counter(
            "posegen_worker_identity_embeddings_total",
            "Avatar embeddings computed (one per generation with identity conditioning)",
            registry=self.registry,
        )
        if with_cuda:
            self.registry.register(CudaMemoryCollector())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` for Prometheus, ``/health`` (the process answers) and ``/ready`` (pipeline loaded and
    Redis answering), on ``WORKER_METRICS_PORT``."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: WorkerMetrics,
        ready: Callable[[], bool],
        details: Callable[[], dict] | None = None,
    ) -> None:
        handler = _handler(metrics, ready, details or dict)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(
    metrics: WorkerMetrics, ready: Callable[[], bool], details: Callable[[], dict]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path == "/health":
                self._reply(200, b'{"status":"ok"}', "application/json")
            elif path == "/ready":
                ok = ready()
                body = json.dumps({"status": "ready" if ok else "not_ready", **details()}).encode()
                self._reply(200 if ok else 503, body, "application/json")
            else:
                self._reply(404, b'{"status":"not_found"}', "application/json")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
