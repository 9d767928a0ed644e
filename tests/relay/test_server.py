"""The relay against a real Redis and a real WebSocket client."""

import asyncio
import json
import time
import urllib.request

import jwt
import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from posegen.auth import mint_token
from posegen.contracts import PoseExtractionFailedEvent, PoseRequestReviewedEvent, QueuedEvent, user_channel
from posegen.events import EventPublisher

from .conftest import SECRET, recv_json, token


def url(port: int, query: str = "") -> str:
    return f"ws://127.0.0.1:{port}/pose-generator-ws{query}"


@pytest.fixture
def relay_port(relay) -> int:
    return relay.port


def test_header_auth_greets_and_forwards_only_the_users_events(relay_port, redis_url):
    async def scenario():
        publisher = redis.Redis.from_url(redis_url)
        headers = {"Authorization": f"Bearer {token()}"}
        async with connect(url(relay_port), additional_headers=headers) as ws:
            greeting = await recv_json(ws)
            assert greeting == {
                "event": "connected",
                "data": {"message": "Connected to Pose Generator updates", "userId": "alice"},
            }
            await asyncio.sleep(0.1)
            other = QueuedEvent(generation_id="g-bob", user_id="bob", queue_position=0)
            mine = QueuedEvent(id="1-0", generation_id="g-alice", user_id="alice", queue_position=2)
            publisher.publish(user_channel("bob"), other.to_json())
            publisher.publish(user_channel("alice"), mine.to_json())
            update = await recv_json(ws)
            assert update["event"] == "pose-generation-update"
            assert update["data"]["generationId"] == "g-alice"
        publisher.close()

    asyncio.run(scenario())


def test_extraction_and_pose_request_events_are_forwarded_once_like_generation_events(relay_port, redis_url):
    """They carry an extractionId or requestId instead of a generationId; the relay routes and de-duplicates
    them by that subject."""

    async def scenario():
        client = redis.Redis.from_url(redis_url)
        publisher = EventPublisher(client)
        async with connect(url(relay_port), additional_headers={"Authorization": f"Bearer {token()}"}) as ws:
            await recv_json(ws)
            await asyncio.sleep(0.1)
            failed = PoseExtractionFailedEvent(
                extraction_id="ex-1",
                user_id="alice",
                code="no_person",
                error="no person was found in the photo",
                status_code=422,
            )
            event_id = publisher.publish(failed)
            client.publish(user_channel("alice"), failed.model_copy(update={"id": event_id}).to_json())  # a duplicate
            reviewed = PoseRequestReviewedEvent(
                request_id="rq-1", user_id="alice", status="approved", name="Bag", pose_id="p-1"
            )
            publisher.publish(reviewed)
            first, second = await recv_json(ws), await recv_json(ws)
            assert (first["data"]["type"], first["data"]["extractionId"], first["data"]["id"]) == (
                "pose_extraction_failed",
                "ex-1",
                event_id,
            )
            assert (second["data"]["type"], second["data"]["requestId"]) == ("pose_request_reviewed", "rq-1")
            with pytest.raises(TimeoutError):
                await recv_json(ws, timeout=0.5)
        client.close()

    asyncio.run(scenario())


def test_first_message_auth_and_ping(relay_port):
    async def scenario():
        async with connect(url(relay_port)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token("carol")}))
            assert (await recv_json(ws))["data"]["userId"] == "carol"
            await ws.send(json.dumps({"type": "ping"}))
            pong = await recv_json(ws)
            assert pong["event"] == "pong" and "timestamp" in pong["data"]

    asyncio.run(scenario())


def test_bad_messages_get_an_error_event_and_the_connection_stays(relay_port):
    async def scenario():
        async with connect(url(relay_port), additional_headers={"Authorization": f"Bearer {token()}"}) as ws:
            await recv_json(ws)
            for bad in ("not json", "[1, 2]", json.dumps({"type": "explode"}), "{}"):
                await ws.send(bad)
                assert (await recv_json(ws))["event"] == "error"
            await ws.send(json.dumps({"type": "ping"}))
            assert (await recv_json(ws))["event"] == "pong"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "bad_token",
    [
        "garbage",
        mint_token(user_id="u", secret="wrong" * 10, algorithm="HS256"),
        mint_token(user_id="u", secret=SECRET, algorithm="HS256", ttl_seconds=1, now=time.time() - 600),
        jwt.encode({"userId": "u", "exp": int(time.time()) + 60}, None, algorithm="none"),
    ],
)
def test_bad_token_gets_error_then_close_4401(relay_port, bad_token):
    async def scenario():
        async with connect(url(relay_port)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": bad_token}))
            assert (await recv_json(ws))["event"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(ws)
            assert closed.value.rcvd.code == 4401

    asyncio.run(scenario())


def test_query_string_token_is_refused(relay_port):
    async def scenario():
        async with connect(url(relay_port, f"?token={token()}")) as ws:
            assert "query string" in (await recv_json(ws))["data"]["message"]
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(ws)
            assert closed.value.rcvd.code == 4401

    asyncio.run(scenario())


def test_http_health_and_ready(relay_port):
    for path in ("/health", "/ready"):
        with urllib.request.urlopen(f"http://127.0.0.1:{relay_port}{path}", timeout=5) as response:
            assert response.status == 200


def test_a_malformed_frame_closes_only_that_connection(relay_port):
    """A client that completes the handshake and then sends bytes that are no WebSocket frame is dropped;
    the relay keeps serving everyone else."""
    import base64
    import os
    import socket

    with socket.create_connection(("127.0.0.1", relay_port), timeout=5) as raw:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall(
            f"GET /pose-generator-ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token()}\r\n\r\n".encode()
        )
        assert b"101 Switching Protocols" in raw.recv(4096)
        raw.sendall(b"\xff\xff\x00garbage that is not a frame" * 10)
        raw.settimeout(5)
        received = b""
        while True:
            chunk = raw.recv(4096)
            if not chunk:
                break
            received += chunk
        assert received, "the relay answered (a close frame) before dropping the connection"

    async def healthy_client():
        async with connect(url(relay_port), additional_headers={"Authorization": f"Bearer {token('other')}"}) as ws:
            assert (await recv_json(ws))["event"] == "connected"

    asyncio.run(healthy_client())
    with urllib.request.urlopen(f"http://127.0.0.1:{relay_port}/health", timeout=5) as response:
        assert response.status == 200
