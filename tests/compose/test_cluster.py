"""The compose file, built and started for real (`make test-compose`): the project's images from their
Dockerfiles, the CPU profile on the host's network, driven only through the edge on port 3000 as a user
would: a project with an avatar, a generation followed live by the seed's socket.io-client script, its results
and a ZIP export downloaded; then two workers sharing the queue (`--scale worker-cpu=2`) and a
`docker compose restart` that loses nothing."""

from __future__ import annotations

import io
import os
import secrets
import time
import uuid
import zipfile

import httpx
import psycopg
import pytest
from PIL import Image

from posegen.auth import mint_token

from ..conftest import edge_config
from ..e2e.test_seed_client import SCRIPT, NodeScript
from .compose import Compose

EDGE = "http://127.0.0.1:3000"
API = f"{EDGE}/api/apps/pose-generator"
GATEWAY_PORT = 3100
# The first test's setup builds every image from nothing (minutes on two cores).
pytestmark = pytest.mark.timeout(1800)
SERVICES = {"postgres", "redis", "seaweedfs", "migrate", "gateway", "relay", "extractor", "worker-cpu", "edge"}


@pytest.fixture(scope="module")
def cluster(fresh_database_url, claim_redis_db, tmp_path_factory):
    database_url, redis_url = fresh_database_url(), claim_redis_db()
    folder = tmp_path_factory.mktemp("compose")
    (folder / "edge.conf").write_text(
        edge_config(listen=3000, gateway=f"gateway:{GATEWAY_PORT}", relays=["relay:3001"])
    )
    secret = secrets.token_urlsafe(48)
    compose = Compose(
        f"posegen-test-{uuid.uuid4().hex[:6]}",
        {
            **os.environ,
            "COMPOSE_DATABASE_URL": database_url,
            "COMPOSE_REDIS_URL": redis_url,
            "JWT_SECRET": secret,
            "GATEWAY_PORT": str(GATEWAY_PORT),
            "EDGE_CONF": str(folder / "edge.conf"),
        },
    )
    compose("build")
    try:
        compose("up", "-d")
        compose.wait_healthy()
        yield Cluster(compose, secret, database_url)
    except BaseException:
        print(compose.logs(tail=200))
        raise
    finally:
        compose("down", "--volumes", "--remove-orphans", "--timeout", "30")


