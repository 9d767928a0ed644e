"""Finished generations for the export tests: made through POST /generate, then given what a worker writes
for each image (a PNG with its recipe, a thumbnail, a ``generated_poses`` row with the guide's keypoints)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import numpy as np
from PIL import Image, ImageDraw

from posegen import images
from posegen.exports.framing import confident_points, image_keypoints
from posegen.recipe import PNG_KEY


def picture(keypoints, size: int, seed: int) -> Image.Image:
    """A gradient with the pose drawn as dots: framing mistakes show."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 215, size, dtype=np.float32)
    base = np.stack([np.add.outer(ramp, ramp) / 2] * 3, axis=-1) + rng.normal(0, 6, (size, size, 3))
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for x, y in confident_points(keypoints, size, size):
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(255, 0, 0))
    return image


def finished_generation(
    client,
    gw,
    headers,
    user_id,
    project_id,
    pose_ids,
    *,
    completed: int,
    failed: int = 0,
    status: str = "completed",
    size: int = 256,
) -> tuple[str, list[dict]]:
    """A generation of ``completed + failed`` images (``variationsPerPose`` fills the count); returns its id
    and its completed rows."""
    total = completed + failed
    variations = min(6, total)
    poses = -(-total // variations)
    gw.give_credits(user_id, 30 * poses * variations)
    response = client.post(
        f"{gw.prefix}/generate",
        headers=headers,
        json={
            "projectId": project_id,
            "selectedPoseIds": pose_ids[:poses],
            "variationsPerPose": variations,
            "width": size,
            "height": size,
            "steps": 4,
            "seed": 11,
        },
    )
    assert response.status_code == 202, response.text
    generation_id = response.json()["generationId"]
    storage = client.app.state.context.storage
    library = {r["id"]: r for r in gw.query("SELECT id, keypoints FROM poses WHERE id = ANY(%s)", (pose_ids,))}
    keys = [f"{p}:{v}" for p in pose_ids[:poses] for v in range(variations)][:total]
    made = []
    for index, key in enumerate(keys):
        pose_id = key.split(":")[0]
        row_id = str(uuid.uuid4())
        if index >= completed:
            gw.query(
                "INSERT INTO generated_poses (id, generation_id, pose_id, variation_key, status, seed,"
                " error_message) VALUES (%s, %s, %s, %s, 'failed', %s, 'boom') RETURNING id",
                (row_id, generation_id, pose_id, key, 11 + index),
            )
            continue
        keypoints = image_keypoints(library[pose_id]["keypoints"], size, size)
        image = picture(keypoints, size, index)
        image_key, thumb_key = (
            f"poses/{generation_id}/{key.replace(':', '_')}.png",
            f"poses/{generation_id}/t{index}.jpg",
        )
        storage.write(image_key, images.encode_png(image, compress_level=1, text={PNG_KEY: f"p{index}\nSteps: 4"}))
        storage.write(thumb_key, images.thumbnail_jpeg(image))
        gw.query(
            "INSERT INTO generated_poses (id, generation_id, pose_id, variation_key, status, image_key, thumbnail_key,"
            " seed, prompt_used, generation_seconds, keypoints, guide_pose_id)"
            " VALUES (%s, %s, %s, %s, 'completed', %s, %s, %s, %s, %s, %s::jsonb, %s) RETURNING id",
            (
                row_id,
                generation_id,
                pose_id,
                key,
                image_key,
                thumb_key,
                11 + index,
                f"prompt {index}",
                1.0 + index,
                json.dumps(keypoints),
                pose_id,
            ),
        )
        made.append(
            {
                "id": row_id,
                "pose_id": pose_id,
                "variation_key": key,
                "image_key": image_key,
                "seed": 11 + index,
                "keypoints": keypoints,
            }
        )
    gw.query(
        "UPDATE generations SET status = %s, poses_completed = %s, poses_failed = %s, started_at = now(),"
        " completed_at = now() WHERE id = %s RETURNING id",
        (status, completed, failed, generation_id),
    )
    return generation_id, made


@contextlib.contextmanager
def running_gateway(*, database_url: str, redis_url: str, secret: str, folder) -> Iterator[tuple[str, int]]:
    """A real ``posegen gateway`` process on the test's database and ``folder / "storage"``: yields its base
    URL and process id."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": secret,
        "STORAGE_DIR": str(folder / "storage"),
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    base = f"http://127.0.0.1:{port}"
    with open(folder / "gateway.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "posegen_cli", "gateway"], env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def read_zip(data: bytes):
    import json
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(data))
    return archive, json.loads(archive.read("manifest.json"))
