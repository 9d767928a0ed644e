"""The relay's connection handling: authenticate, greet, forward the user's channel, answer pings.

HTTP ``/health`` and ``/ready`` are answered on the same port before the WebSocket handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from posegen.auth import AuthError, Principal, bearer_token, decode_token
from posegen.contracts import user_channel
from posegen.settings import RelaySettings
from posegen_relay import protocol

log = logging.getLogger("posegen.relay")


class Relay:
    def __init__(self, settings: RelaySettings, redis_client: aioredis.Redis) -> None:
        self.settings = settings
        self.redis = redis_client

    def authenticate(self, token: str) -> Principal:
        return decode_token(
            token, secret=self.settings.jwt_secret.get_secret_value(), algorithm=self.settings.jwt_algorithm
        )

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == "/health":
            return _text(HTTPStatus.OK, "ok\n")
        if path == "/ready":
            try:
                await self.redis.ping()
            except Exception:
                return _text(HTTPStatus.SERVICE_UNAVAILABLE, "redis unreachable\n")
            return _text(HTTPStatus.OK, "ready\n")
        if path != protocol.WS_PATH:
            return _text(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def handle(self, connection: ServerConnection) -> None:
        principal = await self._authenticated(connection)
        if principal is None:
            return
        await connection.send(protocol.connected(principal.user_id))
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(user_channel(principal.user_id))
        forward = asyncio.create_task(self._forward(connection, pubsub))
        try:
            async for raw in connection:
                await self._on_message(connection, raw)
        except ConnectionClosed:
            pass
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            await pubsub.aclose()

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

    async def _on_message(self, connection: ServerConnection, raw: str | bytes) -> None:
        try:
            message = protocol.parse_client_message(raw)
        except protocol.BadMessage as error:
            await connection.send(protocol.error(str(error), "bad_message"))
            return
        if message.type == "ping":
            await connection.send(protocol.pong())
        elif message.type == "auth":
            await connection.send(protocol.error("already authenticated", "already_authenticated"))
        else:
            await connection.send(protocol.error(f"unknown message type '{message.type}'", "unknown_type"))

    async def _forward(self, connection: ServerConnection, pubsub: aioredis.client.PubSub) -> None:
        async for message in pubsub.listen():
            data = message.get("data")
            if isinstance(data, bytes):
                await connection.send(protocol.update(data.decode()))


async def _refuse(connection: ServerConnection, reason: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await connection.send(protocol.error(reason, "unauthorized"))
        await connection.close(protocol.CLOSE_POLICY, "unauthorized")
    return None


def _text(status: HTTPStatus, body: str) -> Response:
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body.encode())


async def run(
    settings: RelaySettings, *, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None
) -> None:
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    relay = Relay(settings, redis_client)
    try:
        async with serve(
            relay.handle, settings.relay_host, settings.relay_port, process_request=relay.process_request
        ) as server:
            log.info("relay listening on %s:%s%s", settings.relay_host, settings.relay_port, protocol.WS_PATH)
            if ready is not None:
                ready.set()
            await (stop.wait() if stop is not None else server.serve_forever())
    finally:
        await redis_client.aclose()
