"""A relay running in a thread of its own (its own event loop) on a free port, against a real Redis."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from posegen.auth import mint_token
from posegen.settings import RelaySettings
from posegen_cli.localrun import free_port
from posegen_relay.server import run

SECRET = "GZjRzY61sGJl_LUKp76J208VXTx_-NcCq9YLX5RQL0mPfB_G"


@dataclass
class RunningRelay:
    port: int
    stop: Callable[[], None]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/pose-generator-ws"

    @property
    def origin(self) -> str:
        """Where a Socket.IO client connects (with ``socketio_path="pose-generator-ws"``)."""
        return f"http://127.0.0.1:{self.port}"

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def start_relay(redis_url) -> Iterator[Callable[..., RunningRelay]]:
    started: list[RunningRelay] = []

    def start(**overrides) -> RunningRelay:
        port = free_port()
        values = dict(redis_url=redis_url, jwt_secret=SECRET, relay_host="127.0.0.1", relay_port=port)
        values.update(overrides)
        settings = RelaySettings(_env_file=None, **values)
        runner = asyncio.Runner()  # closing it cancels what the relay's libraries left running
        loop = runner.get_loop()
        ready, stop = asyncio.Event(), asyncio.Event()
        thread = threading.Thread(target=runner.run, args=(run(settings, ready=ready, stop=stop),))
        thread.start()
        deadline = time.monotonic() + 10
        while not ready.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)

        def stop_relay() -> None:
            if thread.is_alive():
                loop.call_soon_threadsafe(stop.set)
                thread.join(timeout=15)
                runner.close()

        relay = RunningRelay(port, stop_relay)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()


@pytest.fixture
def relay(start_relay) -> RunningRelay:
    return start_relay()


def token(user_id: str = "alice", **kwargs) -> str:
    return mint_token(user_id=user_id, secret=SECRET, algorithm="HS256", **kwargs)


def bearer(user_id: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id)}"}


async def recv_json(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, predicate, timeout: float = 20.0) -> list[dict]:
    """Every message until one matches ``predicate`` (included)."""
    received = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await recv_json(ws, max(0.1, deadline - asyncio.get_running_loop().time()))
        received.append(message)
        if predicate(message):
            return received


NAMESPACE = "/pose-generator"


class SocketIOClient:
    """python-socketio's client on the relay's namespace; every event it gets (``connect_error`` and
    ``disconnect`` included) lands in one queue, as ``(name, data)``."""

    def __init__(self, **options) -> None:
        import socketio

        self.client = socketio.AsyncClient(reconnection=False, **options)
        self.events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        for name in ("connected", "pose-generation-update", "pong", "error", "subscribed", "connect_error"):
            self.client.on(name, lambda data=None, name=name: self.events.put_nowait((name, data)), namespace=NAMESPACE)
        self.client.on(
            "disconnect", lambda reason=None: self.events.put_nowait(("disconnect", reason)), namespace=NAMESPACE
        )

    async def connect(self, origin: str, *, user: str | None = "alice", auth: object = None, **options) -> bool:
        """True when the namespace connected; a refusal is a ``connect_error`` in the queue."""
        import socketio

        if auth is None and user is not None:
            auth = {"token": token(user)}
        try:
            await self.client.connect(
                origin, namespaces=[NAMESPACE], socketio_path="pose-generator-ws", auth=auth, wait_timeout=10, **options
            )
        except socketio.exceptions.ConnectionError:
            return False
        return True

    async def emit(self, event: str, data: object = None) -> None:
        await self.client.emit(event, data, namespace=NAMESPACE)

    async def recv(self, timeout: float = 5.0) -> tuple[str, object]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def recv_until(self, predicate, timeout: float = 20.0) -> list[tuple[str, object]]:
        """Every event until one matches ``predicate`` (included)."""
        received = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            item = await self.recv(max(0.1, deadline - asyncio.get_running_loop().time()))
            received.append(item)
            if predicate(item):
                return received

    async def close(self) -> None:
        await self.client.disconnect()
