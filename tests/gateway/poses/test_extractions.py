"""Poses from photos through the gateway: the upload is checked and queued, a real extractor works the real
queue, the result is polled and announced; private poses are their owner's alone, in the library and in
POST /generate. The module runs on a database of its own, so its poses never reach the other tests."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from posegen.poses.render import render_skeleton_png

from .support import photo

pytest.importorskip("mediapipe", reason="needs the extract extra and requirements/no-deps.txt")
pytest.importorskip("skimage")


def extract(client, gw, headers, extractor, data: bytes) -> tuple[str, object]:
    accepted = client.post(f"{gw.prefix}/poses/extract", files={"file": ("p.png", data, "image/png")}, headers=headers)
    assert accepted.status_code == 202, accepted.text
    extraction_id = accepted.json()["extractionId"]
    extractor.drain()
    return extraction_id, client.get(f"{gw.prefix}/poses/extract/{extraction_id}", headers=headers)


def test_a_photo_becomes_an_extraction_an_extractor_completes(client, gw, headers, extractor, channel):
    accepted = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("a.png", photo("astronaut"), "image/png")}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "queued" and body["statusUrl"].endswith(f"/poses/extract/{body['extractionId']}")
    pending = client.get(f"{gw.prefix}/poses/extract/{body['extractionId']}", headers=headers)
    assert pending.status_code == 200 and pending.json()["status"] == "queued" and pending.json()["keypoints"] is None
    assert gw.query(
        "SELECT photo_width, photo_height FROM pose_extractions WHERE id = %s", (body["extractionId"],)
    ) == [{"photo_width": 512, "photo_height": 512}]

    extractor.drain()
    done = client.get(f"{gw.prefix}/poses/extract/{body['extractionId']}", headers=headers)
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["status"] == "completed" and (result["peopleCount"], result["chosenPerson"]) == (1, 0)
    assert len(result["keypoints"]) == 18 and len(result["people"]) == 1
    nose, l_shoulder, r_shoulder = (result["imageKeypoints"][i] for i in (0, 5, 2))
    assert 160 <= nose[0] * 512 <= 300 and l_shoulder[0] > r_shoulder[0] and 0.5 <= nose[2] <= 1
    assert 0 < result["seconds"] < 30
    skeleton = client.get(result["skeletonUrl"].removeprefix("http://testserver"))
    assert skeleton.status_code == 200
    assert skeleton.content == render_skeleton_png(result["keypoints"], 512, 512), "the library's drawing code"
    overlay = client.get(result["overlayUrl"].removeprefix("http://testserver"))
    assert Image.open(io.BytesIO(overlay.content)).size == (512, 512)
    uploaded = Image.open(io.BytesIO(client.get(result["photoUrl"].removeprefix("http://testserver")).content))
    assert uploaded.format == "JPEG" and not uploaded.info.get("exif")

    event = channel.wait_for("pose_extracted")
    assert event["extractionId"] == body["extractionId"] and "generationId" not in event
    assert event["keypoints"] == result["keypoints"] and event["peopleCount"] == 1


def test_a_photo_without_a_person_is_a_422_for_its_extraction(client, gw, headers, extractor, channel):
    extraction_id, response = extract(client, gw, headers, extractor, photo("coins"))
    assert response.status_code == 200, "the request succeeds; the extraction says it found nobody"
    result = response.json()
    assert (result["status"], result["extractionId"]) == ("failed", extraction_id)
    error = result["error"]
    assert (error["code"], error["statusCode"]) == ("no_person", 422) and "no person" in error["message"]
    event = channel.wait_for("pose_extraction_failed")
    assert (event["code"], event["statusCode"], event["extractionId"]) == ("no_person", 422, extraction_id)
    saved = client.post(
        f"{gw.prefix}/poses",
        json={"extractionId": extraction_id, "name": "Coins", "category": "casual-lifestyle"},
        headers=headers,
    )
    assert saved.status_code == 409 and saved.json()["error"]["field"] == "extractionId"


def truncated_png() -> bytes:
    return photo("astronaut")[:5000]


def bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        (b"not an image at all", 400, "not a readable"),
        (truncated_png(), 400, "corrupt"),
        (bomb(), 400, "pixels"),
        (b"GIF89a" + b"\x00" * 64, 400, "not a readable"),
        (b"\x89PNG" + b"0" * (11 * 1024 * 1024), 413, "larger"),
    ],
    ids=["text", "truncated", "decompression-bomb", "gif", "too-large"],
)
def test_bad_uploads_are_refused_as_avatars_are_and_nothing_is_queued(
    client, gw, headers, redis_client, payload, status, words
):
    before = redis_client.llen("rq:queue:pose-extraction")
    response = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("x.png", payload, "image/png")}, headers=headers
    )
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    assert redis_client.llen("rq:queue:pose-extraction") == before


def test_the_upload_must_be_multipart(client, gw, headers):
    raw = client.post(f"{gw.prefix}/poses/extract", content=b"raw", headers={**headers, "Content-Type": "image/png"})
    assert raw.status_code == 415
    no_file = client.post(f"{gw.prefix}/poses/extract", files={"other": ("a.png", b"x", "image/png")}, headers=headers)
    assert no_file.status_code == 400 and no_file.json()["error"]["field"] == "file"


def test_one_bad_photo_never_blocks_the_queue(client, gw, headers, extractor, make_settings):
    """A photo that breaks the detector (here: its stored file is damaged after the upload) fails only its
    own extraction; the next photo in the queue completes."""
    from posegen.storage import LocalStorage

    first = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("a.png", photo("astronaut"), "image/png")}, headers=headers
    ).json()["extractionId"]
    second = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("b.png", photo("camera"), "image/png")}, headers=headers
    ).json()["extractionId"]
    LocalStorage(make_settings().storage_dir).write(f"extractions/{first}/photo.jpg", b"\xff\xd8 damaged")
    extractor.drain()
    broken = client.get(f"{gw.prefix}/poses/extract/{first}", headers=headers)
    assert broken.status_code == 200 and broken.json()["status"] == "failed"
    assert (broken.json()["error"]["code"], broken.json()["error"]["statusCode"]) == ("error", 500)
    assert client.get(f"{gw.prefix}/poses/extract/{second}", headers=headers).json()["status"] == "completed"


def test_an_extraction_that_never_finishes_times_out(client, gw, headers, channel, redis_client):
    accepted = client.post(
        f"{gw.prefix}/poses/extract", files={"file": ("a.png", photo("astronaut"), "image/png")}, headers=headers
    )
    extraction_id = accepted.json()["extractionId"]
    redis_client.delete("rq:queue:pose-extraction")  # its extractor died with the job
    gw.query(
        "UPDATE pose_extractions SET created_at = now() - interval '10 minutes' WHERE id = %s RETURNING id",
        (extraction_id,),
    )
    response = client.get(f"{gw.prefix}/poses/extract/{extraction_id}", headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "failed"
    assert (response.json()["error"]["code"], response.json()["error"]["statusCode"]) == ("timeout", 504)
    assert channel.wait_for("pose_extraction_failed")["code"] == "timeout"


def test_another_users_extraction_is_404(client, gw, headers, extractor):
    extraction_id, _ = extract(client, gw, headers, extractor, photo("astronaut"))
    other = gw.auth("someone-else")
    assert client.get(f"{gw.prefix}/poses/extract/{extraction_id}", headers=other).status_code == 404
    saved = client.post(
        f"{gw.prefix}/poses",
        json={"extractionId": extraction_id, "name": "Mine now", "category": "casual-lifestyle"},
        headers=other,
    )
    assert saved.status_code == 404 and saved.json()["error"]["field"] == "extractionId"


def test_extractions_are_rate_limited_per_user(make_client, gw, user_id):
    client = make_client(extract_rate_limit="2/min")
    headers = gw.auth(user_id)
    codes = [
        client.post(f"{gw.prefix}/poses/extract", files={"file": ("a.png", b"x", "image/png")}, headers=headers)
        for _ in range(3)
    ]
    assert [c.status_code for c in codes] == [400, 400, 429]
    assert int(codes[-1].headers["Retry-After"]) >= 1
