"""The gateway's memory budget through the real app (issue 24): uploads and renditions that find no room get
503 with ``Retry-After`` and the envelope; identical concurrent exports render once."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

import posegen.exports.renditions as renditions_module
from posegen.exports.formats import FORMATS
from posegen.exports.renditions import rendition_key

from .exports_support import finished_generation, read_zip

NO_WAIT = {"gateway_image_memory_bytes": 32 * 2**20, "gateway_image_memory_wait_seconds": 0}
WAIT = 60.0


def jpeg_bytes(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def assert_busy(response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "service_unavailable"


def test_uploads_beyond_the_budget_get_503_with_retry_after(make_client, gw, headers):
    client = make_client(**NO_WAIT)
    memory = client.app.state.context.memory
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Busy"}, headers=headers).json()["id"]
    files = {"file": ("me.jpg", jpeg_bytes(), "image/jpeg")}
    with memory.reserve(memory.capacity):
        assert_busy(client.post(f"{gw.prefix}/projects/{project}/avatar", files=files, headers=headers))
        assert_busy(client.post(f"{gw.prefix}/poses/extract", files=files, headers=headers))
    assert memory.refused == 2 and memory.reserved == 0
    assert client.post(f"{gw.prefix}/projects/{project}/avatar", files=files, headers=headers).status_code == 200


def test_renditions_beyond_the_budget_get_503_or_are_listed_missing_in_a_zip(
    make_client, gw, headers, user_id, pose_ids
):
    client = make_client(**NO_WAIT)
    memory = client.app.state.context.memory
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Busy"}, headers=headers).json()["id"]
    generation, made = finished_generation(client, gw, headers, user_id, project, pose_ids, completed=2)
    single = f"{gw.prefix}/generations/{generation}/results/{made[0]['id']}/export/print_4x6"
    with memory.reserve(memory.capacity):
        assert_busy(client.get(single, headers=headers))
        archive = client.get(
            f"{gw.prefix}/generations/{generation}/export", params={"formats": "tiktok,original"}, headers=headers
        )
        assert client.get(f"{gw.prefix}/library", headers=headers).status_code == 200
    assert archive.status_code == 200
    _, manifest = read_zip(archive.content)
    assert [f["format"] for f in manifest["files"]] == ["original", "original"]
    assert {m["format"] for m in manifest["missing"]} == {"tiktok"} and len(manifest["missing"]) == 2
    assert "busy" in manifest["missing"][0]["reason"]
    assert client.get(single, headers=headers).status_code == 200


def test_concurrent_identical_exports_render_once(make_client, gw, headers, user_id, pose_ids, monkeypatch):
    client = make_client(export_rate_limit="1000/min")
    context = client.app.state.context
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Popular"}, headers=headers).json()["id"]
    generation, made = finished_generation(client, gw, headers, user_id, project, pose_ids, completed=1)
    fmt = FORMATS["print_4x6"]
    key = rendition_key(made[0]["image_key"], fmt)
    callers, rendering, lock = 6, [0], threading.Lock()
    renders: list[str] = []
    real_render = renditions_module.render_rendition
    everyone_there = threading.Event()

    def counted_render(*args, **kwargs):
        """Holds the first render until every request is either rendering too or waiting for it, so none of
        them can find the file already stored."""
        with lock:
            renders.append(key)
            rendering[0] += 1
        flights = getattr(context, "renditions", None)
        for _ in range(int(WAIT * 100)):
            with lock:
                arrived = rendering[0] + (flights.waiting(key) if flights else 0)
            if arrived >= callers:
                break
            everyone_there.wait(0.01)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(renditions_module, "render_rendition", counted_render)
    url = f"{gw.prefix}/generations/{generation}/results/{made[0]['id']}/export/{fmt.key}"
    with ThreadPoolExecutor(callers) as threads:
        responses = list(threads.map(lambda _: client.get(url, headers=headers), range(callers)))
    assert [r.status_code for r in responses] == [200] * callers
    assert len({r.content for r in responses}) == 1
    assert len(renders) == 1
    assert Image.open(io.BytesIO(responses[0].content)).size == (fmt.width, fmt.height)
