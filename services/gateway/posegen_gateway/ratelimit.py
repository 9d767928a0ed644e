"""A per-user sliding-window rate limit in Redis (one atomic script per request)."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

import redis

from posegen.contracts import QUEUE_NAME
from posegen.errors import RateLimited, ServiceUnavailable
from posegen.settings import GatewaySettings, RateLimit

_SCRIPT = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {1, limit - used - 1, tonumber(oldest[2]) + window - now}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(time.time() + self.reset_after_seconds)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after_seconds))
        return headers


class SlidingWindowLimiter:
    def __init__(self, connection: redis.Redis, rate: RateLimit) -> None:
        self.rate = rate
        self._script = connection.register_script(_SCRIPT)

    def enforce(self, key: str, *, what: str, unavailable: str) -> RateDecision:
        """Count one request under ``key`` if the window has room: 503 saying ``unavailable`` when Redis cannot
        count, 429 when the window is full (``what`` names what is counted)."""
        now_ms = int(time.time() * 1000)
        try:
            allowed, remaining, reset_ms = self._script(
                keys=[key], args=[now_ms, self.rate.window_seconds * 1000, self.rate.count, uuid.uuid4().hex]
            )
        except redis.RedisError:
            raise ServiceUnavailable(unavailable) from None
        decision = RateDecision(
            allowed=bool(allowed),
            limit=self.rate.count,
            remaining=int(remaining),
            reset_after_seconds=max(0, math.ceil(int(reset_ms) / 1000)),
        )
        if not decision.allowed:
            message = f"at most {decision.limit} {what} per {self.rate.window_seconds}s"
            raise RateLimited(message, headers=decision.headers())
        return decision


USER_LIMITS = {
    "projects": "projects",
    "uploads": "avatar uploads",
    "pose-requests": "pose requests",
    "exports": "exports",
    "avatar-fetches": "avatar URL fetches",
}
"""The per-user limits of the routes that create or store something, and what each counts (its 429 says)."""


class UserLimits:
    """One sliding window per user for each of :data:`USER_LIMITS` (settings ``PROJECT_RATE_LIMIT``,
    ``UPLOAD_RATE_LIMIT``, ``POSE_REQUEST_RATE_LIMIT``, ``EXPORT_RATE_LIMIT``, ``AVATAR_FETCH_RATE_LIMIT``)."""

    def __init__(self, connection: redis.Redis, settings: GatewaySettings) -> None:
        rates = {
            "projects": settings.project_rate_limit,
            "uploads": settings.upload_rate_limit,
            "pose-requests": settings.pose_request_rate_limit,
            "exports": settings.export_rate_limit,
            "avatar-fetches": settings.avatar_fetch_rate_limit,
        }
        self._limiters = {name: SlidingWindowLimiter(connection, rate) for name, rate in rates.items()}

    def enforce(self, name: str, user_id: str) -> RateDecision:
        return self._limiters[name].enforce(
            f"{QUEUE_NAME}:ratelimit:{name}:{user_id}",
            what=USER_LIMITS[name],
            unavailable="the rate limit cannot be checked; try again shortly",
        )
