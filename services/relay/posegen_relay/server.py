"""The relay's connections: authenticate, enforce the limits, join the hub, answer client messages.

HTTP ``/health``, ``/ready`` and ``/metrics`` are answered on the same port before any WebSocket handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from prometheus_client import CONTENT_TYPE_LATEST
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from posegen.auth import AuthError, Principal, bearer_token, decode_token
from posegen.settings import RelaySettings
from posegen_relay import protocol
from posegen_relay.hub import Hub
from posegen_relay.metrics import RelayMetrics
from posegen_relay.session import Session

log = logging.getLogger("posegen.relay")
CLOSE_TRY_AGAIN = 1013
CLOSE_POLICY_VIOLATION = 1008


class TokenBucket:
    """``rate`` messages a second on average, bursts of twice that."""

    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, 2 * rate
        self.tokens, self.updated = self.capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


CLOSE_TOO_MANY = 4429


class Relay:
    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self.metrics = RelayMetrics()
        self.hub = Hub(settings.redis_url, self.metrics)
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.open_connections = 0

    def authenticate(self, token: str) -> Principal:
        return decode_token(
            token, secret=self.settings.jwt_secret.get_secret_value(), algorithm=self.settings.jwt_algorithm
        )

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == "/health":
            return _response(HTTPStatus.OK, b'{"status":"ok"}', "application/json")
        if path == "/ready":
            ready = self.hub.up
            body = b'{"status":"ready"}' if ready else b'{"status":"not_ready","redis":"disconnected"}'
            return _response(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, body, "application/json")
        if path == "/metrics":
            return _response(HTTPStatus.OK, self.metrics.exposition(), CONTENT_TYPE_LATEST)
        if path != protocol.WS_PATH:
            return _response(HTTPStatus.NOT_FOUND, b'{"status":"not_found"}', "application/json")
        return None

    async def handle(self, connection: ServerConnection) -> None:
        if self.open_connections >= self.settings.relay_max_connections:
            self.metrics.refused.labels("relay_full").inc()
            await _refuse(connection, "the relay is at its connection limit; retry shortly", "busy", CLOSE_TRY_AGAIN)
            return
        self.open_connections += 1
        try:
            await self._serve(connection)
        finally:
            self.open_connections -= 1

    async def _serve(self, connection: ServerConnection) -> None:
        principal = await self._authenticated(connection)
        if principal is None:
            return
        if self.hub.count(principal.user_id) >= self.settings.relay_max_connections_per_user:
            self.metrics.refused.labels("user_limit").inc()
            await _refuse(connection, "too many connections for this user", "too_many_connections", CLOSE_TOO_MANY)
            return
        session = Session(connection, principal, queue_size=self.settings.relay_queue_size, metrics=self.metrics)
        await self.hub.join(session)
        self.metrics.connections.inc()
        sender = asyncio.create_task(session.send_forever())
        session.say(protocol.connected(principal.user_id))
        bucket = TokenBucket(self.settings.relay_max_messages_per_second)
        flooded = False
        try:
            async for raw in connection:
                if not bucket.take():
                    flooded = True
                    break
                await self._on_message(session, raw)
        except ConnectionClosed:
            pass
        finally:
            self.hub.remove(session)
            self.metrics.connections.dec()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if flooded:
            self.metrics.refused.labels("message_flood").inc()
            await _refuse(connection, "too many messages; slow down", "rate_limited", CLOSE_POLICY_VIOLATION)

    async def _authenticated(self, connection: ServerConnection) -> Principal | None:
        query = parse_qs(urlsplit(connection.request.path).query)
        if {"token", "access_token", "jwt"} & query.keys():
            return await _refuse(connection, "tokens in the query string are refused; use a header or auth message")
        header = connection.request.headers.get("Authorization")
        try:
            if header:
                return self.authenticate(bearer_token(header))
            raw = await asyncio.wait_for(connection.recv(), protocol.AUTH_TIMEOUT_SECONDS)
            message = protocol.parse_client_message(raw)
            if message.type != "auth" or not message.token:
                return await _refuse(connection, "the first message must be {'type': 'auth', 'token': ...}")
            return self.authenticate(message.token)
        except AuthError as error:
            return await _refuse(connection, error.reason)
        except protocol.BadMessage as error:
            return await _refuse(connection, str(error))
        except TimeoutError:
            return await _refuse(connection, "no auth message within 10 seconds")
        except ConnectionClosed:
            return None

    async def _on_message(self, session: Session, raw: str | bytes) -> None:
        try:
            message = protocol.parse_client_message(raw)
        except protocol.BadMessage as error:
            session.say(protocol.error(str(error), "bad_message"))
            return
        if message.type == "ping":
            session.say(protocol.pong())
        elif message.type == "subscribe":
            await self._subscribe(session, message)
        elif message.type == "auth":
            session.say(protocol.error("already authenticated", "already_authenticated"))
        else:
            session.say(protocol.error(f"unknown message type '{message.type}'", "unknown_type"))

    async def _subscribe(self, session: Session, message: protocol.ClientMessage) -> None:
        if not message.generation_id:
            session.say(protocol.error("subscribe needs a generationId", "bad_message"))
            return
        if message.last_event_id and not protocol.valid_event_id(message.last_event_id):
            session.say(protocol.error("lastEventId is not an event id", "bad_message"))
            return
        try:
            found = await session.replay(self.redis, message.generation_id, message.last_event_id)
        except (OSError, aioredis.RedisError):
            found = None
        if found is None:
            session.say(protocol.error("events cannot be replayed right now; retry", "unavailable"))
        elif not found:
            session.say(protocol.error("no events for this generation", "not_found"))
        else:
            session.say(protocol.subscribed(message.generation_id))


async def _refuse(connection: ServerConnection, reason: str, code: str = "unauthorized",
                  close_code: int = protocol.CLOSE_POLICY) -> None:  # fmt: skip
    with contextlib.suppress(ConnectionClosed):
        await connection.send(protocol.error(reason, code))
        await connection.close(close_code, code)
    return None


def _response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


async def run(
    settings: RelaySettings, *, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None
) -> None:
    """Serve until ``stop`` is set (or forever); then stop accepting and close every client with 1001."""
    relay = Relay(settings)
    hub = asyncio.create_task(relay.hub.run())
    try:
        async with serve(
            relay.handle, settings.relay_host, settings.relay_port, process_request=relay.process_request,
            origins=_origins(settings), max_size=settings.relay_max_message_bytes, compression=None,
            ping_interval=settings.relay_ping_interval, ping_timeout=settings.relay_ping_timeout, close_timeout=3,
        ) as server:  # fmt: skip
            log.info("relay listening on %s:%s%s", settings.relay_host, settings.relay_port, protocol.WS_PATH)
            if ready is not None:
                ready.set()
            await (stop.wait() if stop is not None else asyncio.Future())
            server.close(close_connections=True)
            await server.wait_closed()
    finally:
        hub.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub
        await relay.redis.aclose()


def _origins(settings: RelaySettings) -> list[str | None] | None:
    allowed = settings.allowed_origins
    return None if allowed is None else [*allowed, None]
