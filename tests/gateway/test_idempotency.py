"""``Idempotency-Key`` on ``POST /generate`` and on credit grants, against the real app, PostgreSQL and Redis."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest


def generate(client, gw, headers, project_id, pose_ids, key=None, **fields):
    extra = {"Idempotency-Key": key} if key is not None else {}
    body = {"projectId": project_id, "selectedPoseIds": pose_ids[:2], **fields}
    return client.post(f"{gw.prefix}/generate", json=body, headers={**headers, **extra})


def grant(client, gw, admin, user_id, amount, key=None, reason="bonus"):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        f"{gw.prefix}/admin/users/{user_id}/credits",
        json={"amount": amount, "reason": reason},
        headers={**admin, **extra},
    )


def generations_of(gw, user_id):
    return gw.query("SELECT id FROM generations WHERE user_id = %s", (user_id,))


def test_a_retry_after_a_lost_202_gets_the_same_generation_and_one_charge(
    client, gw, headers, user_id, project_id, pose_ids
):
    gw.give_credits(user_id, 1000)
    key = str(uuid.uuid4())
    first = generate(client, gw, headers, project_id, pose_ids, key)
    assert first.status_code == 202, first.text
    again = generate(client, gw, headers, project_id, pose_ids, key)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert [row["id"] for row in generations_of(gw, user_id)] == [first.json()["generationId"]]
    assert gw.balance(user_id) == 1000 - first.json()["creditCharged"]
    # Without a key, or with another one, a request is a new generation.
    assert generate(client, gw, headers, project_id, pose_ids).json()["generationId"] != first.json()["generationId"]
    other = generate(client, gw, headers, project_id, pose_ids, str(uuid.uuid4()))
    assert other.json()["generationId"] != first.json()["generationId"]
    assert len(generations_of(gw, user_id)) == 3


def test_the_same_key_with_another_body_is_422(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 1000)
    assert generate(client, gw, headers, project_id, pose_ids, "order-17").status_code == 202
    reused = generate(client, gw, headers, project_id, pose_ids, "order-17", seed=7)
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert (error["code"], error["field"], error["statusCode"]) == ("idempotency_key_reused", "Idempotency-Key", 422)
    assert len(generations_of(gw, user_id)) == 1


def test_keys_belong_to_a_user_and_expire_after_a_day(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 1000)
    first = generate(client, gw, headers, project_id, pose_ids, "shared-key")
    stranger = f"stranger-{uuid.uuid4().hex[:8]}"
    gw.give_credits(stranger, 1000)
    theirs = client.post(f"{gw.prefix}/projects", json={"projectName": "Theirs"}, headers=gw.auth(stranger)).json()
    other = generate(client, gw, gw.auth(stranger), theirs["id"], pose_ids, "shared-key")
    assert other.status_code == 202 and other.json()["generationId"] != first.json()["generationId"]
    with psycopg.connect(gw.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = %s", (user_id,)
        )
    later = generate(client, gw, headers, project_id, pose_ids, "shared-key", seed=3)
    assert later.status_code == 202 and later.json()["generationId"] != first.json()["generationId"]
    assert generate(client, gw, headers, project_id, pose_ids, "shared-key", seed=3).json() == later.json()


def test_a_failed_request_is_not_remembered(client, gw, headers, user_id, project_id, pose_ids):
    refused = generate(client, gw, headers, project_id, pose_ids, "retry-me")
    assert refused.status_code == 402
    gw.give_credits(user_id, 1000)
    assert generate(client, gw, headers, project_id, pose_ids, "retry-me").status_code == 202
    assert len(generations_of(gw, user_id)) == 1


@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9".encode()])
def test_malformed_keys_are_422(client, gw, headers, user_id, project_id, pose_ids, key):
    gw.give_credits(user_id, 1000)
    response = generate(client, gw, headers, project_id, pose_ids, key)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"
    admin = gw.auth(f"admin-{uuid.uuid4().hex[:8]}", role="admin")
    assert grant(client, gw, admin, user_id, 5, key).status_code == 422
    assert generations_of(gw, user_id) == []
    assert generate(client, gw, headers, project_id, pose_ids, "k" * 255).status_code == 202


def hold_user_row(gw, user_id):
    """A transaction of the test's own holding the user's row, so that requests that touch the balance wait."""
    conn = psycopg.connect(gw.database_url)
    conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
    return conn


def wait_for_lock_waiters(gw, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [row] = gw.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if row["n"] >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"{count} requests never waited on a lock together")


def test_concurrent_duplicates_make_one_generation(make_client, gw, headers, user_id, project_id, pose_ids):
    client = make_client(database_pool_size=8)
    gw.give_credits(user_id, 1000)
    holder = hold_user_row(gw, user_id)
    with ThreadPoolExecutor(4) as threads:
        futures = [
            threads.submit(generate, client, gw, headers, project_id, pose_ids, "double-click") for _ in range(4)
        ]
        wait_for_lock_waiters(gw, 4)
        holder.commit()
        responses = [future.result() for future in futures]
    holder.close()
    assert [r.status_code for r in responses] == [202] * 4
    assert len({r.json()["generationId"] for r in responses}) == 1
    assert len(generations_of(gw, user_id)) == 1
    assert gw.balance(user_id) == 1000 - responses[0].json()["creditCharged"]


def test_grants_are_idempotent_too(make_client, gw, user_id):
    client = make_client(database_pool_size=8)
    admin = gw.auth(f"admin-{uuid.uuid4().hex[:8]}", role="admin")
    gw.give_credits(user_id, 1)
    first = grant(client, gw, admin, user_id, 100, "grant-1")
    assert first.status_code == 200 and first.json()["balance"] == 101
    again = grant(client, gw, admin, user_id, 100, "grant-1")
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert gw.balance(user_id) == 101
    reused = grant(client, gw, admin, user_id, 200, "grant-1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    holder = hold_user_row(gw, user_id)
    with ThreadPoolExecutor(3) as threads:
        futures = [threads.submit(grant, client, gw, admin, user_id, 50, "grant-2") for _ in range(3)]
        wait_for_lock_waiters(gw, 3)
        holder.commit()
        responses = [future.result() for future in futures]
    holder.close()
    assert [r.status_code for r in responses] == [200] * 3
    assert {r.json()["balance"] for r in responses} == {151}
    assert gw.balance(user_id) == 151
    grants = gw.query("SELECT amount FROM credit_ledger WHERE user_id = %s AND type = 'grant'", (user_id,))
    assert sorted(g["amount"] for g in grants) == [1, 50, 100]


def test_the_openapi_document_shows_the_header(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/apps/pose-generator/generate", "/api/apps/pose-generator/admin/users/{user_id}/credits"):
        [parameter] = [p for p in paths[path]["post"]["parameters"] if p["in"] == "header"]
        assert parameter["name"] == "Idempotency-Key" and not parameter.get("required")
        assert parameter["schema"]["maxLength"] == 255
        assert "422" in paths[path]["post"]["responses"]
