"""One generation through the worker's code, in this process, with the warm tiny pipeline."""

import io
import threading
import weakref

import numpy as np
from PIL import Image

from posegen import lifecycle
from posegen.contracts import cancel_flag_key, generation_lease_key
from posegen.events import read_events
from posegen.poses.render import render_skeleton
from posegen.prompts import build_negative_prompt
from posegen_worker.generation import GenerationRun
from posegen_worker.recovery import reap

from .conftest import direct_call


def stored_image(runtime, key: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(runtime.storage.read(key))).convert("RGB"))


def test_image_is_pixel_identical_to_a_direct_diffusers_call(make_runtime, scenario, warm_pipeline):
    runtime = make_runtime()
    generation_id = scenario.generation(poses=1, steps=4, seed=1234)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    [image_row] = scenario.images(generation_id)
    with scenario.connect() as conn:
        keypoints = conn.execute("SELECT keypoints FROM poses WHERE id = %s", (image_row.pose_id,)).fetchone()
    control = Image.fromarray(render_skeleton(keypoints["keypoints"], 256, 256))
    direct = direct_call(
        warm_pipeline,
        prompt=image_row.prompt_used,
        negative=build_negative_prompt(None),
        control=control,
        seed=1234,
        steps=4,
        size=256,
    )
    assert image_row.seed == 1234
    assert np.array_equal(stored_image(runtime, image_row.image_key), np.asarray(direct))


def test_two_poses_eight_steps_give_sixteen_progress_events_then_completed(
    make_runtime, scenario, events, redis_client
):
    runtime = make_runtime(worker_batch_size=1)
    generation_id = scenario.generation(poses=2, steps=8)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    events.wait_for(lambda e: e.type == "completed")
    live = [e for e in events.events if e.generation_id == generation_id]
    types = [e.type for e in live]
    assert types[0] == "started" and types[-1] == "completed"
    progress = [e for e in live if e.type == "progress"]
    assert len(progress) == 16
    assert [(e.pose_index, e.step) for e in progress] == [(p, s) for p in (0, 1) for s in range(1, 9)]
    percentages = [e.percentage for e in progress]
    assert percentages == sorted(percentages) and percentages[-1] == 100.0
    assert all(e.total_steps == 8 and e.poses_total == 2 for e in progress)
    assert [e.step for e in progress if e.preview] == [4, 8, 4, 8]
    assert progress[3].preview.startswith("data:image/jpeg;base64,")
    assert types.count("pose_completed") == 2
    completed = live[-1]
    assert (completed.status, completed.poses_completed, completed.poses_failed, completed.credit_refunded) == (
        "completed",
        2,
        0,
        0,
    )
    stream = read_events(redis_client, generation_id)
    assert [(e.id, e.type) for e in stream] == [(e.id, e.type) for e in live]


def test_batches_of_one_three_and_four_give_five_distinct_correct_images(make_runtime, scenario):
    made = {}
    for batch_size in (1, 3, 4):
        runtime = make_runtime(worker_batch_size=batch_size)
        generation_id = scenario.generation(poses=5, steps=4, seed=99)
        assert GenerationRun(runtime, generation_id).run() == "finished"
        rows = sorted(scenario.images(generation_id), key=lambda r: r.seed)
        assert [r.seed for r in rows] == [99, 100, 101, 102, 103]
        made[batch_size] = [stored_image(runtime, r.image_key).astype(int) for r in rows]
        assert len({image.tobytes() for image in made[batch_size]}) == 5, "five distinct images"
    for batch_size in (3, 4):
        for alone, batched in zip(made[1], made[batch_size], strict=True):
            # Batched kernels may round differently: an image made in a batch can differ by 1 in a value.
            assert np.abs(alone - batched).max() <= 2


