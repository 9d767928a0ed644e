"""Socket.IO at the relay's path, with python-socketio's client (long-polling first, then the upgrade to
WebSocket, as socket.io-client does): the same behaviour as the plain protocol, from the same hub."""

import asyncio
import json
import threading
import time
import urllib.request
import uuid

import jwt
import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from posegen.auth import mint_token
from posegen.contracts import QueuedEvent
from posegen.events import EventPublisher

from .conftest import SECRET, SocketIOClient, bearer, recv_json, recv_until, token
from .test_delivery import _wait, status_of
from .test_resume import completed, progress, updates


def is_update(kind: str):
    return lambda item: item[0] == "pose-generation-update" and item[1]["type"] == kind


@pytest.mark.parametrize("transports", [None, ["polling"]], ids=["default", "long-polling-only"])
def test_users_get_their_own_events_with_the_same_data_as_the_plain_protocol(relay, redis_url, transports):
    publisher = EventPublisher(redis.Redis.from_url(redis_url))
    mine = f"g-alice-{uuid.uuid4().hex[:8]}"  # a generation's final event is published once

    async def scenario():
        alice, bob = SocketIOClient(), SocketIOClient()
        assert await alice.connect(relay.origin, user="alice", transports=transports)
        assert await bob.connect(relay.origin, user="bob", transports=transports)
        greeting = {"message": "Connected to Pose Generator updates", "userId": "alice"}
        assert await alice.recv() == ("connected", greeting)
        assert (await bob.recv())[1]["userId"] == "bob"
        async with connect(relay.url, additional_headers=bearer("alice")) as plain:
            await recv_json(plain)
            publisher.publish(QueuedEvent(generation_id="g-bob", user_id="bob", queue_position=0))
            publisher.publish(QueuedEvent(generation_id=mine, user_id="alice", queue_position=2))
            publisher.publish(completed(mine))
            got = await alice.recv_until(is_update("completed"))
            over_plain = updates(await recv_until(plain, lambda m: m["data"].get("type") == "completed"))
        assert [data for _name, data in got] == over_plain, "the very same data objects"
        assert {data["generationId"] for _name, data in got} == {mine}
        assert (await bob.recv())[1]["generationId"] == "g-bob"
        with pytest.raises(TimeoutError):
            await bob.recv(timeout=0.5)
        await alice.emit("ping")
        name, data = await alice.recv()
        assert name == "pong" and "timestamp" in data
        await alice.close()
        await bob.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "auth",
    [
        {"token": "garbage"},
        {"token": mint_token(user_id="u", secret="wrong" * 10, algorithm="HS256")},
        {"token": mint_token(user_id="u", secret=SECRET, algorithm="HS256", ttl_seconds=1, now=time.time() - 600)},
        {"token": jwt.encode({"userId": "u", "exp": int(time.time()) + 60}, None, algorithm="none")},
        {},
        "not an object",
    ],
    ids=["garbage", "wrong-secret", "expired", "alg-none", "missing", "not-an-object"],
)
def test_a_bad_or_missing_token_is_refused_at_connect(relay, auth):
    async def scenario():
        client = SocketIOClient()
        assert not await client.connect(relay.origin, user=None, auth=auth)
        name, data = await client.recv()
        assert name == "connect_error" and data["message"] and data["data"]["code"] == "unauthorized"

    asyncio.run(scenario())


def test_header_auth_and_a_query_string_token(relay):
    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin, user=None, auth={}, headers=bearer("carol"))
        assert (await client.recv())[1]["userId"] == "carol"
        await client.close()
        refused = SocketIOClient()
        url = f"{relay.origin}?token={token()}"
        assert not await refused.connect(url, user="alice")
        name, data = await refused.recv()
        assert name == "connect_error" and "query string" in data["message"]

    asyncio.run(scenario())


