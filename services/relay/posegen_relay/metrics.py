"""The relay's Prometheus metrics, one registry per relay. ``protocol`` is ``plain`` (the plain WebSocket
protocol) or ``socketio``."""

from __future__ import annotations

from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PROTOCOLS = ("plain", "socketio")
M = TypeVar("M", bound=MetricWrapperBase)


class RelayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.connections = self._add(
            Gauge, "posegen_relay_connections", "Open authenticated connections, by protocol", "protocol"
        )
        self.unauthenticated = self._add(
            Gauge, "posegen_relay_unauthenticated_connections", "Open connections that have not authenticated yet"
        )
        self.users = self._add(Gauge, "posegen_relay_users", "Users with at least one connection here")
        self.relayed = self._add(
            Counter,
            "posegen_relay_events_relayed_total",
            "Events sent to clients, by type and protocol",
            "type",
            "protocol",
        )
        self.dropped = self._add(
            Counter, "posegen_relay_events_dropped_total", "Events dropped for slow clients, by type", "type"
        )
        self.lag = self._add(
            Histogram,
            "posegen_relay_delivery_lag_seconds",
            "From the event's timestamp to its send",
            "protocol",
            buckets=LAG_BUCKETS,
        )
        self.buffered = self._add(
            Gauge,
            "posegen_relay_buffered_events",
            "Events waiting for clients here: queued, or held behind a replay",
        )
        self.resyncs = self._add(
            Counter, "posegen_relay_resyncs_total", "Clients told to resubscribe after falling too far behind"
        )
        self.redis_up = self._add(Gauge, "posegen_relay_redis_up", "1 while the pub/sub connection to Redis is up")
        self.refused = self._add(
            Counter, "posegen_relay_connections_refused_total", "Connections refused, by reason", "reason"
        )
        for protocol in PROTOCOLS:
            self.connections.labels(protocol)

    def _add(self, kind: type[M], name: str, documentation: str, *labels: str, **options: object) -> M:
        return kind(name, documentation, labels, registry=self.registry, **options)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