def test_cancel_mid_run_refunds_what_was_not_made(make_runtime, scenario, events, redis_client):
    runtime = make_runtime(worker_batch_size=1)
    generation_id = scenario.generation(poses=3, steps=10)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()))
    thread.start()
    events.wait_for(lambda e: e.type == "pose_completed" and e.generation_id == generation_id)
    events.wait_for(lambda e: e.type == "progress" and e.pose_index >= 1 and e.step >= 2)
    progress_before = sum(e.type == "progress" for e in events.events)
    redis_client.set(cancel_flag_key(generation_id), "1")
    thread.join(timeout=60)
    assert outcome["v"] == "cancelled"
    cancelled = events.wait_for(lambda e: e.type == "cancelled")
    progress_after = sum(e.type == "progress" for e in events.events) - progress_before
    assert progress_after <= 1, "the pipeline stops within one step of the flag"
    row = scenario.row(generation_id)
    images = scenario.images(generation_id)
    completed = [r for r in images if r.status == "completed"]
    assert row.status == "cancelled" and row.poses_completed == len(completed) >= 1
    assert cancelled.poses_completed == len(completed) and cancelled.credit_refunded == 30 * (3 - len(completed))
    assert scenario.balance() == scenario.granted - 30 * len(completed)
    files = sorted(key.rsplit("/", 1)[1] for key in runtime.storage.keys(f"poses/{generation_id}/"))
    assert len(files) == 2 * len(completed)
    assert not redis_client.exists(cancel_flag_key(generation_id))


def test_a_cancel_only_the_database_knows_stops_the_generation_at_the_next_image(
    make_runtime, scenario, events, redis_client
):
    """The gateway records a cancel, then raises the Redis flag; when Redis is down at that moment (or restarts
    and loses it) only the database knows. The worker reads it between images and stops. Seen under chaos."""
    runtime = make_runtime(worker_batch_size=1)
    generation_id = scenario.generation(poses=4, steps=4)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()))
    thread.start()
    events.wait_for(lambda e: e.type == "progress" and e.generation_id == generation_id)
    with scenario.connect() as conn:
        assert lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=scenario.user_id).action == (
            "cancel_requested"
        )
    assert not redis_client.exists(cancel_flag_key(generation_id))
    thread.join(timeout=60)
    assert outcome["v"] == "cancelled"
    row = scenario.row(generation_id)
    assert row.status == "cancelled" and row.poses_completed <= 2
    assert scenario.balance() == scenario.granted - 30 * row.poses_completed
    assert events.wait_for(lambda e: e.type == "cancelled" and e.generation_id == generation_id)


def test_a_generation_cancelled_while_it_waited_for_its_recovery_is_not_run_again(make_runtime, scenario):
    """A worker claiming a generation whose cancel is recorded (it was requested while it ran, then it was
    handed over or recovered) ends it without making anything."""
    runtime = make_runtime()
    generation_id = scenario.generation(poses=2, steps=2)
    with scenario.connect() as conn:
        lifecycle.claim(conn=conn, generation_id=generation_id, worker_name="gone")
        lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=scenario.user_id)
    assert GenerationRun(runtime, generation_id).run() == "cancelled"
    row = scenario.row(generation_id)
    assert (row.status, row.poses_completed, row.credit_refunded) == ("cancelled", 0, 60)


def test_a_rerun_generates_stores_charges_and_refunds_nothing_twice(make_runtime, scenario):
    runtime = make_runtime()
    generation_id = scenario.generation(poses=2, steps=3)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    before = (scenario.images(generation_id), scenario.balance(), scenario.refunds())
    with scenario.connect() as conn:
        conn.execute("UPDATE generations SET status = 'queued' WHERE id = %s", (generation_id,))
    assert GenerationRun(runtime, generation_id).run() == "finished"
    assert (scenario.images(generation_id), scenario.balance(), scenario.refunds()) == before
    assert scenario.row(generation_id).poses_completed == 2


class FailingPipe:
    """The real pipeline, except for prompts that name one pose: those raise, as an out-of-memory would."""

    def __init__(self, pipe, poison: str) -> None:
        self.pipe, self.poison = pipe, poison

    def __call__(self, **kwargs):
        if any(self.poison in prompt for prompt in kwargs["prompt"]):
            raise RuntimeError("CUDA out of memory (simulated)")
        return self.pipe(**kwargs)

    def __getattr__(self, name):
        return getattr(self.pipe, name)


def test_one_failing_image_is_recorded_refunded_and_reported(make_runtime, scenario, events, warm_pipeline):
    runtime = make_runtime(worker_batch_size=3)
    generation_id = scenario.generation(poses=3, steps=3)
    with scenario.connect() as conn:
        name = conn.execute("SELECT name FROM poses WHERE id = %s", (scenario.pose_ids[1],)).fetchone()["name"]
    runtime.pipeline = type(warm_pipeline)(
        **{**vars(warm_pipeline), "pipe": FailingPipe(warm_pipeline.pipe, name.lower())}
    )
    assert GenerationRun(runtime, generation_id).run() == "finished"
    row = scenario.row(generation_id)
    assert (row.status, row.poses_completed, row.poses_failed, row.credit_refunded) == ("partial", 2, 1, 30)
    failed = events.wait_for(lambda e: e.type == "pose_failed")
    assert failed.variation_key == f"{scenario.pose_ids[1]}:0" and "out of memory" in failed.error
    completed = events.wait_for(lambda e: e.type == "completed")
    assert (completed.status, completed.credit_refunded) == ("partial", 30)
    assert scenario.balance() == scenario.granted - 60


