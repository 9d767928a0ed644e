"""The avatar reaches the pixels: the tiny IP-Adapter (built in the published layout, loaded by diffusers'
``load_ip_adapter``) conditions every image of a generation on the avatar it was submitted with."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from posegen import images
from posegen.db import projects
from posegen.inference.loading import load_pipeline
from posegen.prompts import build_negative_prompt
from posegen_worker.generation import GenerationRun

from .conftest import direct_call, worker_settings
from .test_generation import stored_image


def avatar_png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(96, 80, 3), dtype=np.uint8)
    return images.encode_png(Image.fromarray(pixels))


def store_avatar(runtime, scenario, seed: int) -> str:
    """An uploaded avatar as the gateway stores it, made the project's current one."""
    key = f"avatars/{scenario.project_id}/{seed}.png"
    runtime.storage.write(key, avatar_png(seed))
    with scenario.connect() as conn:
        projects.update_project(
            conn=conn,
            user_id=scenario.user_id,
            project_id=scenario.project_id,
            changes={"avatar_image": key, "avatar_source": "UPLOAD"},
        )
    return key


def run_images(runtime, scenario, **generation) -> list[np.ndarray]:
    generation_id = scenario.generation(**generation)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    rows = sorted(scenario.images(generation_id), key=lambda r: r.seed)
    return [stored_image(runtime, row.image_key) for row in rows]


@pytest.fixture(scope="module")
def plain_pipeline(worker_env):
    """The same tiny model without an adapter (IP_ADAPTER=none)."""
    return load_pipeline(worker_settings(worker_env, ip_adapter="none"))


def test_the_worker_loads_the_built_adapter_through_load_ip_adapter(warm_pipeline):
    identity = warm_pipeline.identity
    assert identity is not None and identity.source.weight_name == "ip-adapter-plus-face_sd15.safetensors"
    assert type(warm_pipeline.pipe.unet.encoder_hid_proj.image_projection_layers[0]).__name__ == (
        "IPAdapterPlusImageProjection"
    )
    assert warm_pipeline.pipe.image_encoder is not None and warm_pipeline.pipe.feature_extractor is not None


def test_different_avatars_give_different_images_and_strength_changes_them(make_runtime, scenario):
    runtime = make_runtime()
    made = {}
    for avatar_seed in (1, 2):
        key = store_avatar(runtime, scenario, avatar_seed)
        for strength in (0.5, 1.0):
            made[avatar_seed, strength] = run_images(
                runtime, scenario, poses=1, steps=3, seed=5, identity_strength=strength, avatar_key=key
            )[0]
    assert not np.array_equal(made[1, 1.0], made[2, 1.0])
    assert not np.array_equal(made[1, 0.5], made[1, 1.0])


def test_strength_zero_is_identical_to_a_worker_without_the_adapter(make_runtime, scenario, plain_pipeline):
    with_adapter = make_runtime()
    key = store_avatar(with_adapter, scenario, 3)
    conditioned_off = run_images(with_adapter, scenario, poses=2, steps=3, seed=8, avatar_key=key)
    without = make_runtime()
    without.pipeline = plain_pipeline
    plain = run_images(without, scenario, poses=2, steps=3, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(conditioned_off, plain, strict=True))


def test_images_are_pixel_identical_to_a_direct_diffusers_call_with_the_avatar_embedding(
    make_runtime, scenario, warm_pipeline
):
    runtime = make_runtime()
    key = store_avatar(runtime, scenario, 4)
    generation_id = scenario.generation(poses=1, steps=3, seed=77, identity_strength=0.8, avatar_key=key)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    [row] = scenario.images(generation_id)
    assert row.identity_strength == pytest.approx(0.8)
    work = _control_of(scenario, row)
    avatar = Image.open(io.BytesIO(avatar_png(4))).convert("RGB")
    [embeds] = warm_pipeline.pipe.prepare_ip_adapter_image_embeds(avatar, None, "cpu", 1, True)
    direct = direct_call(
        warm_pipeline,
        prompt=row.prompt_used,
        negative=build_negative_prompt(None),
        control=work,
        seed=77,
        steps=3,
        size=256,
        embeds=embeds,
        scale=0.8,
    )
    assert np.array_equal(stored_image(runtime, row.image_key), np.asarray(direct))


