"""Fan-in, back-pressure, Redis outages, limits and shutdown, with real clients and a real Redis."""

import asyncio
import base64
import os
import socket
import time
import urllib.error
import urllib.request

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from posegen.events import EventPublisher

from .conftest import bearer, recv_json, recv_until
from .test_resume import completed, progress, updates

PREVIEW = "data:image/jpeg;base64," + base64.b64encode(os.urandom(48_000)).decode()  # incompressible


def small_window_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer, so that not reading fills the path quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_a_client_that_stops_reading_does_not_hold_back_another(start_relay, redis_url):
    relay = start_relay(relay_queue_size=16)
    publisher = EventPublisher(redis.Redis.from_url(redis_url))
    total = 400

    async def scenario():
        async with (
            connect(
                relay.url, additional_headers=bearer(), max_queue=4, sock=small_window_socket(relay.port)
            ) as stalled,
            connect(relay.url, additional_headers=bearer(), max_queue=None) as reader,
        ):
            await recv_json(stalled)
            await recv_json(reader)
            loop = asyncio.get_running_loop()

            def publish_all() -> None:
                for step in range(1, total + 1):
                    event = progress("g-slow", step).model_copy(update={"preview": PREVIEW})
                    publisher.publish(event)
                publisher.publish(completed("g-slow"))

            publishing = loop.run_in_executor(None, publish_all)
            received = await recv_until(reader, lambda m: m["data"].get("type") == "completed", timeout=60)
            await publishing
            assert len(updates(received)) == total + 1, "the reading client lost nothing"
            late = await recv_until(stalled, lambda m: m["data"].get("type") == "completed", timeout=60)
            return updates(late)

    late = asyncio.run(scenario())
    assert late[-1]["type"] == "completed", "the final event reaches the slow client"
    assert len(late) < total + 1, "the slow client's older progress events were dropped"
    steps = [e["step"] for e in late if e["type"] == "progress"]
    assert steps == sorted(steps)
    metrics = urllib.request.urlopen(relay.http("/metrics"), timeout=5).read().decode()
    dropped = {
        s.labels["type"]: s.value
        for f in text_string_to_metric_families(metrics)
        if f.name == "posegen_relay_events_dropped"
        for s in f.samples
        if s.name.endswith("_total")
    }
    assert dropped.get("progress", 0) > 0 and "completed" not in dropped


def test_the_relay_survives_a_redis_restart(start_relay, private_redis):
    server = private_redis()
    relay = start_relay(redis_url=server.url)
    _wait(lambda: status_of(relay.http("/ready")) == 200)

    async def scenario():
        async with connect(relay.url, additional_headers=bearer()) as ws:
            await recv_json(ws)
            server.stop()
            await asyncio.to_thread(_wait, lambda: status_of(relay.http("/ready")) == 503)
            server.start()
            await asyncio.to_thread(_wait, lambda: status_of(relay.http("/ready")) == 200, 30)
            event_id = EventPublisher(redis.Redis.from_url(server.url)).publish(completed("g-outage"))
            message = await recv_json(ws, timeout=10)
            assert message["data"]["id"] == event_id

    asyncio.run(scenario())


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_connection_limits_message_size_and_origin(start_relay):
    relay = start_relay(
        relay_max_connections_per_user=2, relay_max_message_bytes=2048, cors_origin="https://app.example"
    )

    async def scenario():
        async with (
            connect(relay.url, additional_headers=bearer()) as one,
            connect(relay.url, additional_headers=bearer()) as two,
        ):
            await recv_json(one)
            await recv_json(two)
            async with connect(relay.url, additional_headers=bearer()) as three:
                assert (await recv_json(three))["data"]["code"] == "too_many_connections"
                with pytest.raises(ConnectionClosed) as closed:
                    await recv_json(three)
                assert closed.value.rcvd.code == 4429
            async with connect(relay.url, additional_headers=bearer("bob")) as other_user:
                assert (await recv_json(other_user))["event"] == "connected"
            await one.send('{"type": "ping", "padding": "' + "x" * 5000 + '"}')
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(one)
            assert closed.value.rcvd.code == 1009
        with pytest.raises(InvalidStatus):
            async with connect(relay.url, additional_headers=bearer(), origin="https://evil.example"):
                pass
        async with connect(relay.url, additional_headers=bearer(), origin="https://app.example") as browser:
            assert (await recv_json(browser))["event"] == "connected"

    asyncio.run(scenario())


def test_shutdown_closes_clients_with_1001(start_relay):
    relay = start_relay()

    async def scenario():
        async with connect(relay.url, additional_headers=bearer()) as ws:
            await recv_json(ws)
            await asyncio.to_thread(relay.stop)
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(ws, timeout=10)
            assert closed.value.rcvd.code == 1001

    asyncio.run(scenario())


def test_metrics_count_connections_users_and_events(relay, redis_url):
    publisher = EventPublisher(redis.Redis.from_url(redis_url))

    async def scenario():
        async with connect(relay.url, additional_headers=bearer("carol")) as ws:
            await recv_json(ws)
            publisher.publish(progress("g-m", 1, "carol"))
            await recv_json(ws)
            return urllib.request.urlopen(relay.http("/metrics"), timeout=5).read().decode()

    text = asyncio.run(scenario())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["posegen_relay_connections"].samples[0].value == 1
    assert families["posegen_relay_users"].samples[0].value == 1
    relayed = {
        s.labels["type"]: s.value for s in families["posegen_relay_events_relayed"].samples if s.name.endswith("_total")
    }
    assert relayed["progress"] == 1
    assert families["posegen_relay_delivery_lag_seconds"].samples
    assert families["posegen_relay_redis_up"].samples[0].value == 1


def test_one_pubsub_connection_per_relay_subscribed_to_exactly_the_connected_users(relay, redis_client):
    async def scenario():
        async with (
            connect(relay.url, additional_headers=bearer("u1")) as a,
            connect(relay.url, additional_headers=bearer("u1")) as b,
            connect(relay.url, additional_headers=bearer("u2")) as c,
        ):
            for ws in (a, b, c):
                await recv_json(ws)
            numsub = dict(redis_client.pubsub_numsub("pose-generation:u1", "pose-generation:u2"))
            db = str(redis_client.connection_pool.connection_kwargs.get("db", 0))
            pubsub_clients = [c for c in redis_client.client_list(_type="pubsub") if c.get("db") == db]
            assert numsub == {b"pose-generation:u1": 1, b"pose-generation:u2": 1}
            assert len(pubsub_clients) == 1, "one pub/sub connection for all clients"
            await c.close()
            await asyncio.to_thread(
                _wait, lambda: dict(redis_client.pubsub_numsub("pose-generation:u2")) == {b"pose-generation:u2": 0}
            )

    asyncio.run(scenario())


def test_a_message_flood_closes_the_connection_with_1008(start_relay):
    relay = start_relay(relay_max_messages_per_second=5)

    async def scenario():
        async with connect(relay.url, additional_headers=bearer()) as ws:
            await recv_json(ws)
            for _ in range(50):
                await ws.send('{"type": "ping"}')
            replies = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    replies.append(await recv_json(ws, timeout=15))
            assert closed.value.rcvd.code == 1008
            assert replies[-1]["data"]["code"] == "rate_limited"
            assert sum(r["event"] == "pong" for r in replies) <= 10

    asyncio.run(scenario())
