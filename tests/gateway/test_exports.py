"""Downloads: GET /formats, one image in one format, and the ZIP of a generation with its manifest."""

import io
from pathlib import Path

import pytest
from PIL import Image
from prometheus_client import generate_latest

from posegen.exports.formats import FORMATS, KEYS
from posegen.recipe import PNG_KEY

from .exports_support import finished_generation, read_zip


def metric(client, fmt: str, source: str) -> float:
    text = generate_latest(client.app.state.context.metrics.registry).decode()
    prefix = f'posegen_gateway_export_renditions_total{{format="{fmt}",source="{source}"}} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def test_formats_lists_the_table(client, headers, gw):
    body = client.get(f"{gw.prefix}/formats", headers=headers).json()
    assert [f["key"] for f in body["formats"]] == list(KEYS) and body["default"] == "original"
    story = body["formats"][0]
    assert story == {
        "key": "instagram_story",
        "label": "Instagram Story",
        "width": 1080,
        "height": 1920,
        "fileType": "jpeg",
        "mediaType": "image/jpeg",
        "extension": "jpg",
        "quality": 90,
        "dpi": None,
    }
    a4 = next(f for f in body["formats"] if f["key"] == "print_a4")
    assert (a4["width"], a4["height"], a4["fileType"], a4["dpi"]) == (2480, 3508, "png", 300)
    assert client.get(f"{gw.prefix}/formats").status_code == 401


def test_zip_holds_the_completed_images_with_a_matching_manifest(client, gw, headers, user_id, project_id, pose_ids):
    generation_id, made = finished_generation(
        client, gw, headers, user_id, project_id, pose_ids, completed=3, failed=2, status="partial"
    )
    response = client.get(
        f"{gw.prefix}/generations/{generation_id}/export?formats=instagram_feed,print_4x6,original", headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="posegen-{generation_id[:8]}.zip"' in response.headers["content-disposition"]
    archive, manifest = read_zip(response.content)
    assert manifest["generationId"] == generation_id and manifest["status"] == "partial"
    assert manifest["formats"] == ["instagram_feed", "print_4x6", "original"] and manifest["imageCount"] == 3
    files = manifest["files"]
    assert len(files) == 9 and manifest["missing"] == []
    assert sorted(archive.namelist()) == sorted([f["path"] for f in files] + ["manifest.json"])
    by_result = {m["id"]: m for m in made}
    pose_names = {r["id"]: r["name"] for r in gw.query("SELECT id, name FROM poses WHERE id = ANY(%s)", (pose_ids,))}
    for entry in files:
        source = by_result[entry["resultId"]]  # the failed images are absent
        assert (entry["seed"], entry["variationKey"], entry["poseId"]) == (
            source["seed"],
            source["variation_key"],
            source["pose_id"],
        )
        assert entry["poseName"] == pose_names[source["pose_id"]] and entry["prompt"].startswith("prompt ")
        assert entry["variation"] == int(source["variation_key"].split(":")[1]) + 1
        with Image.open(io.BytesIO(archive.read(entry["path"]))) as image:
            assert image.size == (entry["width"], entry["height"])
            assert image.format == entry["fileType"].upper()
        if entry["format"] == "original":
            storage = client.app.state.context.storage
            assert archive.read(entry["path"]) == storage.read(source["image_key"])  # as generated, with its recipe
            assert Image.open(io.BytesIO(archive.read(entry["path"]))).text[PNG_KEY].startswith("p")
    assert {(e["width"], e["height"]) for e in files if e["format"] == "instagram_feed"} == {(1080, 1080)}
    assert {(e["width"], e["height"]) for e in files if e["format"] == "original"} == {(256, 256)}


def test_original_is_the_default_and_a_cancelled_generation_has_only_what_was_made(
    client, gw, headers, user_id, project_id, pose_ids
):
    generation_id, made = finished_generation(
        client, gw, headers, user_id, project_id, pose_ids, completed=1, status="cancelled"
    )
    archive, manifest = read_zip(client.get(f"{gw.prefix}/generations/{generation_id}/export", headers=headers).content)
    assert [f["format"] for f in manifest["files"]] == ["original"] and manifest["status"] == "cancelled"
    assert [f["resultId"] for f in manifest["files"]] == [made[0]["id"]]


def test_a_second_request_serves_the_stored_renditions(client, gw, headers, user_id, project_id, pose_ids):
    generation_id, made = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=2)
    url = f"{gw.prefix}/generations/{generation_id}/export?formats=tiktok,facebook_post"
    first = client.get(url, headers=headers)
    assert (metric(client, "tiktok", "rendered"), metric(client, "tiktok", "stored")) == (2, 0)
    second = client.get(url, headers=headers)
    assert (metric(client, "tiktok", "rendered"), metric(client, "tiktok", "stored")) == (2, 2)
    assert metric(client, "facebook_post", "rendered") == 2 and metric(client, "facebook_post", "stored") == 2
    a, b = read_zip(first.content)[0], read_zip(second.content)[0]
    assert [a.read(n) for n in a.namelist() if n != "manifest.json"] == [
        b.read(n) for n in b.namelist() if n != "manifest.json"
    ]
    single = client.get(
        f"{gw.prefix}/generations/{generation_id}/results/{made[0]['id']}/export/tiktok", headers=headers
    )
    assert metric(client, "tiktok", "rendered") == 2 and metric(client, "tiktok", "stored") == 3
    assert single.content in [a.read(n) for n in a.namelist()]


