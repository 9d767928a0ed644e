"""Private poses and pose requests through the gateway: a private pose is in its owner's library and
generations and nowhere else (404 for others); an approved request becomes a public library pose, a
rejected one says why; the requester is told either way. On a database of this module's own."""

from __future__ import annotations

import pytest

from .support import Channel, photo

pytest.importorskip("mediapipe", reason="needs the extract extra and requirements/no-deps.txt")
pytest.importorskip("skimage")


@pytest.fixture
def extraction_id(client, gw, headers, extractor) -> str:
    accepted = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("a.png", photo("astronaut"), "image/png")}, headers=headers
    )
    extractor.drain()
    return accepted.json()["extractionId"]


def save(client, gw, headers, extraction_id, **fields):
    body = {"extractionId": extraction_id, "name": "Helmet at the hip", "category": "casual-lifestyle", **fields}
    return client.post(f"{gw.prefix}/poses", json=body, headers=headers)


def names(client, gw, headers, **params) -> dict[str, dict]:
    items = client.get(f"{gw.prefix}/library", params={"limit": 100, **params}, headers=headers).json()["items"]
    return {item["name"]: item for item in items}


def test_a_private_pose_is_in_its_owners_library_only(client, gw, headers, extraction_id):
    created = save(client, gw, headers, extraction_id, description="from a photo", tags=["Helmet", "space"])
    assert created.status_code == 201, created.text
    pose = created.json()
    assert pose["isPrivate"] is True and pose["sourceExtractionId"] == extraction_id
    assert pose["category"]["slug"] == "casual-lifestyle" and pose["tags"] == ["helmet", "space"]
    extracted = client.get(f"{gw.prefix}/poses/extract/{extraction_id}", headers=headers).json()
    assert pose["keypoints"] == extracted["keypoints"]

    mine = names(client, gw, headers, mine="true")
    assert list(mine) == ["Helmet at the hip"]
    listed = names(client, gw, headers, search="helmet")
    assert listed["Helmet at the hip"]["isPrivate"] is True
    assert not any(
        item["isPrivate"] for name, item in names(client, gw, headers).items() if name != "Helmet at the hip"
    )
    assert client.get(f"{gw.prefix}/library/{pose['id']}/skeleton.png", headers=headers).status_code == 200
    tree = client.get(f"{gw.prefix}/categories", headers=headers).json()["categories"]
    other_tree = client.get(f"{gw.prefix}/categories", headers=gw.auth("a-stranger")).json()["categories"]
    count = {c["slug"]: c["poseCount"] for c in tree}
    assert count["casual-lifestyle"] == {c["slug"]: c["poseCount"] for c in other_tree}["casual-lifestyle"] + 1

    stranger = gw.auth("a-stranger")
    assert "Helmet at the hip" not in names(client, gw, stranger, search="helmet")
    assert names(client, gw, stranger, mine="true") == {}
    for method, path in (
        ("GET", f"/library/{pose['id']}"),
        ("GET", f"/library/{pose['id']}/skeleton.png"),
        ("DELETE", f"/poses/{pose['id']}"),
    ):
        assert client.request(method, f"{gw.prefix}{path}", headers=stranger).status_code == 404, path
    renamed = client.put(f"{gw.prefix}/poses/{pose['id']}", json={"name": "Stolen"}, headers=stranger)
    assert renamed.status_code == 404


