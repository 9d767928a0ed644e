"""The relay's Prometheus metrics, one registry per relay. ``protocol`` is ``plain`` (the plain WebSocket
protocol) or ``socketio``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PROTOCOLS = ("plain", "socketio")


class RelayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.connections = Gauge(
            "posegen_relay_connections",
            "Open authenticated connections, by protocol",
            ["protocol"],
            registry=self.registry,
        )
        self.users = Gauge("posegen_relay_users", "Users with at least one connection here", registry=self.registry)
        self.relayed = Counter(
            "posegen_relay_events_relayed_total",
            "Events sent to clients, by type and protocol",
            ["type", "protocol"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "posegen_relay_events_dropped_total",
            "Events dropped for slow clients, by type",
            ["type"],
            registry=self.registry,
        )
        self.lag = Histogram(
            "posegen_relay_delivery_lag_seconds",
            "From the event's timestamp to its send",
            ["protocol"],
            registry=self.registry,
            buckets=LAG_BUCKETS,
        )
        self.redis_up = Gauge(
            "posegen_relay_redis_up", "1 while the pub/sub connection to Redis is up", registry=self.registry
        )
        self.refused = Counter(
            "posegen_relay_connections_refused_total",
            "Connections refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        for protocol in PROTOCOLS:
            self.connections.labels(protocol)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