@pytest.mark.parametrize("key", ["print_a4", "linkedin_post", "original"])
def test_one_image_in_one_format(client, gw, headers, user_id, project_id, pose_ids, key):
    generation_id, made = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=1)
    response = client.get(
        f"{gw.prefix}/generations/{generation_id}/results/{made[0]['id']}/export/{key}", headers=headers
    )
    assert response.status_code == 200, response.text
    fmt = FORMATS[key]
    assert response.headers["content-type"] == fmt.media_type
    assert response.headers["content-disposition"].endswith(f'_{key}.{fmt.extension}"')
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == fmt.size_for(256, 256)


def test_unknown_formats_are_422_listing_the_valid_keys(client, gw, headers, user_id, project_id, pose_ids):
    generation_id, made = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=1)
    for url in (
        f"/generations/{generation_id}/export?formats=tiktok,poster",
        f"/generations/{generation_id}/export?formats=",
        f"/generations/{generation_id}/results/{made[0]['id']}/export/poster",
    ):
        response = client.get(gw.prefix + url, headers=headers)
        assert response.status_code == 422, url
        error = response.json()["error"]
        assert error["details"]["validFormats"] == list(KEYS)
        assert "instagram_story, instagram_feed" in error["message"]


def test_another_users_generation_or_result_is_404(client, gw, headers, user_id, project_id, pose_ids):
    generation_id, made = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=1)
    intruder = gw.auth("intruder-exports")
    result = f"{gw.prefix}/generations/{generation_id}/results/{made[0]['id']}/export/tiktok"
    for url in (f"{gw.prefix}/generations/{generation_id}/export", result):
        response = client.get(url, headers=intruder)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    other_id, _ = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=1)
    wrong_pair = f"{gw.prefix}/generations/{other_id}/results/{made[0]['id']}/export/tiktok"
    assert client.get(wrong_pair, headers=headers).status_code == 404
    assert client.get(f"{gw.prefix}/generations/nope/export", headers=headers).status_code == 404


def test_an_image_no_longer_stored_is_listed_as_missing_not_a_broken_zip(
    client, gw, headers, user_id, project_id, pose_ids
):
    generation_id, made = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=2)
    storage_root = client.app.state.context.settings.storage_dir
    Path(storage_root, made[1]["image_key"]).unlink()  # lost outside the service (the local backend's folder)
    response = client.get(f"{gw.prefix}/generations/{generation_id}/export?formats=tiktok", headers=headers)
    archive, manifest = read_zip(response.content)
    assert [f["resultId"] for f in manifest["files"]] == [made[0]["id"]]
    assert manifest["missing"] == [{"resultId": made[1]["id"], "format": "tiktok", "reason": "the image is not stored"}]
    single = client.get(
        f"{gw.prefix}/generations/{generation_id}/results/{made[1]['id']}/export/original", headers=headers
    )
    assert single.status_code == 404 and single.json()["error"]["message"] == "the image is no longer stored"


def test_a_running_generation_exports_what_is_finished(client, gw, headers, user_id, project_id, pose_ids):
    generation_id, made = finished_generation(
        client, gw, headers, user_id, project_id, pose_ids, completed=1, status="processing"
    )
    archive, manifest = read_zip(client.get(f"{gw.prefix}/generations/{generation_id}/export", headers=headers).content)
    assert manifest["status"] == "processing" and [f["resultId"] for f in manifest["files"]] == [made[0]["id"]]
