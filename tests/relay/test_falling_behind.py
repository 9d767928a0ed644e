"""A client that reads nothing holds a bounded number of events in the relay, live or behind a replay; once
it reads, a `resync` tells it where to subscribe again from (issue 24)."""

import asyncio
import time
import urllib.request

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from posegen.contracts import PoseCompletedEvent
from posegen.events import EventPublisher

from .conftest import bearer, recv_json, recv_until
from .test_delivery import PREVIEW, small_window_socket
from .test_resume import completed, progress, updates

QUEUE = 16
PUBLISHED = 3000


def pose_completed(generation_id: str, n: int) -> PoseCompletedEvent:
    return PoseCompletedEvent(
        generation_id=generation_id,
        user_id="alice",
        pose_index=n,
        generated_pose_id=f"gp-{n}",
        pose_id="p",
        variation_key=f"p:{n}",
        image_url="u",
        thumbnail_url="t",
        seed=n,
        seconds=1.0,
    )


def buffered(relay) -> float:
    text = urllib.request.urlopen(relay.http("/metrics"), timeout=5).read().decode()
    return next(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name == "posegen_relay_buffered_events"
        for s in f.samples
    )


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.parametrize("replay", [True, False], ids=["behind-a-replay", "live"])
def test_a_client_that_reads_nothing_holds_bounded_events_and_gets_a_resync(start_relay, redis_url, replay):
    relay = start_relay(relay_queue_size=QUEUE)
    publisher = EventPublisher(redis.Redis.from_url(redis_url))
    generation, marker = f"g-behind-{replay}", f"g-marker-{replay}"

    def about(message: dict) -> bool:
        return message["data"].get("generationId") == generation

    def publish(events) -> None:
        for event in events:
            publisher.publish(event)

    async def scenario():
        big = [progress(generation, step).model_copy(update={"preview": PREVIEW}) for step in range(1, 301)]
        if replay:
            await asyncio.to_thread(publish, big)  # stored before the client comes
        async with (
            connect(relay.url, additional_headers=bearer(), max_queue=4, sock=small_window_socket(relay.port)) as slow,
            connect(relay.url, additional_headers=bearer(), max_queue=None) as reader,
        ):
            await recv_json(slow)
            await recv_json(reader)
            if replay:
                await slow.send(f'{{"type": "subscribe", "generationId": "{generation}"}}')
            else:
                await asyncio.to_thread(publish, big)
            await asyncio.to_thread(wait_for, lambda: buffered(relay) >= QUEUE)

            await asyncio.to_thread(publish, [pose_completed(generation, n) for n in range(PUBLISHED)])
            await asyncio.to_thread(publish, [completed(generation), completed(marker)])
            # The hub relays in order: once the reader has the marker (or, behind itself, its resync), every
            # event before it has been offered to both clients.
            await recv_until(reader, lambda m: m["data"].get("generationId") == marker, timeout=120)
            held = await asyncio.to_thread(buffered, relay)

            received = await recv_until(slow, lambda m: m["event"] == "resync" and about(m), timeout=120)
            resync = received[-1]["data"]
            assert resync["generationId"] == generation and resync["lastEventId"]
            await slow.send(
                f'{{"type": "subscribe", "generationId": "{generation}", "lastEventId": "{resync["lastEventId"]}"}}'
            )
            received += await recv_until(slow, lambda m: m["data"].get("type") == "completed" and about(m), timeout=120)
            return held, received

    held, received = asyncio.run(scenario())
    assert held <= 4 * QUEUE, f"{held} events held for two clients, one of which reads nothing"
    events = [event for event in updates(received) if event["generationId"] == generation]
    assert events[-1]["type"] == "completed", "after subscribing again the client reaches the end"
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "no event twice"
