"""History (GET /generations), the user's stats, and the admin views (which refuse non-admins)."""

from datetime import UTC, datetime

from .exports_support import finished_generation


def test_history_is_paged_filtered_and_has_thumbnails(client, gw, headers, user_id, project_id, pose_ids):
    done, _ = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=2)
    partial, _ = finished_generation(
        client, gw, headers, user_id, project_id, pose_ids, completed=1, failed=1, status="partial"
    )
    gw.give_credits(user_id, 30)
    body = {"projectId": project_id, "selectedPoseIds": pose_ids[:1]}
    queued = client.post(f"{gw.prefix}/generate", headers=headers, json=body).json()["generationId"]
    page = client.get(f"{gw.prefix}/generations?limit=2", headers=headers).json()
    assert [g["id"] for g in page["items"]] == [queued, partial]
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2, "hasMore": True}
    assert page["items"][0]["thumbnailUrl"] is None
    thumbnail = page["items"][1]["thumbnailUrl"]
    image = client.get(thumbnail.removeprefix("http://testserver"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    second = client.get(f"{gw.prefix}/generations?limit=2&page=2", headers=headers).json()
    assert [g["id"] for g in second["items"]] == [done] and not second["pagination"]["hasMore"]
    only = client.get(f"{gw.prefix}/generations?status=completed&projectId={project_id}", headers=headers).json()
    assert [g["id"] for g in only["items"]] == [done]
    assert client.get(f"{gw.prefix}/generations?status=lost", headers=headers).status_code == 422


def test_stats_count_the_users_generations_images_credits_and_poses(client, gw, headers, user_id, project_id, pose_ids):
    empty = client.get(f"{gw.prefix}/stats", headers=headers).json()
    assert empty["generations"] == 0 and empty["medianSecondsPerImage"] is None and empty["mostUsedPoses"] == []
    finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=3, failed=2, status="partial")
    finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=2)
    gw.query(
        "UPDATE generations SET credit_refunded = 60 WHERE user_id = %s AND status = 'partial' RETURNING id", (user_id,)
    )
    stats = client.get(f"{gw.prefix}/stats", headers=headers).json()
    assert stats["generations"] == 2
    assert stats["generationsByStatus"] == {
        "queued": 0,
        "processing": 0,
        "completed": 1,
        "partial": 1,
        "failed": 0,
        "cancelled": 0,
    }
    assert (stats["imagesMade"], stats["imagesFailed"]) == (5, 2)
    assert stats["creditsCharged"] == 30 * (5 + 2) and stats["creditsRefunded"] == 60
    # Seconds per image are 1, 2, 3 and 1, 2: the median is 2.
    assert stats["medianSecondsPerImage"] == 2.0
    top = stats["mostUsedPoses"]
    assert top[0]["poseId"] == pose_ids[0] and top[0]["images"] == 5 and top[0]["name"]
    other = client.get(f"{gw.prefix}/stats", headers=gw.auth("someone-else-stats")).json()
    assert other["imagesMade"] == 0


def test_admin_routes_refuse_non_admins(client, gw, headers):
    for path in ("/admin/users", "/admin/generations", "/admin/stats"):
        response = client.get(gw.prefix + path, headers=headers)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
        assert client.get(gw.prefix + path).status_code == 401


def test_admin_sees_users_generations_and_cluster_stats(client, gw, headers, user_id, project_id, pose_ids):
    generation_id, _ = finished_generation(
        client, gw, headers, user_id, project_id, pose_ids, completed=2, failed=1, status="partial"
    )
    gw.give_credits(user_id, 45)
    admin = gw.auth("the-admin", role="admin")
    users = client.get(f"{gw.prefix}/admin/users?limit=100", headers=admin).json()
    assert users["pagination"]["total"] >= 2
    mine = next(u for u in users["items"] if u["id"] == user_id)
    assert (mine["balance"], mine["generations"], mine["images"], mine["role"]) == (45, 1, 2, "user")
    assert datetime.fromisoformat(mine["lastActiveAt"]) > datetime.now(UTC).replace(year=2020)
    listed = client.get(f"{gw.prefix}/admin/generations?status=partial&userId={user_id}", headers=admin).json()
    assert [(g["id"], g["userId"]) for g in listed["items"]] == [(generation_id, user_id)]
    assert listed["items"][0]["thumbnailUrl"]
    none = client.get(f"{gw.prefix}/admin/generations?status=queued&userId={user_id}", headers=admin).json()
    assert none["items"] == []
    stats = client.get(f"{gw.prefix}/admin/stats?days=7", headers=admin).json()
    assert stats["days"] == 7 and len(stats["imagesPerDay"]) == 7
    today = stats["imagesPerDay"][-1]
    assert today["date"] == datetime.now(UTC).date().isoformat() and today["images"] >= 2 and today["failed"] >= 1
    assert stats["imagesMade"] >= 2 and 0 < stats["failureRate"] < 1
    assert stats["p50SecondsPerImage"] is not None and stats["p95SecondsPerImage"] >= stats["p50SecondsPerImage"]
    assert stats["queueDepth"] == stats["queue"]["waiting"] >= 0 and stats["workers"] >= 0
    assert client.get(f"{gw.prefix}/admin/stats?days=0", headers=admin).status_code == 422
