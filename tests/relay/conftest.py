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

SECRET = "relay-secret-" + "z" * 40


@dataclass
class RunningRelay:
    port: int
    stop: Callable[[], None]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/pose-generator-ws"

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
        loop = asyncio.new_event_loop()
        ready, stop = asyncio.Event(), asyncio.Event()
        thread = threading.Thread(target=loop.run_until_complete, args=(run(settings, ready=ready, stop=stop),))
        thread.start()
        deadline = time.monotonic() + 10
        while not ready.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)

        def stop_relay() -> None:
            if thread.is_alive():
                loop.call_soon_threadsafe(stop.set)
                thread.join(timeout=15)
                loop.close()

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
