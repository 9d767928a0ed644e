"""A real `posegen extractor` process on the real pose-extraction queue: it finds the pose in a photo while a
generation waits on the other queue, stores the control image the library would draw, fails a photo with
no person or a broken file without stopping, and exits 0 on SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

from posegen.contracts import EXTRACTION_QUEUE_NAME, QUEUE_LIST_KEY, job_id
from posegen.db import extractions as extractions_db
from posegen.queue import discard_job, enqueue_extraction, enqueue_generation
from posegen.storage import LocalStorage

from ..s3server import ACCESS_KEY, SECRET_KEY

pytest.importorskip("mediapipe", reason="needs the extract extra and requirements/no-deps.txt")
skimage_data = pytest.importorskip("skimage.data")


def jpeg(name: str) -> bytes:
    import numpy as np
    from PIL import Image

    pixels = getattr(skimage_data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def spawn_extractor(worker_env, tmp_path):
    processes: list[subprocess.Popen] = []

    def spawn(name: str, **env_overrides: str) -> subprocess.Popen:
        env = {**os.environ, **worker_env, "EXTRACTOR_NAME": name, "EXTRACTOR_METRICS_PORT": "0", **env_overrides}
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "posegen_cli", "extractor"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_path = tmp_path / f"{name}.log"
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def queue_photo(scenario, worker_env, redis_client, data: bytes | None) -> str:
    extraction_id = str(uuid.uuid4())
    key = f"extractions/{extraction_id}/photo.jpg"
    if data is not None:
        LocalStorage(worker_env["STORAGE_DIR"]).write(key, data)
    with scenario.connect() as conn:
        extractions_db.create_extraction(
            conn=conn, extraction_id=extraction_id, user_id=scenario.user_id, photo_key=key, width=512, height=512
        )
    enqueue_extraction(redis_client, extraction_id)
    return extraction_id


def test_the_extractor_works_its_own_queue_and_never_stops_on_a_bad_photo(
    spawn_extractor, scenario, events, redis_client, worker_env
):
    from posegen.poses.render import render_skeleton_png

    waiting = scenario.generation(poses=1)
    enqueue_generation(redis_client, waiting)  # no GPU worker runs here: it waits, and must not hold anything up
    broken = queue_photo(scenario, worker_env, redis_client, b"\xff\xd8\xff not really a jpeg")
    empty = queue_photo(scenario, worker_env, redis_client, jpeg("coins"))
    person = queue_photo(scenario, worker_env, redis_client, jpeg("astronaut"))
    extractor = spawn_extractor("extractor-1")

    done = events.wait_for(lambda e: e.type == "pose_extracted" and e.extraction_id == person, timeout=120)
    failures = {e.extraction_id: e for e in events.events if e.type == "pose_extraction_failed"}
    assert (failures[broken].code, failures[broken].status_code) == ("error", 500)
    assert (failures[empty].code, failures[empty].status_code) == ("no_person", 422)
    assert done.people_count == 1 and done.chosen_person == 0 and done.seconds < 30
    with scenario.connect() as conn:
        row = extractions_db.get_extraction(conn=conn, extraction_id=person)
    assert row["status"] == "completed" and row["keypoints"] == [list(k) if k else None for k in done.keypoints]
    stored = LocalStorage(worker_env["STORAGE_DIR"]).read(row["skeleton_key"])
    assert stored == render_skeleton_png(row["keypoints"], 512, 512)
    assert redis_client.lrange(QUEUE_LIST_KEY, 0, -1) == [job_id(waiting).encode()], "the generation still waits"
    assert redis_client.llen(f"rq:queue:{EXTRACTION_QUEUE_NAME}") == 0

    extractor.send_signal(signal.SIGTERM)
    assert extractor.wait(timeout=60) == 0, extractor.log_path.read_text()
    log = extractor.log_path.read_text()
    assert "ready on queue pose-extraction" in log and "took #0" in log
    discard_job(redis_client, waiting)  # the worker tests that follow share this queue


def test_sigterm_during_a_storage_outage_fails_the_extraction_and_the_extractor_exits(
    spawn_extractor, scenario, events, redis_client, worker_env
):
    """The object store gone (an endpoint nothing listens on) and a deadline far past any grace period: the
    SIGTERM ends the retries, the photo's extraction fails with its event, and the extractor exits 0 within
    its 30 s grace period."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    extraction_id = queue_photo(scenario, worker_env, redis_client, None)
    extractor = spawn_extractor(
        "extractor-outage",
        STORAGE_BACKEND="s3",
        S3_ENDPOINT_URL=f"http://127.0.0.1:{closed}",
        S3_BUCKET="gone",
        S3_ADDRESSING_STYLE="path",
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        STORAGE_RETRY_DEADLINE_SECONDS="3000",
    )
    deadline = time.monotonic() + 120
    while "Retrying" not in extractor.log_path.read_text():
        assert extractor.poll() is None and time.monotonic() < deadline, extractor.log_path.read_text()[-3000:]
        time.sleep(0.2)
    extractor.send_signal(signal.SIGTERM)
    assert extractor.wait(timeout=30) == 0, extractor.log_path.read_text()[-3000:]
    failed = events.wait_for(lambda e: e.type == "pose_extraction_failed" and e.extraction_id == extraction_id)
    assert failed.code == "error"
    with scenario.connect() as conn:
        assert extractions_db.get_extraction(conn=conn, extraction_id=extraction_id)["status"] == "failed"


def test_an_extraction_claimed_elsewhere_is_skipped(scenario, worker_env, redis_client):
    """RQ delivers a job once, but a job run twice (a retry by hand) must not overwrite the first result."""
    from posegen_worker.extraction import extract_one

    extraction_id = queue_photo(scenario, worker_env, redis_client, jpeg("astronaut"))
    with scenario.connect() as conn:
        assert extractions_db.claim_extraction(conn=conn, extraction_id=extraction_id) is not None

    from types import SimpleNamespace

    from posegen.db.pool import create_pool
    from posegen_worker.extractor import ExtractorMetrics

    runtime = SimpleNamespace(
        pool=create_pool(worker_env["DATABASE_URL"], max_size=1, name="skip-test"), metrics=ExtractorMetrics()
    )
    try:
        assert extract_one(runtime, extraction_id) == "skipped"
        assert runtime.metrics.extractions.labels("skipped")._value.get() == 1
    finally:
        runtime.pool.close()
