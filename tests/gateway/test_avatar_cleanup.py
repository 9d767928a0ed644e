"""Replaced avatars leave storage once nothing needs them: no project shows them and no unfinished generation
pinned them (against the real app, PostgreSQL, Redis and the local storage backend)."""

from __future__ import annotations

import io

import psycopg
from PIL import Image

from posegen_gateway.reconcile import Reconciler


def png_bytes(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), color).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client, gw, headers, project_id, color) -> str:
    files = {"file": ("me.png", png_bytes(color), "image/png")}
    response = client.post(f"{gw.prefix}/projects/{project_id}/avatar", files=files, headers=headers)
    assert response.status_code == 200, response.text
    [row] = gw.query("SELECT avatar_image FROM projects WHERE id = %s", (project_id,))
    return row["avatar_image"]


def sweep(client, redis_client) -> None:
    context = client.app.state.context
    Reconciler(pool=context.pool, connection=redis_client, publish=context.publish, storage=context.storage).run_once()


def test_a_replaced_avatar_is_deleted(client, gw, headers, project_id):
    storage = client.app.state.context.storage
    first = upload(client, gw, headers, project_id, (200, 0, 0))
    second = upload(client, gw, headers, project_id, (0, 200, 0))
    assert not storage.exists(first)
    assert storage.exists(second)
    assert gw.query("SELECT key FROM discarded_avatars WHERE key = %s", (first,)) == []


def test_an_avatar_pinned_by_an_unfinished_generation_waits_for_it(
    client, gw, headers, user_id, project_id, pose_ids, redis_client
):
    storage = client.app.state.context.storage
    gw.give_credits(user_id, 1000)
    pinned = upload(client, gw, headers, project_id, (200, 0, 0))
    body = {"projectId": project_id, "selectedPoseIds": pose_ids[:1], "identityStrength": 0.5}
    generation = client.post(f"{gw.prefix}/generate", json=body, headers=headers).json()["generationId"]
    upload(client, gw, headers, project_id, (0, 200, 0))
    assert storage.exists(pinned), "a queued generation still needs its avatar"
    sweep(client, redis_client)
    assert storage.exists(pinned)
    with psycopg.connect(gw.database_url, autocommit=True) as conn:
        conn.execute("UPDATE generations SET status = 'processing' WHERE id = %s", (generation,))
    sweep(client, redis_client)
    assert storage.exists(pinned), "a processing generation still needs its avatar"
    with psycopg.connect(gw.database_url, autocommit=True) as conn:
        conn.execute("UPDATE generations SET status = 'completed', completed_at = now() WHERE id = %s", (generation,))
    sweep(client, redis_client)
    assert not storage.exists(pinned)
    assert gw.query("SELECT key FROM discarded_avatars") == []


def test_the_sweep_finishes_a_deletion_that_was_cut_short(client, gw, headers, project_id, redis_client):
    """A gateway that died after committing the replacement but before deleting the old file: the record made
    in that transaction is what the reconciler works from."""
    storage = client.app.state.context.storage
    current = upload(client, gw, headers, project_id, (0, 0, 200))
    left_over = f"avatars/{project_id}/left-over.png"
    storage.write(left_over, png_bytes((1, 2, 3)))
    with psycopg.connect(gw.database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO discarded_avatars (key) VALUES (%s), (%s)", (left_over, current))
    sweep(client, redis_client)
    assert not storage.exists(left_over)
    assert storage.exists(current), "an avatar a project shows is never deleted"
    assert [r["key"] for r in gw.query("SELECT key FROM discarded_avatars")] == [current]