def test_only_the_owner_generates_with_a_private_pose(
    client, gw, headers, user_id, extraction_id, project_id, redis_client
):
    pose_id = save(client, gw, headers, extraction_id).json()["id"]
    gw.give_credits(user_id, 100)
    accepted = client.post(
        f"{gw.prefix}/generate", json={"projectId": project_id, "selectedPoseIds": [pose_id]}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    assert gw.balance(user_id) == 70
    assert redis_client.llen("rq:queue:pose-generation") >= 1

    stranger = gw.auth("thief")
    gw.give_credits("thief", 100)
    other_project = client.post(f"{gw.prefix}/projects", json={"projectName": "Theirs"}, headers=stranger).json()["id"]
    refused = client.post(
        f"{gw.prefix}/generate", json={"projectId": other_project, "selectedPoseIds": [pose_id]}, headers=stranger
    )
    assert refused.status_code == 404 and refused.json()["error"]["field"] == "selectedPoseIds"
    assert "unknown pose ids" in refused.json()["error"]["message"] and gw.balance("thief") == 100


def test_the_owner_edits_and_deletes_it(client, gw, headers, extraction_id):
    pose_id = save(client, gw, headers, extraction_id).json()["id"]
    updated = client.put(
        f"{gw.prefix}/poses/{pose_id}",
        json={"name": "Helmet held low", "category": "sports", "difficulty": "advanced"},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["category"]["slug"], updated.json()["difficulty"]) == (
        "Helmet held low",
        "sports",
        "advanced",
    )
    assert list(names(client, gw, headers, mine="true")) == ["Helmet held low"]
    bad = client.put(f"{gw.prefix}/poses/{pose_id}", json={"category": "no-such-category"}, headers=headers)
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "category"
    assert client.put(f"{gw.prefix}/poses/{pose_id}", json={"name": None}, headers=headers).status_code == 400
    assert client.delete(f"{gw.prefix}/poses/{pose_id}", headers=headers).status_code == 204
    assert client.get(f"{gw.prefix}/library/{pose_id}", headers=headers).status_code == 404
    assert names(client, gw, headers, mine="true") == {}
    assert client.delete(f"{gw.prefix}/poses/{pose_id}", headers=headers).status_code == 404


def test_library_poses_cannot_be_edited_or_deleted_here(client, gw, headers, pose_ids):
    assert client.put(f"{gw.prefix}/poses/{pose_ids[0]}", json={"name": "Mine"}, headers=headers).status_code == 404
    assert client.delete(f"{gw.prefix}/poses/{pose_ids[0]}", headers=headers).status_code == 404


def test_saving_needs_a_finished_extraction_a_known_category_and_a_free_name(client, gw, headers, extraction_id):
    assert save(client, gw, headers, extraction_id).status_code == 201
    again = save(client, gw, headers, extraction_id)
    assert again.status_code == 409 and again.json()["error"]["field"] == "name"
    unknown = save(client, gw, headers, extraction_id, name="Another", category="nope")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "category"
    short = save(client, gw, headers, extraction_id, name="ab")
    assert short.status_code == 422 and short.json()["error"]["field"] == "name"
    running = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("a.png", photo("camera"), "image/png")}, headers=headers
    ).json()["extractionId"]
    waiting = save(client, gw, headers, running, name="Too early")
    assert waiting.status_code == 409 and waiting.json()["error"]["field"] == "extractionId"


