"""What a generation consists of: its images in order, each with a variation key that is unique within
the generation. The gateway charges and refunds by this plan and the worker runs it, so both agree."""

from __future__ import annotations

from dataclasses import dataclass

GALLERY = "GALLERY_REFERENCE"
TEXT = "TEXT_DESCRIPTION"
REFUND_REFERENCE = "generated_pose"
CHARGE_REFERENCE = "generation"


@dataclass(frozen=True, slots=True)
class PlannedImage:
    index: int
    variation_key: str
    pose_id: str | None
    variation: int


def plan_images(*, generation_type: str, pose_ids: list[str], variations: int) -> list[PlannedImage]:
    """Gallery mode: every selected pose (in order) x ``variations``; text mode: ``variations`` images."""
    if generation_type == GALLERY:
        pairs = [(pose_id, v) for pose_id in pose_ids for v in range(variations)]
        return [PlannedImage(i, f"{pose_id}:{v}", pose_id, v) for i, (pose_id, v) in enumerate(pairs)]
    return [PlannedImage(v, f"text:{v}", None, v) for v in range(variations)]


def refund_reference(generation_id: str, variation_key: str) -> str:
    return f"{generation_id}:{variation_key}"