def test_replay_after_last_event_id_then_live_each_event_once(relay, redis_url):
    publisher = EventPublisher(redis.Redis.from_url(redis_url))
    stored = [publisher.publish(progress("g-sio", step)) for step in range(1, 1201)]
    published_live: list[str] = []

    def publish_live() -> None:
        live_publisher = EventPublisher(redis.Redis.from_url(redis_url))
        for step in range(1201, 1401):
            published_live.append(live_publisher.publish(progress("g-sio", step)))
        published_live.append(live_publisher.publish(completed("g-sio")))

    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin)
        await client.recv()
        await client.emit("subscribe", {"generationId": "g-sio", "lastEventId": stored[199]})
        writer = threading.Thread(target=publish_live)
        writer.start()
        got = await client.recv_until(is_update("completed"), timeout=60)
        writer.join()
        if ("subscribed", {"generationId": "g-sio"}) not in got:
            got += await client.recv_until(lambda item: item[0] == "subscribed")
        await client.emit("subscribe", {"generationId": "g-sio", "lastEventId": published_live[-2]})
        again = await client.recv_until(lambda item: item[0] == "subscribed")
        await client.emit("subscribe", {"generationId": "g-sio", "lastEventId": "not-an-id"})
        bad = await client.recv()
        await client.close()
        return [data["id"] for name, data in got if name == "pose-generation-update"], again, bad

    received, again, bad = asyncio.run(scenario())
    assert len(received) == len(set(received)), "no duplicates"
    assert set(stored[200:]) <= set(received), "the replay has no gap"
    assert set(received) <= set(stored[200:] + published_live), "nothing before lastEventId"
    # Live progress may be shed while the client is behind (docs/websocket.md); the final event never is.
    assert published_live[-1] in received
    assert again == [("subscribed", {"generationId": "g-sio"})], "the final event was already delivered once"
    assert bad[0] == "error" and bad[1]["code"] == "bad_message"


def test_another_users_generation_cannot_be_replayed_and_bad_input_gets_errors(relay, redis_url):
    EventPublisher(redis.Redis.from_url(redis_url)).publish(completed("g-bobs", "bob"))

    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin)
        await client.recv()
        for event, data in (
            ("subscribe", {"generationId": "g-bobs"}),
            ("subscribe", None),
            ("explode", {}),
            ("subscribe", "g-1"),
            ("subscribe", {"generationId": "x" * 500}),
        ):
            await client.emit(event, data)
            name, reply = await client.recv()
            assert name == "error", (event, data)
        assert reply["code"] == "bad_message"
        await client.emit("ping")
        assert (await client.recv())[0] == "pong", "the connection stays"
        await client.close()

    asyncio.run(scenario())


def test_a_socketio_client_survives_a_redis_restart(start_relay, private_redis):
    server = private_redis()
    relay = start_relay(redis_url=server.url)
    _wait(lambda: status_of(relay.http("/ready")) == 200)

    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin)
        await client.recv()
        server.stop()
        await asyncio.to_thread(_wait, lambda: status_of(relay.http("/ready")) == 503)
        server.start()
        await asyncio.to_thread(_wait, lambda: status_of(relay.http("/ready")) == 200, 30)
        event_id = EventPublisher(redis.Redis.from_url(server.url)).publish(completed("g-outage"))
        name, data = await client.recv(timeout=10)
        assert name == "pose-generation-update" and data["id"] == event_id
        await client.close()

    asyncio.run(scenario())


def test_shutdown_disconnects_socketio_and_plain_clients(start_relay):
    relay = start_relay()

    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin)
        await client.recv()
        async with connect(relay.url, additional_headers=bearer()) as plain:
            await recv_json(plain)
            await asyncio.to_thread(relay.stop)
            assert (await client.recv(timeout=10))[0] == "disconnect"
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(plain, timeout=10)
            assert closed.value.rcvd.code == 1001

    asyncio.run(scenario())


def test_limits_apply_to_both_protocols(start_relay):
    relay = start_relay(
        relay_max_connections_per_user=2,
        relay_max_message_bytes=2048,
        relay_max_messages_per_second=5,
        cors_origin="https://app.example",
    )

    async def scenario():
        one = SocketIOClient()
        assert await one.connect(relay.origin)
        await one.recv()
        async with connect(relay.url, additional_headers=bearer()) as plain:
            await recv_json(plain)
            third = SocketIOClient()
            assert not await third.connect(relay.origin)
            name, data = await third.recv()
            assert name == "connect_error" and data["data"]["code"] == "too_many_connections"
        for _ in range(30):
            await one.emit("ping")
        replies = await one.recv_until(lambda item: item[0] == "disconnect", timeout=15)
        assert ("error", "rate_limited") in [(n, d["code"]) for n, d in replies if n == "error"]
        assert sum(name == "pong" for name, _ in replies) <= 10

        big = SocketIOClient()
        assert await big.connect(relay.origin, transports=["websocket"])
        await big.recv()
        await big.emit("ping", {"padding": "x" * 5000})
        assert (await big.recv_until(lambda item: item[0] == "disconnect", timeout=15))[-1][0] == "disconnect"

        browser = SocketIOClient()
        assert await browser.connect(relay.origin, headers={"Origin": "https://app.example"})
        await browser.close()
        with pytest.raises(InvalidStatus):
            async with connect(f"{relay.url}/?EIO=4&transport=websocket", origin="https://evil.example"):
                pass

    asyncio.run(scenario())
    handshake = relay.http("/pose-generator-ws/?EIO=4&transport=polling")
    assert status_of(handshake, {"Origin": "https://evil.example"}) == 400
    assert status_of(handshake, {"Origin": "https://app.example"}) == 200


