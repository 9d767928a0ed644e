import io
import time

from PIL import Image
from rq import Worker

from posegen.contracts import QUEUE_LIST_KEY, cancel_flag_key
from posegen.events import read_events
from posegen.queue import generation_queue
from posegen.storage import Storage


def start(client, gw, headers, user_id, project_id, pose_ids, n=2, credits=1000) -> str:
    gw.give_credits(user_id, credits)
    response = client.post(
        f"{gw.prefix}/generate", json={"projectId": project_id, "selectedPoseIds": pose_ids[:n]}, headers=headers
    )
    assert response.status_code == 202, response.text
    return response.json()["generationId"]


def complete_one_pose(gw, storage: Storage, generation_id: str, pose_id: str) -> None:
    """What a worker writes for one finished image (issue 4 does this for real)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 255)).save(buffer, format="PNG")
    storage.write(f"poses/{generation_id}/{pose_id}-0.png", buffer.getvalue())
    storage.write(f"poses/{generation_id}/{pose_id}-0.jpg", buffer.getvalue())
    gw.query(
        "WITH g AS (UPDATE generations SET status = 'processing', poses_completed = 1 WHERE id = %s RETURNING id)"
        " INSERT INTO generated_poses (id, generation_id, pose_id, variation_key, status, image_key, thumbnail_key,"
        " seed, prompt_used, generation_seconds) SELECT %s, id, %s, %s, 'completed', %s, %s, 7, 'p', 1.5 FROM g"
        " RETURNING id",
        (
            generation_id,
            f"gp-{generation_id}",
            pose_id,
            f"{pose_id}:0",
            f"poses/{generation_id}/{pose_id}-0.png",
            f"poses/{generation_id}/{pose_id}-0.jpg",
        ),
    )


def test_detail_shows_the_generation_with_progress(client, gw, headers, user_id, project_id, pose_ids):
    generation_id = start(client, gw, headers, user_id, project_id, pose_ids)
    body = client.get(f"{gw.prefix}/generations/{generation_id}", headers=headers).json()
    assert body["status"] == "queued" and body["selectedPoseIds"] == pose_ids[:2]
    assert body["progress"] == {
        "percentage": 0.0,
        "posesCompleted": 0,
        "posesFailed": 0,
        "posesTotal": 2,
        "currentPose": None,
        "currentStep": None,
        "estimatedSecondsRemaining": None,
    }
    listing = client.get(f"{gw.prefix}/generations?projectId={project_id}", headers=headers).json()
    assert [g["id"] for g in listing["items"]] == [generation_id]


def test_results_carry_signed_urls_that_serve_the_images(client, gw, headers, user_id, project_id, pose_ids):
    generation_id = start(client, gw, headers, user_id, project_id, pose_ids)
    complete_one_pose(gw, client.app.state.context.storage, generation_id, pose_ids[0])
    results = client.get(f"{gw.prefix}/generations/{generation_id}/results", headers=headers).json()["results"]
    assert len(results) == 1
    result = results[0]
    assert (result["poseId"], result["variationKey"], result["seed"], result["seconds"]) == (
        pose_ids[0],
        f"{pose_ids[0]}:0",
        7,
        1.5,
    )
    image = client.get(result["imageUrl"].removeprefix("http://testserver"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    detail = client.get(f"{gw.prefix}/generations/{generation_id}", headers=headers).json()
    assert detail["progress"]["posesCompleted"] == 1 and detail["progress"]["percentage"] == 50.0


def test_another_users_generation_is_404(client, gw, headers, user_id, project_id, pose_ids):
    generation_id = start(client, gw, headers, user_id, project_id, pose_ids)
    intruder = gw.auth("intruder")
    for method, path in (("GET", ""), ("GET", "/results"), ("POST", "/cancel")):
        response = client.request(method, f"{gw.prefix}/generations/{generation_id}{path}", headers=intruder)
        assert response.status_code == 404
    assert client.get(f"{gw.prefix}/generations", headers=intruder).json()["items"] == []


def test_cancel_of_a_queued_generation_refunds_everything(
    client, gw, headers, user_id, project_id, pose_ids, redis_client
):
    generation_id = start(client, gw, headers, user_id, project_id, pose_ids, n=3, credits=90)
    assert gw.balance(user_id) == 0
    response = client.post(f"{gw.prefix}/generations/{generation_id}/cancel", headers=headers).json()
    assert response == {
        "generationId": generation_id,
        "action": "cancelled",
        "status": "cancelled",
        "creditRefunded": 90,
    }
    assert gw.balance(user_id) == 90
    assert f"gen-{generation_id}".encode() not in redis_client.lrange(QUEUE_LIST_KEY, 0, -1)
    assert [e.type for e in read_events(redis_client, generation_id)] == ["queued", "cancelled"]
    again = client.post(f"{gw.prefix}/generations/{generation_id}/cancel", headers=headers).json()
    assert again["action"] == "already_finished" and again["creditRefunded"] == 90
    assert gw.balance(user_id) == 90, "a refund never happens twice"
    refunds = gw.query("SELECT count(*) AS n FROM credit_ledger WHERE user_id = %s AND type = 'refund'", (user_id,))
    assert refunds[0]["n"] == 3


def test_cancel_of_a_requeued_generation_refunds_only_unfinished_images(
    client, gw, headers, user_id, project_id, pose_ids
):
    generation_id = start(client, gw, headers, user_id, project_id, pose_ids, n=2, credits=60)
    complete_one_pose(gw, client.app.state.context.storage, generation_id, pose_ids[0])
    gw.query("UPDATE generations SET status = 'queued' WHERE id = %s RETURNING id", (generation_id,))
    response = client.post(f"{gw.prefix}/generations/{generation_id}/cancel", headers=headers).json()
    assert response["creditRefunded"] == 30 and gw.balance(user_id) == 30


def test_cancel_of_a_running_generation_flags_it_for_the_worker(
    client, gw, headers, user_id, project_id, pose_ids, redis_client
):
    generation_id = start(client, gw, headers, user_id, project_id, pose_ids)
    gw.query("UPDATE generations SET status = 'processing' WHERE id = %s RETURNING id", (generation_id,))
    response = client.post(f"{gw.prefix}/generations/{generation_id}/cancel", headers=headers).json()
    assert (response["action"], response["status"]) == ("cancel_requested", "processing")
    assert redis_client.get(cancel_flag_key(generation_id)) == b"1"
    [row] = gw.query("SELECT cancel_requested_at FROM generations WHERE id = %s", (generation_id,))
    assert row["cancel_requested_at"] is not None


def test_signed_urls_refuse_tampering_expiry_and_traversal(client, gw):
    storage, signer = client.app.state.context.storage, client.app.state.context.signer
    storage.write("poses/g/ok.png", b"\x89PNG fake")
    good = signer.url("poses/g/ok.png").removeprefix("http://testserver")
    assert client.get(good).status_code == 200
    assert client.get(good.replace("ok.png", "other.png")).status_code == 403
    assert client.get(good[:-4] + "0000").status_code == 403
    expired = signer.url("poses/g/ok.png", now=time.time() - 7200).removeprefix("http://testserver")
    assert client.get(expired).status_code == 403
    for key in ("../../etc/passwd", "poses/../../secret", "/etc/passwd", "poses/%2e%2e/x"):
        expires = int(time.time()) + 60
        url = f"{gw.prefix}/files/{key}?exp={expires}&sig={signer.signature(key, expires)}"
        assert client.get(url).status_code in (403, 404), key
    assert client.get(f"{gw.prefix}/files/poses/g/ok.png").status_code == 422


def test_comprehensive_health(client, redis_client):
    degraded = client.get("/api/apps/pose-generator/health")
    assert degraded.status_code == 503 and degraded.json()["status"] == "degraded"
    worker = Worker([generation_queue(redis_client)], connection=redis_client, name="health-probe")
    worker.register_birth()
    try:
        healthy = client.get("/api/apps/pose-generator/health")
        body = healthy.json()
        assert healthy.status_code == 200 and body["status"] == "healthy"
        assert body["app"] == "pose-generator" and body["checks"]["workers"] == {"count": 1}
        assert set(body["checks"]["queue"]["counts"]) == {"waiting", "active", "completed", "failed", "delayed"}
    finally:
        worker.register_death()


def test_health_routes_when_redis_is_down(make_client):
    client = make_client(redis_url="redis://127.0.0.1:1/0")
    assert client.get("/health").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["checks"] == {
        "database": True,
        "redis": False,
        "storage": {"backend": "local", "status": "connected"},
    }
    assert client.get("/api/health").status_code == 200
    health = client.get("/api/apps/pose-generator/health").json()
    assert health["status"] == "unhealthy" and health["checks"]["redis"]["status"] == "disconnected"
