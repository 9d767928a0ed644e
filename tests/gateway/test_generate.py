import json
import threading
import time
import zlib

import httpx
import pytest
import redis
import uvicorn
from rq.job import Job
from rq.serializers import JSONSerializer

from posegen.contracts import JOB_FUNCTION, QUEUE_LIST_KEY, event_stream_key
from posegen.events import EventPublisher, read_events
from posegen_cli.localrun import free_port
from posegen_gateway.app import create_app
from posegen_gateway.reconcile import Reconciler


def generate(client, gw, headers, project_id, **fields):
    return client.post(f"{gw.prefix}/generate", json={"projectId": project_id, **fields}, headers=headers)


def generations_of(gw, user_id):
    return gw.query("SELECT * FROM generations WHERE user_id = %s", (user_id,))


def test_accepted_generation_is_charged_recorded_and_enqueued(
    client, gw, headers, user_id, project_id, pose_ids, redis_client
):
    gw.give_credits(user_id, 500)
    response = generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:3], variationsPerPose=2, seed=42)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["posesTotal"] == 6 and body["creditCharged"] == 180
    assert body["queuePosition"] >= 1 and body["estimatedSeconds"] > 0
    assert response.headers["X-RateLimit-Limit"] == "1000"
    assert gw.balance(user_id) == 320
    [row] = generations_of(gw, user_id)
    assert (row["status"], row["seed"], row["credit_charged"], row["queue_job_id"]) == (
        "queued",
        42,
        180,
        f"gen-{row['id']}",
    )
    poses = gw.query("SELECT pose_id FROM generation_poses WHERE generation_id = %s ORDER BY position", (row["id"],))
    assert [p["pose_id"] for p in poses] == pose_ids[:3]
    ledger = gw.query(
        "SELECT amount, type, reference_id FROM credit_ledger WHERE user_id = %s AND type = 'usage'", (user_id,)
    )
    assert ledger == [{"amount": -180, "type": "usage", "reference_id": row["id"]}]
    job = Job.fetch(f"gen-{row['id']}", connection=redis_client, serializer=JSONSerializer)
    assert job.func_name == JOB_FUNCTION and list(job.args) == [row["id"]]
    assert f"gen-{row['id']}".encode() in redis_client.lrange(QUEUE_LIST_KEY, 0, -1)
    payload = json.loads(zlib.decompress(redis_client.hget(f"rq:job:gen-{row['id']}", "data")))
    assert payload[0] == JOB_FUNCTION, "the job payload is JSON naming the function, not a pickle"
    events = read_events(redis_client, row["id"])
    assert [e.type for e in events] == ["queued"]


def test_text_mode(client, gw, headers, user_id, project_id):
    gw.give_credits(user_id, 300)
    response = generate(
        client,
        gw,
        headers,
        project_id,
        generationType="TEXT_DESCRIPTION",
        textPrompt="a dancer mid-leap",
        variationCount=3,
    )
    assert response.status_code == 202, response.text
    assert response.json()["posesTotal"] == 3 and gw.balance(user_id) == 210


@pytest.mark.parametrize(
    "fields",
    [
        {"selectedPoseIds": []},
        {"selectedPoseIds": ["p"] * 51},
        {"variationsPerPose": 7},
        {"variationsPerPose": 0},
        {"width": 500},
        {"width": 192},
        {"height": 1088},
        {"steps": 0},
        {"steps": 51},
        {"guidanceScale": -1},
        {"seed": -5},
        {"prompt": "x" * 1001},
        {"generationType": "VIDEO"},
        {"generationType": "TEXT_DESCRIPTION"},
        {"generationType": "TEXT_DESCRIPTION", "textPrompt": "a dancer", "variationCount": 11},
        {"selectedPoseIds": None},
        {"surprise": True},
    ],
)
def test_invalid_requests_charge_nothing(client, gw, headers, user_id, project_id, pose_ids, fields):
    gw.give_credits(user_id, 10_000)
    body = {"selectedPoseIds": pose_ids[:1], **fields}
    response = generate(client, gw, headers, project_id, **body)
    assert response.status_code in (400, 422), response.text
    assert response.json()["success"] is False
    assert gw.balance(user_id) == 10_000 and not generations_of(gw, user_id)


def test_duplicate_and_unknown_pose_ids_are_refused_before_charging(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 1000)
    duplicate = generate(client, gw, headers, project_id, selectedPoseIds=[pose_ids[0], pose_ids[0]])
    assert duplicate.status_code == 422
    unknown = generate(client, gw, headers, project_id, selectedPoseIds=[pose_ids[0], "no-such-pose"])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["field"] == "selectedPoseIds"
    assert unknown.json()["error"]["details"]["unknown"] == ["no-such-pose"]
    assert gw.balance(user_id) == 1000 and not generations_of(gw, user_id)


def test_another_users_project_is_404(client, gw, user_id, project_id, pose_ids):
    gw.give_credits("thief", 1000)
    response = generate(client, gw, gw.auth("thief"), project_id, selectedPoseIds=pose_ids[:1])
    assert response.status_code == 404 and gw.balance("thief") == 1000


def test_short_balance_is_402_with_amounts(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 50)
    response = generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:2])
    assert response.status_code == 402
    assert response.json()["error"]["details"] == {"required": 60, "balance": 50}
    assert gw.balance(user_id) == 50 and not generations_of(gw, user_id)