class Cluster:
    def __init__(self, compose: Compose, secret: str, database_url: str) -> None:
        self.compose, self.secret, self.database_url = compose, secret, database_url

    def client(self, user: str, role: str = "user") -> httpx.Client:
        token = mint_token(user_id=user, role=role, secret=self.secret, algorithm="HS256")
        return httpx.Client(base_url=API, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def user(self, credits: int = 600) -> tuple[str, httpx.Client]:
        user = f"compose-{uuid.uuid4().hex[:8]}"
        with self.client("compose-admin", "admin") as admin:
            admin.post(f"/admin/users/{user}/credits", json={"amount": credits}).raise_for_status()
        return user, self.client(user)

    def generate(self, http: httpx.Client, project: str, poses: int = 1, steps: int = 3) -> str:
        pose_ids = [p["id"] for p in http.get(f"/library?limit={poses}").json()["items"]]
        body = {"projectId": project, "selectedPoseIds": pose_ids, "steps": steps, "width": 256, "height": 256}
        response = http.post("/generate", json=body)
        assert response.status_code == 202, response.text
        return response.json()["generationId"]

    def wait_finished(self, http: httpx.Client, generation: str, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = http.get(f"/generations/{generation}").json()
            if body["status"] in ("completed", "partial", "failed", "cancelled"):
                return body
            time.sleep(1)
        raise AssertionError(f"generation {generation} still {body['status']} after {timeout} s")

    def worker_names(self, generations: list[str]) -> set[str]:
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute("SELECT worker_name FROM generations WHERE id = ANY(%s)", (generations,)).fetchall()
        return {name for (name,) in rows}


def png(size=(64, 64), colour=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_service_is_up_healthy_and_not_root(cluster):
    containers = cluster.compose.wait_healthy(60)
    assert {c.service for c in containers} == SERVICES
    for service in ("gateway", "relay", "extractor", "worker-cpu"):
        assert cluster.compose.exec(service, "id", "-u").strip() == "10001", service
        # Every image once shipped empty __init__.py files from its dependency layer's stubs.
        version = cluster.compose.exec(service, "python", "-c", "import posegen; print(posegen.__version__)")
        assert version.strip() == __import__("posegen").__version__, service
    assert httpx.get(f"{EDGE}/health", timeout=10).status_code == 200
    with cluster.client("compose-admin", "admin") as admin:
        assert admin.get("/library?limit=1").json()["items"], "the migrate service seeded the pose library"


def test_the_edge_does_not_publish_metrics(cluster):
    assert httpx.get(f"{EDGE}/metrics", timeout=10).status_code == 404


def test_a_generation_through_the_edge_live_to_its_images_and_zip(cluster, node_client_dir):
    user, http = cluster.user()
    with http:
        project = http.post("/projects", json={"projectName": "Compose"}).json()["id"]
        avatar = http.post(f"/projects/{project}/avatar", files={"file": ("me.png", png(), "image/png")})
        assert avatar.status_code == 200, avatar.text
        script = node_client_dir / f"test-websocket-{user}.js"
        token = http.headers["Authorization"].removeprefix("Bearer ")
        script.write_text(SCRIPT.read_text().replace("http://localhost:3000", EDGE).replace("YOUR_JWT_TOKEN", token))
        node = NodeScript(script)
        try:
            node.wait_for(f"userId: '{user}'")
            generation = cluster.generate(http, project, poses=2)
            output = node.wait_for("type: 'completed'", timeout=240)
        finally:
            node.stop()
            script.unlink()
        assert f"generationId: '{generation}'" in output
        assert cluster.wait_finished(http, generation)["status"] == "completed"

        results = http.get(f"/generations/{generation}/results").json()
        urls = [image["imageUrl"] for image in results["results"]]
        assert len(urls) == 2
        for url in urls:
            image = httpx.get(url, timeout=30, follow_redirects=True)  # a signed URL of the object store
            assert image.status_code == 200, url
            assert Image.open(io.BytesIO(image.content)).size == (256, 256)

        export = http.get(f"/generations/{generation}/export?formats=instagram_feed")
        assert export.status_code == 200, export.text
        names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
        assert "manifest.json" in names and sum(n.endswith((".jpg", ".png")) for n in names) == 2


def test_two_workers_share_the_queue(cluster):
    cluster.compose("up", "-d", "--scale", "worker-cpu=2", "--no-recreate")
    workers = [c for c in cluster.compose.wait_healthy() if c.service == "worker-cpu"]
    assert len(workers) == 2
    generations, clients = [], []
    for _ in range(2):  # two users: each may start 5 generations a minute
        _, http = cluster.user(credits=2400)
        project = http.post("/projects", json={"projectName": "Two workers"}).json()["id"]
        generations += [(http, cluster.generate(http, project, poses=2, steps=12)) for _ in range(3)]
        clients.append(http)
    assert all(cluster.wait_finished(http, g)["status"] == "completed" for http, g in generations)
    for http in clients:
        http.close()
    names = cluster.worker_names([g for _, g in generations])
    assert len(names) == 2, f"both workers took generations from the one queue: {names}"


def test_restart_loses_nothing(cluster):
    user, http = cluster.user()
    with http:
        project = http.post("/projects", json={"projectName": "Before the restart"}).json()["id"]
        before = cluster.generate(http, project)
        assert cluster.wait_finished(http, before)["status"] == "completed"
        balance = http.get("/credits").json()
    cluster.compose("restart", timeout=900)
    cluster.compose.wait_healthy()
    with cluster.client(user) as http:
        assert http.get("/credits").json() == balance
        for image in http.get(f"/generations/{before}/results").json()["results"]:
            assert httpx.get(image["imageUrl"], timeout=30, follow_redirects=True).status_code == 200
        after = cluster.generate(http, project)
        assert cluster.wait_finished(http, after)["status"] == "completed"
