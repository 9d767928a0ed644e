"""One generation through the running cluster, from outside: HTTP in, WebSocket events, images out."""

import asyncio
import io
import json

import httpx
import psycopg
from PIL import Image
from websockets.asyncio.client import connect

from posegen.auth import mint_token

from .conftest import SECRET


def token(user_id: str, role: str = "user") -> str:
    return mint_token(user_id=user_id, role=role, secret=SECRET, algorithm="HS256")


def png(size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


async def follow(relay_url: str, user_token: str, start) -> tuple[str, list[dict]]:
    """Connect, authenticate by message as a browser does, start the generation, collect its events."""
    async with connect(relay_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user_token}))
        assert json.loads(await ws.recv())["event"] == "connected"
        generation_id = await asyncio.to_thread(start)
        events = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if message["event"] == "pose-generation-update" and message["data"]["generationId"] == generation_id:
                events.append(message["data"])
                if message["data"]["type"] in ("completed", "failed", "cancelled"):
                    return generation_id, events


def test_a_generation_end_to_end(cluster):
    user = token("e2e-user")
    with httpx.Client(base_url=cluster.api, timeout=30, headers={"Authorization": f"Bearer {user}"}) as http:
        granted = http.post(
            "/admin/users/e2e-user/credits",
            json={"amount": 100},
            headers={"Authorization": f"Bearer {token('e2e-admin', 'admin')}"},
        )
        assert granted.status_code == 200
        project = http.post("/projects", json={"projectName": "End to end"}).json()["id"]
        avatar = http.post(f"/projects/{project}/avatar", files={"file": ("me.png", png(), "image/png")})
        assert avatar.status_code == 200
        poses = [p["id"] for p in http.get("/library?limit=2").json()["items"]]
        health = http.get("/health").json()
        assert health["checks"]["workers"]["count"] >= 1

        def start() -> str:
            body = {"projectId": project, "selectedPoseIds": poses, "steps": 4, "width": 256, "height": 256, "seed": 3}
            response = http.post("/generate", json=body)
            assert response.status_code == 202, response.text
            return response.json()["generationId"]

        generation_id, events = asyncio.run(follow(cluster.relay, user, start))
        types = [e["type"] for e in events]
        assert types[-1] == "completed" and types.count("pose_completed") == 2
        assert types.count("progress") == 8
        for event in (e for e in events if e["type"] == "pose_completed"):
            image = httpx.get(event["imageUrl"], timeout=10)
            assert image.status_code == 200
            assert Image.open(io.BytesIO(image.content)).size == (256, 256)
            assert httpx.get(event["thumbnailUrl"], timeout=10).status_code == 200
        detail = http.get(f"/generations/{generation_id}").json()
        assert (detail["status"], detail["posesCompleted"], detail["progress"]["percentage"]) == ("completed", 2, 100.0)
        assert http.get("/credits").json()["balance"] == 40
        page = httpx.get(cluster.gateway + "/", timeout=10)
        assert page.status_code == 200 and "Pose Generator" in page.text
    with psycopg.connect(cluster.database_url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM generated_poses WHERE generation_id = %s GROUP BY status", (generation_id,)
        ).fetchall()
    assert rows == [("completed", 2)]


def test_the_cli_generates_with_live_progress(cluster):
    import os
    import subprocess
    import sys

    admin = token("cli-admin", "admin")
    httpx.post(
        f"{cluster.api}/admin/users/cli-user/credits",
        json={"amount": 1000},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    ).raise_for_status()
    env = {
        **os.environ,
        "POSEGEN_API_URL": cluster.gateway,
        "POSEGEN_RELAY_URL": cluster.relay,
        "POSEGEN_TOKEN": token("cli-user"),
        "COLUMNS": "120",
    }

    def posegen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "posegen_cli", *args], env=env, capture_output=True, text=True, timeout=300
        )

    listing = posegen("library", "--limit", "3", "--json")
    assert listing.returncode == 0, listing.stderr
    pose_ids = [json.loads(line)["id"] for line in listing.stdout.splitlines()][:2]
    assert len(pose_ids) == 2
    watched = posegen("generate", "--poses", ",".join(pose_ids), "--steps", "3", "--size", "256", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "completed" in watched.stdout
    urls = [line.split(": ", 1)[1] for line in watched.stdout.splitlines() if "/files/poses/" in line]
    assert len(urls) == 2 and all(httpx.get(url, timeout=10).status_code == 200 for url in urls)
    generation_id = watched.stdout.split("generation ", 1)[1].split(":", 1)[0]
    shown = posegen("status", generation_id)
    assert shown.returncode == 0 and "completed, 100%" in shown.stdout