def test_rate_limit_answers_429_with_headers(make_client, gw, headers, user_id, project_id, pose_ids):
    client = make_client(generate_rate_limit="2/min")
    gw.give_credits(user_id, 1000)
    statuses = [generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:1]) for _ in range(3)]
    assert [r.status_code for r in statuses] == [202, 202, 429]
    limited = statuses[2]
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert int(limited.headers["X-RateLimit-Reset"]) > time.time()
    assert statuses[1].headers["X-RateLimit-Remaining"] == "0"
    assert gw.balance(user_id) == 940
    other = generate(client, gw, gw.auth("someone-else"), project_id, selectedPoseIds=pose_ids[:1])
    assert other.status_code != 429, "the limit is per user"


@pytest.fixture
def live_gateway(make_settings):
    """The gateway under uvicorn on a real socket, so requests truly run in parallel."""
    port = free_port()
    settings = make_settings(database_pool_size=10)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, run_reconciler=False), port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_parallel_requests_never_overdraw(live_gateway, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 30)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def attempt() -> None:
        with httpx.Client(base_url=live_gateway, timeout=30) as http:
            barrier.wait()
            response = http.post(
                f"{gw.prefix}/generate",
                headers=headers,
                json={"projectId": project_id, "selectedPoseIds": pose_ids[:1]},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] + [402] * 7
    assert gw.balance(user_id) == 0
    assert len(generations_of(gw, user_id)) == 1


def test_redis_unreachable_is_an_error_and_charges_nothing(make_client, gw, headers, user_id, project_id, pose_ids):
    client = make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    gw.give_credits(user_id, 100)
    response = generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:1])
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
    assert gw.balance(user_id) == 100 and not generations_of(gw, user_id)


def test_a_committed_generation_is_202_even_when_every_extra_after_the_commit_fails(
    client, gw, headers, user_id, project_id, pose_ids, monkeypatch
):
    """Once the charge and the generation are committed the answer is 202: Redis gone (no job, no queued
    event) and PostgreSQL gone for the position and the estimate must not turn it into an error, which the
    client would retry and pay for twice. Seen under chaos (a PostgreSQL restart right after a commit)."""
    import psycopg

    from posegen.db import generations as generations_db

    def database_gone(**_):
        raise psycopg.OperationalError("terminating connection due to administrator command")

    gw.give_credits(user_id, 100)
    context = client.app.state.context
    context.estimates.discard(lambda _key: True)
    monkeypatch.setattr(generations_db, "queued_ahead", database_gone)
    monkeypatch.setattr(generations_db, "mean_seconds_per_image", database_gone)
    healthy = context.redis
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    context.redis, context.events = dead, EventPublisher(dead)
    try:
        response = generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:2], steps=4)
    finally:
        context.redis, context.events = healthy, EventPublisher(healthy)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["queuePosition"] is None and body["estimatedSeconds"] > 0
    assert gw.balance(user_id) == 40
    assert [row["status"] for row in generations_of(gw, user_id)] == ["queued"]
    cancelled = client.post(f"{gw.prefix}/generations/{body['generationId']}/cancel", headers=headers)
    assert cancelled.json()["action"] == "cancelled", "no job left for other tests' reconcilers"


def test_redis_dying_after_the_commit_leaves_a_queued_generation_the_reconciler_enqueues(
    client, gw, headers, user_id, project_id, pose_ids, redis_client
):
    gw.give_credits(user_id, 100)
    context = client.app.state.context
    healthy = context.redis
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    context.redis, context.events = dead, EventPublisher(dead)
    try:
        response = generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:2])
    finally:
        context.redis, context.events = healthy, EventPublisher(healthy)
    assert response.status_code == 202, response.text
    generation_id = response.json()["generationId"]
    assert gw.balance(user_id) == 40
    assert not redis_client.exists(f"rq:job:gen-{generation_id}")

    reconciler = Reconciler(pool=context.pool, connection=redis_client, publish=context.publish, grace_seconds=0)
    assert reconciler.run_once() == [generation_id]
    assert f"gen-{generation_id}".encode() in redis_client.lrange(QUEUE_LIST_KEY, 0, -1)
    assert reconciler.run_once() == [], "a live job is left alone"
    assert redis_client.xlen(event_stream_key(generation_id)) == 0


def test_the_reconciler_counts_a_started_job_as_live_only_while_its_lease_is_held(
    client, gw, headers, user_id, project_id, pose_ids, redis_client
):
    """A queued generation whose job RQ still says is started, with no lease (its worker died before taking
    it, or handed the generation back while Redis was down and could not re-enqueue it), is enqueued again;
    while a worker holds the lease it is left alone. Seen under chaos."""
    from rq import Queue
    from rq.job import JobStatus

    from posegen.contracts import QUEUE_NAME, generation_lease_key

    gw.give_credits(user_id, 100)
    generation_id = generate(client, gw, headers, project_id, selectedPoseIds=pose_ids[:1]).json()["generationId"]
    job = Job.fetch(f"gen-{generation_id}", connection=redis_client, serializer=JSONSerializer)
    Queue(QUEUE_NAME, connection=redis_client, serializer=JSONSerializer).remove(job)
    job.set_status(JobStatus.STARTED)
    context = client.app.state.context
    reconciler = Reconciler(pool=context.pool, connection=redis_client, publish=context.publish, grace_seconds=0)

    redis_client.set(generation_lease_key(generation_id), "a-live-worker", ex=30)
    assert reconciler.run_once() == [], "a worker holds it"
    redis_client.delete(generation_lease_key(generation_id))
    assert reconciler.run_once() == [generation_id]
    assert f"gen-{generation_id}".encode() in redis_client.lrange(QUEUE_LIST_KEY, 0, -1)
    assert reconciler.run_once() == []
