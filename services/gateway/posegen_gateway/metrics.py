"""Prometheus metrics of the gateway: requests by route template, latency, generations and credits, and
the queue depth and worker count, read from Redis when Prometheus scrapes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posegen.metrics_http import EndpointServer
from posegen.queue import queue_counts, worker_count

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class QueueCollector(Collector):
    """Reads RQ's registries at scrape time, so the numbers are as fresh as the scrape."""

    def __init__(self, connection: redis.Redis) -> None:
        self._connection = connection

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = queue_counts(self._connection)
            workers = worker_count(self._connection)
        except redis.RedisError:
            counts = None
        up = counts is not None
        yield GaugeMetricFamily("posegen_queue_up", "1 when the queue's Redis answered the scrape", value=up)
        if not up:
            return
        jobs = GaugeMetricFamily("posegen_queue_jobs", "Jobs of the pose-generation queue by state", labels=["state"])
        for state, value in dataclasses.asdict(counts).items():
            jobs.add_metric([state], value)
        yield jobs
        yield GaugeMetricFamily("posegen_queue_workers", "Live RQ workers on the pose-generation queue", value=workers)


class GatewayMetrics:
    """One registry per app, so two apps in one process (tests) never share or clash."""

    def __init__(self, connection: redis.Redis) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "posegen_gateway_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "posegen_gateway_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.generations = Counter(
            "posegen_generations_created_total",
            "Generations accepted by POST /generate",
            registry=self.registry,
        )
        self.credits = Counter(
            "posegen_credits_charged_total", "Credits charged by POST /generate", registry=self.registry
        )
        self.renditions = Counter(
            "posegen_gateway_export_renditions_total",
            "Export files served, by format and source (rendered now, or stored by an earlier request)",
            ["format", "source"],
            registry=self.registry,
        )
        self.registry.register(QueueCollector(connection))

    def record_generation(self, credits: int) -> None:
        self.generations.inc()
        self.credits.inc(credits)


class MetricsMiddleware:
    """Pure ASGI (no per-request task as with ``BaseHTTPMiddleware``): counts and times each request under
    its route template, such as ``/api/apps/pose-generator/generations/{generation_id}``, in the metrics of the
    app's context (none before the lifespan opened it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            context = getattr(scope["app"].state, "context", None)
            if context is not None:
                route = getattr(scope.get("route"), "path", "unmatched")
                context.metrics.requests.labels(scope["method"], route, str(status)).inc()
                context.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


def metrics_server(host: str, port: int, registry: CollectorRegistry) -> EndpointServer:
    """``/metrics`` on a port of its own (``GATEWAY_METRICS_PORT``), which no edge routes: the exposition tells
    credits charged and queue depth, so the public port does not serve it. Every uvicorn worker process
    (``GATEWAY_WORKERS``) binds the port; a scrape reaches one of them, as a request to the public port does."""
    exposition = {"/metrics": lambda: (200, generate_latest(registry), CONTENT_TYPE_LATEST)}
    return EndpointServer(host, port, exposition, reuse_port=True)
