"""The ZIP case of ``bench/gateway.py`` (issue 14): a 40-image generation downloaded as a ZIP in three
formats, first rendering every file, then serving the stored renditions."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
from PIL import Image

from posegen import images
from posegen.exports.formats import parse_formats
from posegen.exports.framing import image_keypoints
from posegen.exports.renditions import rendition_key
from posegen.recipe import PNG_KEY
from posegen.storage import LocalStorage

PREFIX = "/api/apps/pose-generator"
IMAGES = 40
SIZE = 512
FORMATS = "instagram_feed,tiktok,print_a4"
BEGIN, END = "<!-- zip-case -->", "<!-- /zip-case -->"


def _picture(seed: int) -> Image.Image:
    """Smooth colour with grain: about as costly to encode as a generated image."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((SIZE, SIZE), Image.Resampling.BICUBIC), dtype=np.float32)
    return Image.fromarray(np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8))


def prepare(
    http, auth: dict, *, project: str, database_url: str, storage_dir: str, images_count: int = IMAGES
) -> tuple[str, list[str]]:
    """A generation submitted through the API, then given completed images as the worker stores them."""
    variations = 6
    pose_count = -(-images_count // variations)
    poses = [p["id"] for p in http.get(f"{PREFIX}/library?limit={pose_count}", headers=auth).json()["items"]]
    body = {
        "projectId": project,
        "selectedPoseIds": poses,
        "variationsPerPose": variations,
        "width": SIZE,
        "height": SIZE,
    }
    response = http.post(f"{PREFIX}/generate", json=body, headers=auth)
    response.raise_for_status()
    generation = response.json()["generationId"]
    storage = LocalStorage(storage_dir)
    with psycopg.connect(database_url, autocommit=True) as conn:
        library = dict(conn.execute("SELECT id, keypoints FROM poses WHERE id = ANY(%s)", (poses,)).fetchall())
        keys = [f"{p}:{v}" for p in poses for v in range(variations)][:images_count]
        stored = []
        for index, key in enumerate(keys):
            pose_id = key.split(":")[0]
            image_key = f"poses/{generation}/{key.replace(':', '_')}.png"
            stored.append(image_key)
            picture = _picture(index)
            storage.write(image_key, images.encode_png(picture, compress_level=1, text={PNG_KEY: f"bench {index}"}))
            storage.write(image_key.replace(".png", ".thumb.jpg"), images.thumbnail_jpeg(picture))
            conn.execute(
                "INSERT INTO generated_poses (id, generation_id, pose_id, variation_key, status, image_key,"
                " thumbnail_key, seed, prompt_used, generation_seconds, keypoints, guide_pose_id)"
                " VALUES (%s, %s, %s, %s, 'completed', %s, %s, %s, 'bench', 1.0, %s::jsonb, %s)",
                (
                    str(uuid.uuid4()),
                    generation,
                    pose_id,
                    key,
                    image_key,
                    image_key.replace(".png", ".thumb.jpg"),
                    index,
                    json.dumps(image_keypoints(library[pose_id], SIZE, SIZE)),
                    pose_id,
                ),
            )
        conn.execute(
            "UPDATE generations SET status = 'partial', poses_completed = %s, poses_failed = 0,"
            " completed_at = now(), final_event_at = now() WHERE id = %s",
            (len(keys), generation),
        )
    return generation, stored


def _download(http, auth: dict, generation: str, formats: str) -> tuple[float, int]:
    started, size = time.perf_counter(), 0
    with http.stream(
        "GET", f"{PREFIX}/generations/{generation}/export", params={"formats": formats}, headers=auth, timeout=900
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    return time.perf_counter() - started, size


def run_zip_case(
    http,
    auth: dict,
    *,
    project: str,
    database_url: str,
    storage_dir: str,
    images_count: int = IMAGES,
    formats: str = FORMATS,
) -> dict:
    generation, image_keys = prepare(
        http, auth, project=project, database_url=database_url, storage_dir=storage_dir, images_count=images_count
    )
    storage = LocalStorage(storage_dir)
    load_before = os.getloadavg()[0]
    first, size = _download(http, auth, generation, formats)
    kept = sum(storage.exists(rendition_key(key, f)) for key in image_keys for f in parse_formats(formats))
    second, again = _download(http, auth, generation, formats)
    return {
        "images": len(image_keys),
        "formats": formats,
        "bytes": size,
        "first_seconds": round(first, 2),
        "second_seconds": round(second, 2),
        "same_size": size == again,
        "kept": kept,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def _load_remark(load: float) -> str:
    if load > 1.5:
        return ": other work shared the 2 cores, so the first figure is pessimistic"
    return " (the machine was otherwise quiet)"


def write_zip_section(path: Path, case: dict) -> None:
    first, second, kept = case["first_seconds"], case["second_seconds"], case["kept"]
    section = f"""{BEGIN}
## ZIP export (issue 14)

`GET /generations/{{id}}/export?formats={case["formats"]}`: a generation of {case["images"]} completed
512x512 images, {case["images"] * 3} files in the ZIP ({case["bytes"] / 2**20:.0f} MiB), streamed by the gateway
above and read to the end by httpx on the same machine, on {datetime.now(UTC):%Y-%m-%d}. Load average
{case["load_before"]} before and {case["load_after"]} after{_load_remark(case["load_before"])}.

| request | seconds |
|---|---:|
| first: renders every file (framing, Lanczos resize, JPEG q85/q90, PNG at 300 DPI) and stores it | {first} |
| second: serves the {kept} renditions the first one stored | {second} |

The print size dominates the first request: one 2480x3508 rendition is a Lanczos resize to 8.7 megapixels
and a PNG encode, about 0.7 s of one idle core; a social format about 0.05 s. `make bench-gateway` runs this
case after the wrk cases; `python bench/gateway.py --zip-only` runs it alone and rewrites only this section.
{END}
"""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Gateway benchmark\n"
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
