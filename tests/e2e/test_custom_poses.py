"""Poses from photos through the running cluster, from outside: a photo becomes a private pose (announced on
the WebSocket), the pose generates end to end (events, images, credits) for its owner and is invisible to
everyone else; a pose request is approved into the public library or rejected, and the requester is told."""

from __future__ import annotations

import asyncio
import io
import json
import time

import httpx
import numpy as np
import pytest
from PIL import Image
from websockets.asyncio.client import connect

from .test_cluster import token

pytest.importorskip("mediapipe", reason="needs the extract extra and requirements/no-deps.txt")
skimage_data = pytest.importorskip("skimage.data")


def photo(name: str) -> bytes:
    pixels = getattr(skimage_data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


async def watch(relay_url: str, user_token: str, act, until, timeout: float = 120) -> tuple[object, list[dict]]:
    """Connect as a browser does, run ``act`` (blocking, in a thread), collect updates until ``until(event,
    result)`` holds; return what ``act`` returned and the events."""
    async with connect(relay_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user_token}))
        assert json.loads(await ws.recv())["event"] == "connected"
        result = await asyncio.to_thread(act)
        events: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
            if message["event"] == "pose-generation-update":
                events.append(message["data"])
                if until(message["data"], result):
                    return result, events


def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s")


def test_a_photo_becomes_a_private_pose_that_generates_and_a_request_that_is_reviewed(cluster):
    owner_token, admin_token = token("photo-owner"), token("photo-admin", "admin")
    owner = httpx.Client(base_url=cluster.api, timeout=30, headers={"Authorization": f"Bearer {owner_token}"})
    admin = httpx.Client(base_url=cluster.api, timeout=30, headers={"Authorization": f"Bearer {admin_token}"})
    stranger = httpx.Client(base_url=cluster.api, timeout=30, headers={"Authorization": f"Bearer {token('nosy')}"})
    with owner, admin, stranger:
        wait_until(lambda: owner.get("/health").json()["checks"]["extractors"]["count"] >= 1, "an extractor")
        assert admin.post("/admin/users/photo-owner/credits", json={"amount": 100}).status_code == 200

        def upload(name: str):
            return lambda: owner.post("/poses/extract", files={"file": (f"{name}.jpg", photo(name), "image/jpeg")})

        accepted, events = asyncio.run(
            watch(
                cluster.relay,
                owner_token,
                upload("astronaut"),
                lambda e, r: e.get("extractionId") == r.json()["extractionId"],
            )
        )
        assert accepted.status_code == 202 and events[-1]["type"] == "pose_extracted"
        extraction_id = accepted.json()["extractionId"]
        extraction = owner.get(f"/poses/extract/{extraction_id}").json()
        assert extraction["status"] == "completed" and extraction["keypoints"] == events[-1]["keypoints"]
        assert httpx.get(events[-1]["overlayUrl"], timeout=10).status_code == 200

        empty, failed = asyncio.run(
            watch(
                cluster.relay,
                owner_token,
                upload("coins"),
                lambda e, r: e.get("extractionId") == r.json()["extractionId"],
            )
        )
        assert (failed[-1]["type"], failed[-1]["code"]) == ("pose_extraction_failed", "no_person")
        result = owner.get(f"/poses/extract/{empty.json()['extractionId']}").json()
        assert result["status"] == "failed"
        assert (result["error"]["code"], result["error"]["statusCode"]) == ("no_person", 422)

        pose = owner.post(
            "/poses",
            json={"extractionId": extraction_id, "name": "Helmet like the astronaut", "category": "casual-lifestyle"},
        )
        assert pose.status_code == 201, pose.text
        pose_id = pose.json()["id"]
        assert [p["id"] for p in owner.get("/library?mine=true").json()["items"]] == [pose_id]
        assert stranger.get(f"/library/{pose_id}").status_code == 404
        assert pose_id not in [p["id"] for p in stranger.get("/library?search=Helmet").json()["items"]]

        project = owner.post("/projects", json={"projectName": "From a photo"}).json()["id"]

        def start():
            body = {"projectId": project, "selectedPoseIds": [pose_id], "steps": 4, "width": 256, "height": 256}
            response = owner.post("/generate", json=body)
            assert response.status_code == 202, response.text
            return response.json()["generationId"]

        generation_id, generation = asyncio.run(
            watch(
                cluster.relay,
                owner_token,
                start,
                lambda e, r: e.get("generationId") == r and e["type"] in ("completed", "failed"),
            )
        )
        types = [e["type"] for e in generation if e.get("generationId") == generation_id]
        assert types[-1] == "completed" and types.count("pose_completed") == 1 and types.count("progress") == 4
        done = next(e for e in generation if e["type"] == "pose_completed")
        assert done["poseId"] == pose_id
        image = httpx.get(done["imageUrl"], timeout=10)
        assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (256, 256)
        assert owner.get("/credits").json()["balance"] == 70

        def request_with_photo():
            response = owner.post(
                "/pose-requests",
                data={"name": "Cameraman at the tripod (API)"},
                files={"file": ("c.jpg", photo("camera"), "image/jpeg")},
            )
            assert response.status_code == 201, response.text
            request_id = response.json()["id"]
            wait_until(
                lambda: owner.get(f"/pose-requests/{request_id}").json()["extractionStatus"] == "completed",
                "the request's photo extracted",
            )
            approved = admin.post(f"/admin/pose-requests/{request_id}/approve", json={"category": "professional"})
            assert approved.status_code == 200, approved.text
            return approved.json()

        approved, reviewed = asyncio.run(
            watch(cluster.relay, owner_token, request_with_photo, lambda e, r: e["type"] == "pose_request_reviewed")
        )
        assert (reviewed[-1]["status"], reviewed[-1]["poseId"]) == ("approved", approved["poseId"])
        public = stranger.get(f"/library/{approved['poseId']}")
        assert public.status_code == 200 and not public.json()["isPrivate"]

        def request_and_reject():
            request_id = owner.post("/pose-requests", json={"name": "Handstand on a chair"}).json()["id"]
            return admin.post(f"/admin/pose-requests/{request_id}/reject", json={"reason": "not safe"}).json()

        rejected, told = asyncio.run(
            watch(cluster.relay, owner_token, request_and_reject, lambda e, r: e.get("requestId") == r["id"])
        )
        assert (told[-1]["status"], told[-1]["reason"]) == ("rejected", "not safe")
