"""The records of the seed pose library, shared by the catalogue and its data modules."""

from __future__ import annotations

from dataclasses import dataclass, fields

from posegen.poses.kinematics import Keypoint, PoseParams, solve

DIFFICULTIES: tuple[str, ...] = ("beginner", "intermediate", "advanced")
GENDER_SUITABILITIES: tuple[str, ...] = ("male", "female", "unisex")


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    description: str
    parent_slug: str | None
    icon: str
    color: str
    display_order: int


@dataclass(frozen=True)
class _PoseInfo:
    """What a catalogue pose and its seed both say about it."""

    category_slug: str
    name: str
    description: str
    tags: tuple[str, ...]
    difficulty: str
    gender_suitability: str


@dataclass(frozen=True)
class PoseSpec(_PoseInfo):
    is_featured: bool
    is_premium: bool
    keypoints: list[Keypoint | None]


@dataclass(frozen=True)
class PoseSeed(_PoseInfo):
    """A catalogue entry described by its pose angles; ``to_spec`` solves its keypoints."""

    params: PoseParams
    is_featured: bool = False
    is_premium: bool = False

    def to_spec(self) -> PoseSpec:
        shared = {field.name: getattr(self, field.name) for field in fields(PoseSpec) if field.name != "keypoints"}
        return PoseSpec(**shared, keypoints=solve(self.params))