def test_text_mode_follows_a_matching_library_pose(make_runtime, scenario):
    runtime = make_runtime()
    generation_id = scenario.generation(text="a runner sprinting on a track", variations=2, steps=2)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    rows = scenario.images(generation_id)
    assert len(rows) == 2 and all(r.pose_id is None for r in rows)
    assert all(r.prompt_used.startswith("a runner sprinting") for r in rows)


def test_a_cancelled_generation_is_not_run(make_runtime, scenario):
    runtime = make_runtime()
    generation_id = scenario.generation(poses=1, steps=2)
    with scenario.connect() as conn:
        conn.execute("UPDATE generations SET status = 'cancelled' WHERE id = %s", (generation_id,))
    assert GenerationRun(runtime, generation_id).run() == "skipped"
    assert scenario.images(generation_id) == []


def test_a_job_raising_in_planning_fails_at_once_with_its_own_message(make_runtime, scenario, events, monkeypatch):
    import posegen_worker.planning as planning

    def broken(*_args):
        raise ValueError("keypoints out of range")

    monkeypatch.setattr(planning, "render_skeleton", broken)
    runtime = make_runtime()
    generation_id = scenario.generation(poses=2, steps=2)
    assert GenerationRun(runtime, generation_id).run() == "failed"
    row = scenario.row(generation_id)
    assert (row.status, row.error_message, row.credit_refunded) == ("failed", "ValueError: keypoints out of range", 60)
    assert row.recovery_attempts == 0 and row.final_event_at is not None
    failed = events.wait_for(lambda e: e.type == "failed" and e.generation_id == generation_id)
    assert failed.error == "ValueError: keypoints out of range"
    assert not runtime.redis.exists(generation_lease_key(generation_id)), "nothing left for the reaper"


def test_an_infrastructure_fault_leaves_it_to_the_reaper(make_runtime, scenario, monkeypatch):
    import psycopg

    import posegen_worker.generation as generation_module

    def unreachable(*_args, **_kwargs):
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(generation_module, "plan_generation", unreachable)
    runtime = make_runtime()
    generation_id = scenario.generation(poses=2, steps=2)
    assert GenerationRun(runtime, generation_id).run() == "interrupted"
    row = scenario.row(generation_id)
    assert (row.status, row.credit_refunded, row.error_message) == ("processing", 0, None)
    assert runtime.redis.ttl(generation_lease_key(generation_id)) > 0, "the lease is left to expire"
    runtime.redis.delete(generation_lease_key(generation_id))
    with scenario.connect() as conn:
        conn.execute("UPDATE generations SET updated_at = now() - interval '1 minute' WHERE id = %s", (generation_id,))
    assert generation_id in reap(runtime)
    assert (scenario.row(generation_id).status, scenario.row(generation_id).recovery_attempts) == ("queued", 1)


class LeakCheckingPipe:
    """Fails every batch of more than one image after allocating a large tensor, as an out-of-memory error
    would, and records whether that tensor was already released when the image-by-image retry starts."""

    def __init__(self, pipe) -> None:
        self.pipe, self.allocated, self.released_before_retry = pipe, [], []

    def __call__(self, **kwargs):
        import torch

        if len(kwargs["generator"]) > 1:
            activations = torch.ones(64, 1024, 1024)
            self.allocated.append(weakref.ref(activations))
            raise RuntimeError("CUDA out of memory (simulated)")
        self.released_before_retry.append(all(ref() is None for ref in self.allocated))
        return self.pipe(**kwargs)

    def __getattr__(self, name):
        return getattr(self.pipe, name)


def test_the_out_of_memory_fallback_releases_the_failed_batch_first(make_runtime, scenario, warm_pipeline):
    runtime = make_runtime(worker_batch_size=3)
    pipe = LeakCheckingPipe(warm_pipeline.pipe)
    runtime.pipeline = type(warm_pipeline)(**{**vars(warm_pipeline), "pipe": pipe})
    generation_id = scenario.generation(poses=3, steps=2)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    assert scenario.row(generation_id).poses_completed == 3
    assert pipe.released_before_retry == [True, True, True]
