"""Connections that have not authenticated yet: a small pool of their own with a short deadline, apart from
RELAY_MAX_CONNECTIONS (issue 24), on both protocols, with real clients."""

import asyncio

import engineio
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import SocketIOClient, bearer, recv_json, token


async def idle_engineio(relay) -> object:
    """An Engine.IO WebSocket that never connects the namespace (never authenticates)."""
    ws = await connect(f"{relay.url}/?EIO=4&transport=websocket")
    assert (await asyncio.wait_for(ws.recv(), 5)).startswith("0{")
    return ws


async def closed_engineio(ws, timeout: float = 20.0) -> bool:
    """True once the server has closed the Engine.IO WebSocket (it sends only pings and a close until then)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return True


def test_idle_unauthenticated_sockets_do_not_block_an_authenticated_user(start_relay):
    relay = start_relay(relay_max_connections=3, relay_max_unauthenticated=2, relay_auth_timeout_seconds=60)

    async def scenario():
        plain_idle = [await connect(relay.url) for _ in range(4)]
        engineio_idle = [await idle_engineio(relay) for _ in range(4)]

        async with connect(relay.url) as by_message:
            await by_message.send(f'{{"type": "auth", "token": "{token("alice")}"}}')
            assert (await recv_json(by_message))["event"] == "connected"
            sio = SocketIOClient()
            assert await sio.connect(relay.origin, user="bob")
            assert (await sio.recv())[0] == "connected"
            async with connect(relay.url, additional_headers=bearer("carol")) as by_header:
                assert (await recv_json(by_header))["event"] == "connected"
                async with connect(relay.url, additional_headers=bearer("dave")) as fourth:
                    assert (await recv_json(fourth))["data"]["code"] == "busy"
                    with pytest.raises(ConnectionClosed) as closed:
                        await recv_json(fourth)
                    assert closed.value.rcvd.code == 1013
            await sio.close()

        oldest = plain_idle[0]
        assert (await recv_json(oldest))["data"]["code"] == "busy"
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(oldest)
        assert closed.value.rcvd.code == 1013
        assert await closed_engineio(engineio_idle[0])
        for ws in plain_idle + engineio_idle:
            await ws.close()

    asyncio.run(scenario())


def test_an_unauthenticated_connection_is_closed_at_the_deadline_on_both_protocols(start_relay):
    relay = start_relay(relay_auth_timeout_seconds=1)

    async def scenario():
        async with connect(relay.url) as plain:
            message = await recv_json(plain, timeout=20)
            assert message["event"] == "error" and message["data"]["code"] == "auth_timeout"
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(plain, timeout=20)
            assert closed.value.rcvd.code == 4408

        ws = await idle_engineio(relay)
        assert await closed_engineio(ws)

        polling = engineio.AsyncClient()
        gone = asyncio.Event()
        polling.on("disconnect", lambda *_: gone.set())
        await polling.connect(relay.origin, transports=["polling"], engineio_path="pose-generator-ws")
        await asyncio.wait_for(gone.wait(), 20)

        sio = SocketIOClient()
        assert await sio.connect(relay.origin, user="alice")
        assert (await sio.recv())[0] == "connected"
        await asyncio.sleep(2)  # past the deadline: an authenticated connection stays
        await sio.emit("ping")
        assert (await sio.recv())[0] == "pong"
        await sio.close()

    asyncio.run(scenario())
