"""Per-user limits on the routes that create or store something (issue 24): projects, avatar uploads, pose
requests (JSON and multipart) and exports answer 429 with ``Retry-After`` and the envelope past their limit,
before doing the work, and count each user apart."""

from __future__ import annotations

import io

from PIL import Image

from .exports_support import finished_generation


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_limited(response, what: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and what in error["message"]


def test_project_creation_is_limited_per_user(make_client, gw, headers):
    client = make_client(project_rate_limit="2/min")
    url = f"{gw.prefix}/projects"
    codes = [client.post(url, json={"projectName": f"Project {n}"}, headers=headers).status_code for n in range(2)]
    assert codes == [201, 201]
    assert_limited(client.post(url, json={"projectName": "One too many"}, headers=headers), "projects")
    assert client.post(url, json={"projectName": "Mine"}, headers=gw.auth("another-user")).status_code == 201
    assert len(client.get(url, headers=headers).json()["items"]) == 2


def test_avatar_uploads_are_limited_per_user(make_client, gw, headers):
    client = make_client(upload_rate_limit="2/min")
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Faces"}, headers=headers).json()["id"]
    url = f"{gw.prefix}/projects/{project}/avatar"
    files = {"file": ("me.png", png_bytes(), "image/png")}
    assert [client.post(url, files=files, headers=headers).status_code for _ in range(2)] == [200, 200]
    avatar = client.get(f"{gw.prefix}/projects/{project}", headers=headers).json()["avatarImageUrl"]
    assert_limited(client.post(url, files=files, headers=headers), "avatar uploads")
    assert client.get(f"{gw.prefix}/projects/{project}", headers=headers).json()["avatarImageUrl"] == avatar


def test_pose_requests_json_and_multipart_share_a_limit(make_client, gw, headers):
    client = make_client(pose_request_rate_limit="2/min")
    url = f"{gw.prefix}/pose-requests"
    assert client.post(url, json={"name": "Handstand"}, headers=headers).status_code == 201
    assert client.post(url, json={"name": "Cartwheel"}, headers=headers).status_code == 201
    assert_limited(client.post(url, json={"name": "Backflip"}, headers=headers), "pose requests")
    photo = {"file": ("pose.png", png_bytes(), "image/png")}
    assert_limited(client.post(url, data={"name": "Backflip"}, files=photo, headers=headers), "pose requests")
    assert client.post(url, json={"name": "Handstand"}, headers=gw.auth("someone-else")).status_code == 201
    assert len(client.get(url, headers=headers).json()["items"]) == 2


def test_exports_single_and_zip_share_a_limit(make_client, gw, headers, user_id, pose_ids):
    client = make_client(export_rate_limit="2/min")
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Shop"}, headers=headers).json()["id"]
    generation, made = finished_generation(client, gw, headers, user_id, project, pose_ids, completed=1)
    single = f"{gw.prefix}/generations/{generation}/results/{made[0]['id']}/export/instagram_feed"
    archive = f"{gw.prefix}/generations/{generation}/export"
    assert client.get(single, headers=headers).status_code == 200
    assert client.get(archive, headers=headers).status_code == 200
    assert_limited(client.get(archive, headers=headers), "exports")
    assert_limited(client.get(single, headers=headers), "exports")
