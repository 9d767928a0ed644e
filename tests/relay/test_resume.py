"""Resumable delivery: replay from a generation's stream after `lastEventId`, then live, each event once."""

import asyncio
import threading

import redis
from websockets.asyncio.client import connect

from posegen.contracts import CompletedEvent, PoseCompletedEvent, ProgressEvent
from posegen.events import EventPublisher

from .conftest import bearer, recv_json, recv_until


def progress(generation_id: str, step: int, user_id: str = "alice") -> ProgressEvent:
    return ProgressEvent(
        generation_id=generation_id,
        user_id=user_id,
        pose_index=0,
        poses_total=1,
        poses_completed=0,
        poses_failed=0,
        step=step,
        total_steps=10_000,
        percentage=min(100.0, step / 100),
    )


def completed(generation_id: str, user_id: str = "alice") -> CompletedEvent:
    return CompletedEvent(
        generation_id=generation_id,
        user_id=user_id,
        status="completed",
        poses_completed=1,
        poses_failed=0,
        poses_total=1,
        credit_refunded=0,
    )


def updates(messages: list[dict]) -> list[dict]:
    return [m["data"] for m in messages if m["event"] == "pose-generation-update"]


def test_reconnect_with_last_event_id_gets_every_later_event_exactly_once(relay, redis_url):
    publisher = EventPublisher(redis.Redis.from_url(redis_url))
    ids = [publisher.publish(progress("g-resume", step)) for step in range(1, 6)]

    async def scenario():
        async with connect(relay.url, additional_headers=bearer()) as ws:
            await recv_json(ws)
            await ws.send('{"type": "subscribe", "generationId": "g-resume"}')
            first = updates(await recv_until(ws, lambda m: m["event"] == "subscribed"))
            assert [e["id"] for e in first] == ids
        later = [publisher.publish(progress("g-resume", step)) for step in range(6, 11)]
        async with connect(relay.url, additional_headers=bearer()) as ws:
            await recv_json(ws)
            await ws.send(f'{{"type": "subscribe", "generationId": "g-resume", "lastEventId": "{ids[-1]}"}}')
            replayed = updates(await recv_until(ws, lambda m: m["event"] == "subscribed"))
            assert [e["id"] for e in replayed] == later
            live_id = publisher.publish(completed("g-resume"))
            live = updates(await recv_until(ws, lambda m: m["data"].get("type") == "completed"))
            assert [e["id"] for e in live] == [live_id]

    asyncio.run(scenario())


def test_live_events_during_a_replay_arrive_once_with_no_gap(relay, redis_url):
    client = redis.Redis.from_url(redis_url)
    publisher = EventPublisher(client)
    stored = [publisher.publish(progress("g-race", step)) for step in range(1, 1501)]
    published_live: list[str] = []

    def publish_live() -> None:
        live_publisher = EventPublisher(redis.Redis.from_url(redis_url))
        for step in range(1501, 1701):
            published_live.append(live_publisher.publish(progress("g-race", step)))
        published_live.append(live_publisher.publish(completed("g-race")))

    async def scenario():
        async with connect(relay.url, additional_headers=bearer(), max_queue=None) as ws:
            await recv_json(ws)
            await ws.send('{"type": "subscribe", "generationId": "g-race"}')
            writer = threading.Thread(target=publish_live)
            writer.start()
            messages = await recv_until(ws, lambda m: m["data"].get("type") == "completed", timeout=60)
            writer.join()
            return [e["id"] for e in updates(messages)]

    received = asyncio.run(scenario())
    expected = stored + published_live
    assert len(received) == len(set(received)), "no duplicates"
    assert set(stored) <= set(received), "the replay has no gap"
    assert set(received) <= set(expected)
    # Live progress may be shed while the client is behind (docs/websocket.md); the final event never is.
    assert published_live[-1] in received


def test_another_users_generation_cannot_be_replayed(relay, redis_url):
    EventPublisher(redis.Redis.from_url(redis_url)).publish(
        PoseCompletedEvent(
            generation_id="g-bob",
            user_id="bob",
            pose_index=0,
            generated_pose_id="gp",
            pose_id="p",
            variation_key="p:0",
            image_url="u",
            thumbnail_url="t",
            seed=1,
            seconds=1.0,
        )
    )

    async def scenario():
        async with connect(relay.url, additional_headers=bearer("alice")) as ws:
            await recv_json(ws)
            await ws.send('{"type": "subscribe", "generationId": "g-bob"}')
            reply = await recv_json(ws)
            assert reply["event"] == "error" and reply["data"]["code"] == "not_found"
            for bad in ('{"type": "subscribe"}', '{"type": "subscribe", "generationId": "g", "lastEventId": "x"}'):
                await ws.send(bad)
                assert (await recv_json(ws))["event"] == "error"
            await ws.send('{"type": "ping"}')
            assert (await recv_json(ws))["event"] == "pong"

    asyncio.run(scenario())
