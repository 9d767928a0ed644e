"""What a request handler needs, opened once in the app's lifespan."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import redis
from psycopg_pool import ConnectionPool

from posegen.contracts import Event
from posegen.events import EventPublisher
from posegen.images import MAX_UPLOAD_BYTES
from posegen.membudget import MemoryBudget
from posegen.settings import GatewaySettings
from posegen.singleflight import SingleFlight
from posegen.storage import Storage, UrlSigner, open_storage, signing_key
from posegen_gateway.metrics import GatewayMetrics
from posegen_gateway.ratelimit import SlidingWindowLimiter, UserLimits
from posegen_gateway.safe_fetch import SafeFetcher

log = logging.getLogger("posegen.gateway")


class TtlCache:
    """A small in-process cache, each entry kept for ``ttl`` seconds; beyond ``max_entries`` the oldest go."""

    def __init__(self, ttl: float, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[object, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> object | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: object, value: object) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, predicate) -> None:
        """Drop the entries whose key matches ``predicate``."""
        with self._lock:
            for key in [key for key in self._entries if predicate(key)]:
                del self._entries[key]


LIBRARY_CACHE_SECONDS = 10.0
"""A listing (cached per user, since a user's private poses are in it) may be this old in a gateway process
other than the one that changed it (its usage counts too)."""


@dataclass
class GatewayContext:
    settings: GatewaySettings
    pool: ConnectionPool
    redis: redis.Redis
    storage: Storage
    signer: UrlSigner
    limiter: SlidingWindowLimiter
    extract_limiter: SlidingWindowLimiter
    avatar_fetcher: SafeFetcher
    events: EventPublisher
    metrics: GatewayMetrics
    user_limits: UserLimits
    memory: MemoryBudget
    """What image decodes and export renditions hold at once (``GATEWAY_IMAGE_MEMORY_BYTES``)."""
    renditions: SingleFlight = field(default_factory=SingleFlight)
    """Export renditions being made, so that concurrent requests for the same one make it once."""
    known_users: TtlCache = field(default_factory=lambda: TtlCache(ttl=math.inf, max_entries=100_000))
    """Ids of users that exist in the database, so a request does not re-check on every call."""
    library_cache: TtlCache = field(default_factory=lambda: TtlCache(ttl=LIBRARY_CACHE_SECONDS))
    estimates: TtlCache = field(default_factory=lambda: TtlCache(ttl=30.0, max_entries=8))

    @classmethod
    def open(cls, settings: GatewaySettings) -> GatewayContext:
        from posegen.db.pool import create_pool

        pool = create_pool(
            settings.database_url, max_size=settings.database_pool_size, name="gateway", wait=False, timeout=5.0
        )
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        return cls(
            settings=settings,
            pool=pool,
            redis=client,
            storage=open_storage(settings),
            signer=UrlSigner(signing_key(settings.jwt_secret.get_secret_value()), settings.public_base_url),
            limiter=SlidingWindowLimiter(client, settings.generate_rate_limit),
            extract_limiter=SlidingWindowLimiter(client, settings.extract_rate_limit),
            avatar_fetcher=SafeFetcher(
                max_bytes=MAX_UPLOAD_BYTES,
                deadline_seconds=settings.avatar_fetch_timeout_seconds,
                allowed_hosts=settings.avatar_hosts,
            ),
            events=EventPublisher(client),
            metrics=GatewayMetrics(client),
            user_limits=UserLimits(client, settings),
            memory=MemoryBudget(
                settings.gateway_image_memory_bytes, wait_seconds=settings.gateway_image_memory_wait_seconds
            ),
        )

    def publish(self, event: Event) -> bool:
        """Publish an event; False when Redis could not be reached (the database keeps the truth, and a final
        event is delivered later by the reconciler)."""
        try:
            self.events.publish(event)
        except redis.RedisError as error:
            log.warning("could not publish %s of %s: %s", event.type, event.stream_id, error)
            return False
        return True

    def close(self) -> None:
        self.redis.close()
        self.pool.close()
