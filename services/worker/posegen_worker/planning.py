"""Turning a generation row into the work of each image: its control image (the library pose's skeleton,
drawn as controlnet-aux draws it), its prompt and its seed."""

from __future__ import annotations

import secrets

from PIL import Image
from psycopg import Connection

from posegen.db import generations as generations_db
from posegen.db import library as library_db
from posegen.plan import GALLERY, plan_images
from posegen.poses.render import render_skeleton
from posegen.prompts import build_negative_prompt, build_prompt
from posegen_worker.persist import Work

MAX_SEED = 2**32


def image_seed(generation_seed: int | None, index: int) -> int:
    """Derived from the generation's seed when it has one (so the results are reproducible), random
    otherwise; either way it is stored with the image."""
    if generation_seed is None:
        return secrets.randbelow(MAX_SEED)
    return (generation_seed + index) % MAX_SEED


def plan_work(conn: Connection, generation: dict) -> list[Work]:
    pose_ids = generations_db.generation_pose_ids(conn=conn, generation_id=generation["id"])
    planned = plan_images(
        generation_type=generation["generation_type"],
        pose_ids=pose_ids,
        variations=generation["variations_per_pose"],
    )
    if generation["generation_type"] == GALLERY:
        poses = library_db.poses_by_id(conn=conn, pose_ids=pose_ids)
        guides = [poses[image.pose_id] for image in planned]
    else:
        matches = library_db.match_poses(conn=conn, text=generation["text_prompt"], limit=len(planned))
        guides = [matches[i % len(matches)] for i in range(len(planned))]
    negative = build_negative_prompt(generation["negative_prompt"])
    controls: dict[str, Image.Image] = {}
    work = []
    for image, guide in zip(planned, guides, strict=True):
        if guide["id"] not in controls:
            pixels = render_skeleton(guide["keypoints"], generation["width"], generation["height"])
            controls[guide["id"]] = Image.fromarray(pixels)
        gallery = generation["generation_type"] == GALLERY
        prompt = build_prompt(
            pose_name=guide["name"] if gallery else None,
            pose_description=guide["description"] if gallery else None,
            user_prompt=generation["prompt"],
            text_prompt=None if gallery else generation["text_prompt"],
        )
        work.append(Work(image.index, image.variation_key, image.pose_id, image_seed(generation["seed"], image.index),
                         prompt, negative, controls[guide["id"]]))  # fmt: skip
    return work
