"""Redis restarting under the whole cluster while generations are queued and running: every generation
finishes, the gateway's readiness fails during the outage and recovers, and a WebSocket client gets every
final event (live, or by replay after its reconnect). Redis runs as production runs it (append-only file)."""

import asyncio
import json
import time

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import ClusterRunner, fresh_cluster_database, http_status
from .test_cluster import token


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


async def final_events(relay_url: str, user_token: str, generation_ids: list[str], stop_after: float) -> dict:
    """Follow the user's events, reconnecting (and replaying with lastEventId) whenever the connection drops,
    until every generation has a final event."""
    finals: dict[str, str] = {}
    last_ids: dict[str, str] = {}
    deadline = time.monotonic() + stop_after
    while len(finals) < len(generation_ids) and time.monotonic() < deadline:
        try:
            async with connect(relay_url) as ws:
                await ws.send(json.dumps({"type": "auth", "token": user_token}))
                await ws.recv()
                for generation_id in generation_ids:
                    message = {"type": "subscribe", "generationId": generation_id}
                    if generation_id in last_ids:
                        message["lastEventId"] = last_ids[generation_id]
                    await ws.send(json.dumps(message))
                while len(finals) < len(generation_ids) and time.monotonic() < deadline:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 2))
                    except TimeoutError:
                        continue
                    data = message.get("data", {})
                    if message.get("event") == "pose-generation-update":
                        last_ids[data["generationId"]] = data["id"]
                        if data["type"] in ("completed", "failed", "cancelled"):
                            finals[data["generationId"]] = data["type"]
        except (ConnectionClosed, OSError):
            await asyncio.sleep(0.5)
    return finals


def test_redis_restart_under_the_cluster_loses_nothing(fresh_database_url, tiny_model, tmp_path, private_redis):
    server = private_redis(append_only=True)
    runner = ClusterRunner(fresh_cluster_database(fresh_database_url), server.url, tiny_model, tmp_path / "cluster")
    (tmp_path / "cluster").mkdir()
    cluster = runner.start()
    user_token = token("outage-user")
    user = {"Authorization": f"Bearer {user_token}"}
    try:
        httpx.post(
            f"{cluster.api}/admin/users/outage-user/credits",
            json={"amount": 1000},
            timeout=10,
            headers={"Authorization": f"Bearer {token('outage-admin', 'admin')}"},
        ).raise_for_status()
        project = httpx.post(f"{cluster.api}/projects", json={"projectName": "Outage"}, headers=user).json()["id"]
        poses = [p["id"] for p in httpx.get(f"{cluster.api}/library?limit=2", headers=user).json()["items"]]
        generation_ids = [
            httpx.post(
                f"{cluster.api}/generate",
                headers=user,
                timeout=10,
                json={
                    "projectId": project,
                    "selectedPoseIds": poses,
                    "steps": 6,
                    "width": 256,
                    "height": 256,
                },
            ).json()["generationId"]
            for _ in range(3)
        ]

        def detail(generation_id: str) -> dict:
            return httpx.get(f"{cluster.api}/generations/{generation_id}", headers=user, timeout=10).json()

        wait(lambda: detail(generation_ids[0])["posesCompleted"] >= 1, 120, "nothing ran before the outage")
        server.stop()
        wait(lambda: http_status(f"{cluster.gateway}/ready") == 503, 30, "gateway readiness did not fail")
        time.sleep(2)
        server.start()
        wait(lambda: http_status(f"{cluster.gateway}/ready") == 200, 60, "gateway readiness did not recover")
        finals = asyncio.run(final_events(cluster.relay, user_token, generation_ids, stop_after=240))
        assert finals == dict.fromkeys(generation_ids, "completed"), finals
        for generation_id in generation_ids:
            row = detail(generation_id)
            assert (row["status"], row["posesCompleted"], row["posesFailed"]) == ("completed", 2, 0)
        assert httpx.get(f"{cluster.api}/credits", headers=user).json()["balance"] == 1000 - 3 * 60
    finally:
        runner.stop()
