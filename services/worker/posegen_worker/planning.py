"""Turning a generation row into the work of each image: its control image (the library pose's skeleton,
drawn as controlnet-aux draws it), its prompt and its seed; and, once for the whole generation, the avatar's
identity embedding and how many chunks of tokens its prompts need."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from PIL import Image
from psycopg import Connection

from posegen import images
from posegen.db import generations as generations_db
from posegen.db import library as library_db
from posegen.db.generations import GenerationRow
from posegen.exports.framing import image_keypoints
from posegen.inference.runner import Identity
from posegen.inference.text import chunks_needed
from posegen.plan import GALLERY, plan_images
from posegen.poses.render import render_skeleton
from posegen.prompts import build_negative_prompt, build_prompt
from posegen.storage import with_storage_retry
from posegen_worker.persist import Work
from posegen_worker.runtime import Runtime

log = logging.getLogger("posegen.worker")
MAX_SEED = 2**32


class GenerationRejected(Exception):
    """A reason that will not go away on a retry (a missing avatar, say): the generation fails at once with
    this message and its credits are refunded."""


@dataclass(frozen=True)
class Plan:
    work: list[Work]
    identity: Identity | None
    """None when the worker has no identity adapter; else the embedding every image of this generation uses."""
    prompt_chunks: int


def image_seed(generation_seed: int | None, index: int) -> int:
    """Derived from the generation's seed when it has one (so the results are reproducible), random
    otherwise; either way it is stored with the image."""
    if generation_seed is None:
        return secrets.randbelow(MAX_SEED)
    return (generation_seed + index) % MAX_SEED


def plan_generation(runtime: Runtime, conn: Connection, generation: GenerationRow, *, done: set[str]) -> Plan:
    """The images still to make (those in ``done`` were stored before), with what they share."""
    identity, strength = _identity(runtime, generation)
    work = [item for item in plan_work(conn, generation, strength) if item.variation_key not in done]
    prompts = [item.prompt for item in work] + [build_negative_prompt(generation.negative_prompt)]
    return Plan(work, identity, chunks_needed(runtime.pipeline.pipe.tokenizer, prompts))


def plan_work(conn: Connection, generation: GenerationRow, identity_strength: float = 0.0) -> list[Work]:
    pose_ids = generations_db.generation_pose_ids(conn=conn, generation_id=generation.id)
    planned = plan_images(
        generation_type=generation.generation_type,
        pose_ids=pose_ids,
        variations=generation.variations_per_pose,
    )
    gallery = generation.generation_type == GALLERY
    if gallery:
        poses = library_db.poses_by_id(conn=conn, pose_ids=pose_ids)
        missing = sorted(set(pose_ids) - set(poses))
        if missing:
            raise GenerationRejected(f"the library no longer has pose {missing[0]}")
        guides = [poses[image.pose_id] for image in planned]
    else:
        matches = library_db.match_poses(conn=conn, text=generation.text_prompt, limit=len(planned))
        guides = [matches[i % len(matches)] for i in range(len(planned))]
    negative = build_negative_prompt(generation.negative_prompt)
    controls: dict[str, Image.Image] = {}
    work = []
    for image, guide in zip(planned, guides, strict=True):
        if guide["id"] not in controls:
            pixels = render_skeleton(guide["keypoints"], generation.width, generation.height)
            controls[guide["id"]] = Image.fromarray(pixels)
        prompt = build_prompt(
            pose_name=guide["name"] if gallery else None,
            pose_description=guide["description"] if gallery else None,
            user_prompt=generation.prompt,
            text_prompt=None if gallery else generation.text_prompt,
        )
        work.append(
            Work(
                image.index,
                image.variation_key,
                image.pose_id,
                image_seed(generation.seed, image.index),
                prompt,
                negative,
                controls[guide["id"]],
                identity_strength,
                guide_pose_id=guide["id"],
                pose_name=guide["name"],
                keypoints=image_keypoints(guide["keypoints"], generation.width, generation.height),
            )
        )
    return work


def _identity(runtime: Runtime, generation: GenerationRow) -> tuple[Identity | None, float]:
    """The embedding of the avatar the generation was submitted with, computed once, and the strength that
    will really be applied (0 without an adapter, an avatar or a strength)."""
    adapter = runtime.pipeline.identity
    strength = float(generation.identity_strength or 0.0)
    if adapter is None:
        if strength > 0:
            log.warning("generation %s asks for identity but this worker has no adapter", generation.id)
        return None, 0.0
    guidance = generation.guidance_scale > 1
    if strength == 0 or not generation.avatar_key:
        return Identity(adapter.neutral_for(guidance=guidance), 0.0), 0.0
    avatar = read_avatar(runtime, generation.avatar_key)
    runtime.metrics.identity_embeddings.inc()
    return Identity(adapter.embed(runtime.pipeline.pipe, avatar, guidance=guidance), strength), strength


def read_avatar(runtime: Runtime, key: str) -> Image.Image:
    """The stored avatar, decoded with the same limits as an upload; never fetched over HTTP."""
    try:
        data = with_storage_retry(
            lambda: runtime.storage.read(key),
            log=log,
            deadline=runtime.settings.storage_retry_deadline_seconds,
            stop=runtime.stop_event,
        )
    except (FileNotFoundError, ValueError):
        raise GenerationRejected("the avatar this generation was submitted with is no longer stored") from None
    try:
        return images.decode_image(data)
    except images.ImageRejected as error:
        raise GenerationRejected(f"the avatar this generation was submitted with cannot be read: {error}") from None
