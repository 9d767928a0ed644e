"""The gateway on object storage (a real SeaweedFS): avatars go to the bucket, file URLs redirect to presigned
GETs, a deleted project's objects go, and an unreachable store answers 503 with the envelope."""

from __future__ import annotations

import io
import urllib.request

import pytest
from PIL import Image

from ..s3server import ACCESS_KEY, SECRET_KEY, SeaweedS3


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def s3_overrides(server: SeaweedS3, bucket: str) -> dict:
    return dict(
        storage_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=server.endpoint,
        s3_addressing_style="path",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def test_avatars_live_in_the_bucket_and_urls_redirect_to_presigned_gets(make_client, gw, headers, s3_server, s3_bucket):
    client = make_client(**s3_overrides(s3_server, s3_bucket))
    bucket = s3_server.storage(s3_bucket)
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Bucket"}, headers=headers).json()["id"]
    files = {"file": ("me.png", png_bytes(), "image/png")}
    uploaded = client.post(f"{gw.prefix}/projects/{project}/avatar", files=files, headers=headers)
    assert uploaded.status_code == 200, uploaded.text
    (key,) = bucket.keys(f"avatars/{project}/")
    url = uploaded.json()["avatarImageUrl"].removeprefix("http://testserver")
    redirect = client.get(url, follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["cache-control"] == "private, max-age=600"
    with urllib.request.urlopen(redirect.headers["location"], timeout=10) as response:
        assert response.read() == bucket.read(key)
    assert client.get(url.replace("sig=", "sig=f"), follow_redirects=False).status_code in (403, 422)
    ready = client.get("/ready").json()
    assert ready["checks"]["storage"] == {"backend": "s3", "status": "connected"}
    assert client.delete(f"{gw.prefix}/projects/{project}", headers=headers).status_code in (200, 204)
    assert bucket.keys(f"avatars/{project}/") == []


@pytest.fixture
def stopped_s3(tmp_path):
    server = SeaweedS3(tmp_path / "s3")
    server.start()
    server.storage("gateway-outage").create_bucket()
    server.stop()
    yield server
    server.stop()


def test_an_unreachable_store_answers_503_and_records_nothing(make_client, gw, headers, stopped_s3):
    client = make_client(**s3_overrides(stopped_s3, "gateway-outage"))
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Outage"}, headers=headers).json()["id"]
    files = {"file": ("me.png", png_bytes(), "image/png")}
    refused = client.post(f"{gw.prefix}/projects/{project}/avatar", files=files, headers=headers)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    body = refused.json()
    assert body["success"] is False and body["error"]["code"] == "service_unavailable"
    assert "storage" in body["error"]["message"]
    assert client.get(f"{gw.prefix}/projects/{project}", headers=headers).json()["avatarImageUrl"] is None
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["storage"] == {"backend": "s3", "status": "disconnected"}
    health = client.get(f"{gw.prefix}/health").json()
    assert health["checks"]["storage"]["status"] == "disconnected" and health["status"] != "healthy"
