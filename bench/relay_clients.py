"""The client side of bench/relay.py, in a process of its own: N clients over U users, each on the plain
WebSocket protocol or on Socket.IO (python-socketio's client: long-polling first, then the upgrade, as
socket.io-client does), and a bare redis-py subscriber as the baseline; prints one JSON object with what each
saw."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

import redis.asyncio as aioredis
import socketio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

NAMESPACE = "/pose-generator"


def _latency(payload: dict) -> float:
    return time.time() - datetime.fromisoformat(payload["timestamp"]).timestamp()


async def client(url: str, token: str, stats: dict, ready: asyncio.Event, connected: list, stop: asyncio.Event):
    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None, open_timeout=60
    ) as ws:
        await ws.recv()
        connected.append(1)
        await ready.wait()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:
                stats["disconnects"] += 1
                return
            message = json.loads(raw)
            data = message.get("data", {})
            if message.get("event") == "pose-generation-update":
                _record(stats, data)


def _record(stats: dict, data: dict) -> None:
    stats["latency"].append(_latency(data))
    stats["seen"].setdefault(data["type"], set()).add(data["id"])


async def socketio_client(
    origin: str, token: str, stats: dict, ready: asyncio.Event, connected: list, stop: asyncio.Event
):
    client = socketio.AsyncClient(reconnection=False)
    greeted = asyncio.Event()
    client.on("connected", lambda _data: greeted.set(), namespace=NAMESPACE)

    def disconnected(*_reason) -> None:
        if not stop.is_set():
            stats["disconnects"] += 1

    client.on("disconnect", disconnected, namespace=NAMESPACE)
    client.on("pose-generation-update", lambda data: ready.is_set() and _record(stats, data), namespace=NAMESPACE)
    await client.connect(
        origin, namespaces=[NAMESPACE], socketio_path="pose-generator-ws", auth={"token": token}, wait_timeout=60
    )
    await greeted.wait()
    connected.append(1)
    await stop.wait()
    await client.disconnect()


async def baseline(redis_url: str, channels: list[str], stats: dict, stop: asyncio.Event, subscribed: asyncio.Event):
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(*channels)
    subscribed.set()
    while not stop.is_set():
        message = await pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            data = json.loads(message["data"])
            _record(stats, data)
    await pubsub.aclose()
    await client.aclose()


async def drained(per_client: list[dict], quiet: float, longest: float) -> None:
    """Once publishing has stopped: until the clients have received nothing for ``quiet`` seconds, so that
    "lost" counts what never arrives, not what is still on its way."""
    loop = asyncio.get_running_loop()
    deadline, last, last_change = loop.time() + longest, -1, loop.time()
    while loop.time() < deadline and loop.time() - last_change < quiet:
        await asyncio.sleep(0.25)
        total = sum(len(stats["latency"]) for stats in per_client)
        if total != last:
            last, last_change = total, loop.time()


async def main() -> None:
    config = json.loads(sys.stdin.readline())
    stop, ready, subscribed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    users = zip(config["client_users"], config["client_protocols"], strict=True)
    per_client = [
        {"user": user, "protocol": protocol, "latency": [], "seen": {}, "disconnects": 0} for user, protocol in users
    ]
    connected: list = []
    tasks = []
    for index, stats in enumerate(per_client):
        token = config["tokens"][stats["user"]]
        if stats["protocol"] == "socketio":
            follow = socketio_client(config["origin"], token, stats, ready, connected, stop)
        else:
            follow = client(config["url"], token, stats, ready, connected, stop)
        tasks.append(asyncio.create_task(follow))
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
    await drained(per_client, config["quiet_seconds"], config["max_drain_seconds"])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    result = {
        "clients": [
            {
                "user": s["user"],
                "protocol": s["protocol"],
                "latency": s["latency"],
                "disconnects": s["disconnects"],
                "seen": {k: sorted(v) for k, v in s["seen"].items()},
            }
            for s in per_client
        ],
        "baseline": {"latency": base_stats["latency"], "seen": {k: sorted(v) for k, v in base_stats["seen"].items()}},
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
