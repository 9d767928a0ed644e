"""Real `posegen worker` processes on the real queue: a SIGTERM mid-run hands the generation to the next
worker, a SIGKILL mid-run is recovered by a reaper, and neither makes, stores, charges or refunds an
image twice."""

import signal

from posegen.contracts import QUEUE_LIST_KEY, job_id
from posegen.queue import enqueue_generation

from ..scenario import CREDITS_PER_IMAGE


def assert_exactly_done(scenario, runtime_storage_dir, generation_id: str, images: int) -> None:
    from pathlib import Path

    row = scenario.row(generation_id)
    rows = scenario.images(generation_id)
    assert row.status == "completed", row
    assert row.poses_completed == images and row.poses_failed == 0
    assert len(rows) == images and len({r.variation_key for r in rows}) == images
    files = sorted((Path(runtime_storage_dir) / "poses" / generation_id).iterdir())
    assert len(files) == 2 * images, [f.name for f in files]
    assert row.credit_refunded == 0 and scenario.refunds() == 0
    assert scenario.balance() == scenario.granted - CREDITS_PER_IMAGE * images


def test_sigterm_finishes_the_batch_requeues_at_the_front_and_exits_0(
    spawn_worker, scenario, events, redis_client, worker_env
):
    generation_id = scenario.generation(poses=4, steps=6)
    enqueue_generation(redis_client, generation_id)
    first = spawn_worker("first")
    events.wait_for(lambda e: e.type == "pose_completed" and e.generation_id == generation_id)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 0, first.log_path.read_text()
    row = scenario.row(generation_id)
    assert row.status == "queued" and 1 <= row.poses_completed < 4
    assert redis_client.lindex(QUEUE_LIST_KEY, 0) == job_id(generation_id).encode(), "back at the front"

    spawn_worker("second")
    events.wait_for(lambda e: e.type == "completed" and e.generation_id == generation_id)
    assert_exactly_done(scenario, worker_env["STORAGE_DIR"], generation_id, 4)
    completed_events = [e for e in events.events if e.type == "pose_completed" and e.generation_id == generation_id]
    assert len(completed_events) == 4, "each image reported once"


def test_sigkill_mid_run_is_recovered_by_the_reaper(spawn_worker, scenario, events, redis_client, worker_env):
    generation_id = scenario.generation(poses=3, steps=6)
    enqueue_generation(redis_client, generation_id)
    doomed = spawn_worker("doomed", WORKER_LEASE_SECONDS="2")
    events.wait_for(lambda e: e.type == "pose_completed" and e.generation_id == generation_id)
    doomed.kill()
    doomed.wait(timeout=30)
    assert scenario.row(generation_id).status == "processing"

    spawn_worker("rescuer", WORKER_LEASE_SECONDS="2")
    events.wait_for(lambda e: e.type == "completed" and e.generation_id == generation_id, timeout=180)
    assert scenario.row(generation_id).recovery_attempts == 1
    assert_exactly_done(scenario, worker_env["STORAGE_DIR"], generation_id, 3)


def test_a_worker_restarted_under_its_name_after_sigkill_starts_and_finishes(
    spawn_worker, scenario, events, redis_client, worker_env
):
    """Kubernetes restarts a killed container in the same pod, with the same WORKER_NAME: RQ's registration
    of the killed process is still there, and the new one must take the name over instead of crashing (it
    did, for as long as that key lived: minutes of crash loop). Found by bench/chaos.py."""
    generation_id = scenario.generation(poses=3, steps=6)
    enqueue_generation(redis_client, generation_id)
    doomed = spawn_worker("same-name", WORKER_LEASE_SECONDS="2")
    events.wait_for(lambda e: e.type == "pose_completed" and e.generation_id == generation_id)
    doomed.kill()
    doomed.wait(timeout=30)

    again = spawn_worker("same-name", WORKER_LEASE_SECONDS="2")
    events.wait_for(lambda e: e.type == "completed" and e.generation_id == generation_id, timeout=180)
    assert again.poll() is None, again.log_path.read_text()[-2000:]
    assert_exactly_done(scenario, worker_env["STORAGE_DIR"], generation_id, 3)