def _control_of(scenario, row) -> Image.Image:
    from posegen.poses.render import render_skeleton

    with scenario.connect() as conn:
        keypoints = conn.execute("SELECT keypoints FROM poses WHERE id = %s", (row.pose_id,)).fetchone()
    return Image.fromarray(render_skeleton(keypoints["keypoints"], 256, 256))


def test_the_image_encoder_runs_once_per_generation_whatever_the_images_and_batches(
    make_runtime, scenario, warm_pipeline
):
    encoder = warm_pipeline.pipe.image_encoder
    calls = []
    hook = encoder.register_forward_hook(lambda *_: calls.append(1))
    try:
        warm_pipeline.identity.embed(warm_pipeline.pipe, Image.new("RGB", (40, 40)), guidance=True)
        per_embedding = len(calls)
        for images_wanted, batch in ((1, 1), (5, 2), (6, 4)):
            runtime = make_runtime(worker_batch_size=batch)
            key = store_avatar(runtime, scenario, 10 + images_wanted)
            calls.clear()
            before = runtime.metrics.identity_embeddings._value.get()
            run_images(runtime, scenario, poses=images_wanted, steps=2, identity_strength=0.7, avatar_key=key)
            assert len(calls) == per_embedding, f"{images_wanted} images in batches of {batch}"
            assert runtime.metrics.identity_embeddings._value.get() == before + 1
    finally:
        hook.remove()


def test_replacing_the_avatar_after_submission_does_not_change_the_images(make_runtime, scenario, warm_pipeline):
    runtime = make_runtime()
    original = store_avatar(runtime, scenario, 21)
    generation_id = scenario.generation(poses=1, steps=3, seed=31, identity_strength=1.0, avatar_key=original)
    store_avatar(runtime, scenario, 22)  # the project's avatar is replaced while the generation waits
    assert GenerationRun(runtime, generation_id).run() == "finished"
    [row] = scenario.images(generation_id)
    avatar = Image.open(io.BytesIO(avatar_png(21))).convert("RGB")
    [embeds] = warm_pipeline.pipe.prepare_ip_adapter_image_embeds(avatar, None, "cpu", 1, True)
    direct = direct_call(
        warm_pipeline,
        prompt=row.prompt_used,
        negative=build_negative_prompt(None),
        control=_control_of(scenario, row),
        seed=31,
        steps=3,
        size=256,
        embeds=embeds,
        scale=1.0,
    )
    assert np.array_equal(stored_image(runtime, row.image_key), np.asarray(direct))


@pytest.mark.parametrize("damage", ["deleted", "corrupt"])
def test_a_missing_or_unreadable_avatar_fails_the_generation_with_a_full_refund(make_runtime, scenario, events, damage):
    runtime = make_runtime()
    key = store_avatar(runtime, scenario, 40)
    generation_id = scenario.generation(poses=3, steps=2, identity_strength=0.6, avatar_key=key)
    if damage == "deleted":
        runtime.storage.path(key).unlink()
    else:
        runtime.storage.write(key, b"\x89PNG\r\n\x1a\n truncated")
    assert GenerationRun(runtime, generation_id).run() == "failed"
    row = scenario.row(generation_id)
    assert row.status == "failed" and row.credit_refunded == row.credit_charged == 90
    assert "avatar" in row.error_message and ("no longer stored" in row.error_message) == (damage == "deleted")
    failed = events.wait_for(lambda e: e.type == "failed" and e.generation_id == generation_id)
    assert failed.error == row.error_message and failed.credit_refunded == 90
    finals = [e for e in events.events if e.generation_id == generation_id and e.type in ("failed", "completed")]
    assert len(finals) == 1
    assert scenario.refunds() == 3 and scenario.balance() == scenario.granted
    assert scenario.images(generation_id) == []