def test_the_connection_limit_counts_both_protocols(start_relay):
    relay = start_relay(relay_max_connections=2)

    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin)
        async with connect(relay.url, additional_headers=bearer("bob")) as plain:
            await recv_json(plain)
            # A Socket.IO client's first request, its polling handshake, is refused with 503 (python-engineio's
            # client sometimes reports that as a closed connection: it closes its session before reading).
            handshake = relay.http("/pose-generator-ws/?EIO=4&transport=polling")
            assert await asyncio.to_thread(status_of, handshake) == 503
            async with connect(relay.url, additional_headers=bearer("dave")) as late:
                assert (await recv_json(late))["data"]["code"] == "busy"
        await client.close()

    asyncio.run(scenario())


def test_metrics_carry_the_protocol_and_one_pubsub_connection_serves_both(relay, redis_url, redis_client):
    from prometheus_client.parser import text_string_to_metric_families

    publisher = EventPublisher(redis.Redis.from_url(redis_url))

    async def scenario():
        client = SocketIOClient()
        assert await client.connect(relay.origin, user="erin")
        await client.recv()
        async with (
            connect(relay.url, additional_headers=bearer("erin")) as plain,
            connect(relay.url, additional_headers=bearer("frank")) as other,
        ):
            await recv_json(plain)
            await recv_json(other)
            publisher.publish(progress("g-metrics", 1, "erin"))
            await recv_json(plain)
            await client.recv()
            numsub = dict(redis_client.pubsub_numsub("pose-generation:erin", "pose-generation:frank"))
            db = str(redis_client.connection_pool.connection_kwargs.get("db", 0))
            pubsub = [c for c in redis_client.client_list(_type="pubsub") if c.get("db") == db]
            text = await asyncio.to_thread(lambda: urllib.request.urlopen(relay.http("/metrics"), timeout=5).read())
        await client.close()
        return numsub, pubsub, text

    numsub, pubsub, text = asyncio.run(scenario())
    assert numsub == {b"pose-generation:erin": 1, b"pose-generation:frank": 1}
    assert len(pubsub) == 1, "one pub/sub connection for both protocols"
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}
    connections = {s.labels["protocol"]: s.value for s in families["posegen_relay_connections"].samples}
    assert connections == {"plain": 2, "socketio": 1}
    relayed = {
        (s.labels["type"], s.labels["protocol"]): s.value
        for s in families["posegen_relay_events_relayed"].samples
        if s.name.endswith("_total")
    }
    assert relayed == {("progress", "plain"): 1, ("progress", "socketio"): 1}
    lag = {s.labels.get("protocol") for s in families["posegen_relay_delivery_lag_seconds"].samples}
    assert lag == {"plain", "socketio"}


def test_a_socketio_client_that_stops_reading_sheds_progress_but_gets_the_final_event(start_relay, redis_url):
    """Engine.IO spoken by hand over a real WebSocket with a tiny receive window: the relay keeps the backlog
    in the session's bounded queue, where old progress is dropped; the final event still arrives."""
    from .test_delivery import PREVIEW, small_window_socket

    relay = start_relay(relay_queue_size=16)
    publisher = EventPublisher(redis.Redis.from_url(redis_url))
    total = 300

    async def scenario():
        url = f"{relay.url}/?EIO=4&transport=websocket"
        async with connect(url, max_queue=4, sock=small_window_socket(relay.port)) as ws:
            assert (await ws.recv()).startswith("0{")
            await ws.send("40/pose-generator," + json.dumps({"token": token()}))
            assert (await ws.recv()).startswith("40/pose-generator,")
            assert "connected" in await ws.recv()
            for step in range(1, total + 1):
                publisher.publish(progress("g-stalled", step).model_copy(update={"preview": PREVIEW}))
            publisher.publish(completed("g-stalled"))
            await asyncio.sleep(2)
            events = []
            while not events or events[-1]["type"] != "completed":
                frame = await asyncio.wait_for(ws.recv(), 30)
                if frame == "2":
                    await ws.send("3")
                elif frame.startswith("42/pose-generator,"):
                    name, data = json.loads(frame.split(",", 1)[1])
                    if name == "pose-generation-update":
                        events.append(data)
            return events

    events = asyncio.run(scenario())
    assert events[-1]["type"] == "completed"
    assert len(events) < total + 1, "older progress events were dropped"
    steps = [e["step"] for e in events if e["type"] == "progress"]
    assert steps == sorted(steps)
