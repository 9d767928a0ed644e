"""Two relay processes behind the edge compose ships (Debian's nginx running compose/nginx.conf, only the
addresses made local): Socket.IO clients keep their sessions, long-polling included, because the edge sends
every request of a client to the same relay; the same clients through an edge without that affinity lose
them. The plain WebSocket protocol passes through the same path."""

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import urllib.request

import aiohttp
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from posegen.auth import mint_token
from posegen_cli.localrun import free_port

SECRET = "ci5g_6yBRJFxho8Xj46V1ADmh6iOAwfvIF50v8xhw67V15zG"
NAMESPACE = "/pose-generator"
CLIENTS = [f"127.0.0.{n}" for n in range(2, 14)]
"""Each client connects from an address of its own, as different users' machines do."""


def token(user: str) -> str:
    return mint_token(user_id=user, secret=SECRET, algorithm="HS256")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def relay_ports(redis_url, tmp_path):
    ports = [free_port(), free_port()]
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "JWT_SECRET": SECRET,
        "RELAY_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "posegen_cli", "relay"], cwd=tmp_path, env={**env, "RELAY_PORT": str(port)}
        )
        for port in ports
    ]
    deadline = time.monotonic() + 30
    while not all(http_ok(f"http://127.0.0.1:{port}/ready") for port in ports):
        assert time.monotonic() < deadline, "the relays did not become ready"
        time.sleep(0.2)
    yield ports
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


class Client:
    """python-socketio's client connecting from ``address``."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.events: asyncio.Queue = asyncio.Queue()

    async def open(self, edge: str, transports: list[str] | None, timeout: float = 10) -> bool:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(self.address, 0)))
        self.client = socketio.AsyncClient(http_session=self.http, reconnection=False)
        for name in ("connected", "pong"):
            self.client.on(name, lambda data, name=name: self.events.put_nowait(name), namespace=NAMESPACE)
        try:
            await self.client.connect(
                edge,
                namespaces=[NAMESPACE],
                socketio_path="pose-generator-ws",
                transports=transports,
                auth={"token": token(self.address)},
                wait_timeout=timeout,
            )
            assert await asyncio.wait_for(self.events.get(), timeout) == "connected"
            for _ in range(3):  # each round trip is a POST and a long-poll GET of the same session
                await self.client.emit("ping", namespace=NAMESPACE)
                assert await asyncio.wait_for(self.events.get(), timeout) == "pong"
        except (socketio.exceptions.ConnectionError, AssertionError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        """A broken session's client would wait for a long-poll that its relay never answers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.client.disconnect(), 2)
        await self.http.close()


def socketio_connections(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return next(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name == "posegen_relay_connections"
        for s in f.samples
        if s.labels["protocol"] == "socketio"
    )


def test_long_polling_sessions_stay_on_one_relay_behind_the_compose_edge(relay_ports, start_edge):
    edge = start_edge(gateway="127.0.0.1:9", relays=[f"127.0.0.1:{port}" for port in relay_ports])

    async def scenario():
        clients = [Client(address) for address in CLIENTS]
        transports = [["polling"] if n % 2 == 0 else None for n in range(len(clients))]
        kept = await asyncio.gather(*(c.open(edge, t) for c, t in zip(clients, transports, strict=True)))
        per_relay = [await asyncio.to_thread(socketio_connections, port) for port in relay_ports]
        async with connect(
            edge.replace("http", "ws") + "/pose-generator-ws",
            additional_headers={"Authorization": f"Bearer {token('plain')}"},
        ) as plain:
            greeting = await asyncio.wait_for(plain.recv(), 10)
        for client in clients:
            await client.close()
        return kept, per_relay, greeting

    kept, per_relay, greeting = asyncio.run(scenario())
    assert all(kept), "every client kept its session: long-polling only, and polling upgraded to WebSocket"
    assert sum(per_relay) == len(CLIENTS) and min(per_relay) > 0, f"both relays serve clients: {per_relay}"
    assert '"event":"connected"' in greeting


def test_without_the_affinity_long_polling_sessions_break(relay_ports, start_edge):
    """The control: the same edge with its hash line removed balances each request on its own."""
    edge = start_edge(gateway="127.0.0.1:9", relays=[f"127.0.0.1:{port}" for port in relay_ports], affinity=False)

    async def scenario():
        clients = [Client(address) for address in CLIENTS[:4]]
        kept = await asyncio.gather(*(client.open(edge, ["polling"], timeout=3) for client in clients))
        await asyncio.gather(*(client.close() for client in clients))
        return kept

    assert not all(asyncio.run(scenario()))


def test_the_edge_limits_relay_connections_per_client_address(relay_ports, start_edge):
    """compose/nginx.conf's per-address limit on the relay's path (lowered to 3 here): a fourth connection from
    one address is refused with 429 by the edge, while another address still connects."""
    edge = start_edge(
        gateway="127.0.0.1:9", relays=[f"127.0.0.1:{port}" for port in relay_ports], connections_per_address=3
    )
    url = edge.replace("http", "ws") + "/pose-generator-ws"

    def open_from(address: str, user: str):
        return connect(url, additional_headers={"Authorization": f"Bearer {token(user)}"}, local_addr=(address, 0))

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            for n in range(3):
                ws = await stack.enter_async_context(open_from("127.0.0.2", f"user-{n}"))
                assert '"event":"connected"' in await asyncio.wait_for(ws.recv(), 10)
            with pytest.raises(InvalidStatus) as refused:
                await stack.enter_async_context(open_from("127.0.0.2", "user-3"))
            assert refused.value.response.status_code == 429
            other = await stack.enter_async_context(open_from("127.0.0.3", "user-4"))
            assert '"event":"connected"' in await asyncio.wait_for(other.recv(), 10)

    asyncio.run(scenario())