def test_a_pose_request_with_a_photo_is_approved_into_the_public_library(
    client, gw, headers, user_id, extractor, redis_url
):
    channel = Channel(redis_url, user_id)
    try:
        created = client.post(
            f"{gw.prefix}/pose-requests",
            data={"name": "Astronaut with helmet", "description": "holding the helmet like in this photo"},
            files={"file": ("a.png", photo("astronaut"), "image/png")},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        request = created.json()
        assert request["status"] == "pending" and request["extractionId"] and request["photoUrl"]
        extractor.drain()
        mine = client.get(f"{gw.prefix}/pose-requests", headers=headers).json()["items"]
        assert [(r["id"], r["status"], r["extractionStatus"]) for r in mine] == [
            (request["id"], "pending", "completed")
        ]

        admin = gw.auth("reviewer", role="admin")
        assert client.get(f"{gw.prefix}/admin/pose-requests", headers=headers).status_code == 403
        assert (
            client.post(
                f"{gw.prefix}/admin/pose-requests/{request['id']}/approve", json={"category": "sports"}, headers=headers
            ).status_code
            == 403
        )
        queue = client.get(f"{gw.prefix}/admin/pose-requests", headers=admin).json()["items"]
        assert request["id"] in [r["id"] for r in queue] and queue[0]["keypoints"]
        approved = client.post(
            f"{gw.prefix}/admin/pose-requests/{request['id']}/approve",
            json={"category": "fashion", "tags": ["helmet"]},
            headers=admin,
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved" and approved.json()["poseId"]
        event = channel.wait_for("pose_request_reviewed")
        assert (event["requestId"], event["status"], event["poseId"]) == (
            request["id"],
            "approved",
            approved.json()["poseId"],
        )
    finally:
        channel.close()
    stranger = gw.auth("anyone")
    public = client.get(f"{gw.prefix}/library/{approved.json()['poseId']}", headers=stranger)
    assert public.status_code == 200 and public.json()["isPrivate"] is False
    assert public.json()["category"]["slug"] == "fashion" and public.json()["name"] == "Astronaut with helmet"
    assert public.json()["keypoints"] == queue[0]["keypoints"]
    assert "Astronaut with helmet" in names(client, gw, stranger, search="astronaut")
    twice = client.post(f"{gw.prefix}/admin/pose-requests/{request['id']}/reject", json={"reason": "no"}, headers=admin)
    assert twice.status_code == 409


def test_a_rejected_request_tells_the_requester_why(client, gw, headers, user_id, redis_url):
    channel = Channel(redis_url, user_id)
    try:
        created = client.post(f"{gw.prefix}/pose-requests", json={"name": "Cartwheel"}, headers=headers).json()
        admin = gw.auth("reviewer", role="admin")
        no_photo = client.post(
            f"{gw.prefix}/admin/pose-requests/{created['id']}/approve", json={"category": "sports"}, headers=admin
        )
        assert no_photo.status_code == 409 and no_photo.json()["error"]["field"] == "extractionId"
        rejected = client.post(
            f"{gw.prefix}/admin/pose-requests/{created['id']}/reject",
            json={"reason": "the library has Mid-Air Jump"},
            headers=admin,
        )
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
        event = channel.wait_for("pose_request_reviewed")
        assert (event["status"], event["reason"]) == ("rejected", "the library has Mid-Air Jump")
    finally:
        channel.close()
    mine = client.get(f"{gw.prefix}/pose-requests/{created['id']}", headers=headers).json()
    assert (mine["status"], mine["reason"]) == ("rejected", "the library has Mid-Air Jump")
    assert client.get(f"{gw.prefix}/pose-requests/{created['id']}", headers=gw.auth("x")).status_code == 404


def test_pose_request_bodies(client, gw, headers, extraction_id):
    linked = client.post(
        f"{gw.prefix}/pose-requests",
        json={"name": "From my extraction", "extractionId": extraction_id},
        headers=headers,
    )
    assert linked.status_code == 201 and linked.json()["extractionStatus"] == "completed"
    others = client.post(
        f"{gw.prefix}/pose-requests", json={"name": "Not mine", "extractionId": extraction_id}, headers=gw.auth("x")
    )
    assert others.status_code == 404 and others.json()["error"]["field"] == "extractionId"
    assert client.post(f"{gw.prefix}/pose-requests", json={"name": "ab"}, headers=headers).status_code == 422
    assert client.post(f"{gw.prefix}/pose-requests", json={"nam": "typo"}, headers=headers).status_code == 422
    assert (
        client.post(
            f"{gw.prefix}/pose-requests", content=b"{", headers={**headers, "Content-Type": "application/json"}
        ).status_code
        == 422
    )
    text = client.post(f"{gw.prefix}/pose-requests", content=b"x", headers={**headers, "Content-Type": "text/plain"})
    assert text.status_code == 415
    bad_photo = client.post(
        f"{gw.prefix}/pose-requests",
        data={"name": "Broken"},
        files={"file": ("x.png", b"nope", "image/png")},
        headers=headers,
    )
    assert bad_photo.status_code == 400 and bad_photo.json()["error"]["field"] == "file"
