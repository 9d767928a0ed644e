"""The relay as one ASGI application on uvicorn: Socket.IO and the plain WebSocket protocol at the same path
(``/pose-generator-ws``; Engine.IO requests carry ``EIO=`` in their query), and HTTP ``/health``, ``/ready``
and ``/metrics`` on the same port.

``run`` serves it alone (``posegen relay``); ``with_relay`` puts it in front of another ASGI application on
that application's port (the gateway under ``posegen run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST

from posegen.settings import RelaySettings
from posegen_relay import protocol
from posegen_relay.core import Relay
from posegen_relay.plain import PlainProtocol
from posegen_relay.sio import SocketIOProtocol

log = logging.getLogger("posegen.relay")
GRACEFUL_SHUTDOWN_SECONDS = 5


class RelayService:
    """The relay's ASGI application and the task it runs beside it (the hub)."""

    def __init__(self, settings: RelaySettings) -> None:
        self.relay = Relay(settings)
        self.plain = PlainProtocol(self.relay)
        self.socketio = SocketIOProtocol(self.relay)
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self.relay.hub.run())]

    async def stop(self) -> None:
        await self.relay.drain()
        await self.socketio.aclose()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.relay.redis.aclose()

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]  # http or websocket: lifespan is off under run, and with_relay keeps its own
        path = scope["path"]
        if path.rstrip("/") == protocol.WS_PATH and b"EIO=" in scope.get("query_string", b""):
            query = parse_qs(scope["query_string"].decode("latin-1"))
            if "sid" not in query and (self.relay.draining or self.relay.full()):
                await _respond(scope, send, 503, {"status": "busy"})
                return
            await self.socketio.server.handle_request(scope, receive, send)
        elif kind == "websocket":
            await self.plain(scope, receive, send)
        else:
            await self._http(scope, send, path)

    async def _http(self, scope, send, path: str) -> None:
        relay = self.relay
        if path == "/health":
            await _respond(scope, send, 200, {"status": "ok"})
        elif path == "/ready":
            if relay.draining:
                await _respond(scope, send, 503, {"status": "not_ready", "draining": True})
            elif not relay.hub.up:
                await _respond(scope, send, 503, {"status": "not_ready", "redis": "disconnected"})
            else:
                await _respond(scope, send, 200, {"status": "ready"})
        elif path == "/metrics":
            await _respond(scope, send, 200, relay.metrics.exposition(), CONTENT_TYPE_LATEST)
        elif path == protocol.WS_PATH:
            await _respond(scope, send, 426, {"status": "upgrade_required"})
        else:
            await _respond(scope, send, 404, {"status": "not_found"})


async def _respond(scope, send, status: int, body: dict | bytes, content_type: str = "application/json") -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode())]
    prefix = "websocket.http.response" if scope["type"] == "websocket" else "http.response"
    await send({"type": f"{prefix}.start", "status": status, "headers": headers})
    await send({"type": f"{prefix}.body", "body": payload})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals belong to the caller (``posegen_relay.main``): a SIGTERM drains before uvicorn stops."""
        yield


async def run(settings: RelaySettings, *, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set; then refuse new connections, close every client (plain protocol: 1001)
    and stop."""
    service = RelayService(settings)
    config = uvicorn.Config(
        service,
        host=settings.relay_host,
        port=settings.relay_port,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        ws_max_size=settings.relay_max_message_bytes,
        ws_ping_interval=settings.relay_ping_interval,
        ws_ping_timeout=settings.relay_ping_timeout,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        backlog=4096,
    )
    server = _Server(config)
    await service.start()
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if serving.done():
            serving.result()
            raise RuntimeError(f"the relay could not listen on {settings.relay_host}:{settings.relay_port}")
        log.info("relay listening on %s:%s%s", settings.relay_host, settings.relay_port, protocol.WS_PATH)
        if ready is not None:
            ready.set()
        waiting = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiting, serving], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        await service.relay.drain()
        server.should_exit = True
        await serving
    finally:
        server.should_exit = True
        await service.stop()


def with_relay(app, settings: RelaySettings):
    """``app`` with the relay's path served by a relay in the same process; the relay starts and stops with
    the application's lifespan."""
    service = RelayService(settings)

    async def serve(scope, receive, send) -> None:
        if scope["type"] == "lifespan":

            async def receive_lifespan():
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await service.start()
                elif message["type"] == "lifespan.shutdown":
                    await service.stop()
                return message

            await app(scope, receive_lifespan, send)
        elif scope["path"] == protocol.WS_PATH or scope["path"].startswith(protocol.WS_PATH + "/"):
            await service(scope, receive, send)
        else:
            await app(scope, receive, send)

    return serve
