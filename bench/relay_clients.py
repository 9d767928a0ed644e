"""The client side of bench/relay.py, in a process of its own: N WebSocket clients over U users, and a bare
redis-py subscriber as the baseline; prints one JSON object with what each saw."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

import redis.asyncio as aioredis
from websockets.asyncio.client import connect


def _latency(payload: dict) -> float:
    return time.time() - datetime.fromisoformat(payload["timestamp"]).timestamp()


async def client(url: str, token: str, stats: dict, ready: asyncio.Event, connected: list, stop: asyncio.Event):
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None,
                       open_timeout=60) as ws:  # fmt: skip
        await ws.recv()
        connected.append(1)
        await ready.wait()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            message = json.loads(raw)
            data = message.get("data", {})
            if message.get("event") == "pose-generation-update":
                stats["latency"].append(_latency(data))
                stats["seen"].setdefault(data["type"], set()).add(data["id"])


async def baseline(redis_url: str, channels: list[str], stats: dict, stop: asyncio.Event, subscribed: asyncio.Event):
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(*channels)
    subscribed.set()
    while not stop.is_set():
        message = await pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            data = json.loads(message["data"])
            stats["latency"].append(_latency(data))
            stats["seen"].setdefault(data["type"], set()).add(data["id"])
    await pubsub.aclose()
    await client.aclose()


async def main() -> None:
    config = json.loads(sys.stdin.readline())
    stop, ready, subscribed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    per_client = [{"user": user, "latency": [], "seen": {}} for user in config["client_users"]]
    connected: list = []
    tasks = []
    for index, stats in enumerate(per_client):
        tasks.append(asyncio.create_task(client(config["url"], config["tokens"][stats["user"]], stats, ready,
                                                connected, stop)))  # fmt: skip
        if index % 50 == 49:
            await asyncio.sleep(0.05)
    base_stats = {"latency": [], "seen": {}}
    tasks.append(asyncio.create_task(baseline(config["redis_url"], config["channels"], base_stats, stop, subscribed)))
    while len(connected) < len(per_client):
        await asyncio.sleep(0.1)
    await subscribed.wait()
    ready.set()
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(config["drain_seconds"])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    result = {
        "clients": [{"user": s["user"], "latency": s["latency"],
                     "seen": {k: sorted(v) for k, v in s["seen"].items()}} for s in per_client],
        "baseline": {"latency": base_stats["latency"], "seen": {k: sorted(v) for k, v in base_stats["seen"].items()}},
    }  # fmt: skip
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
