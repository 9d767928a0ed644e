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
class PoseSpec:
    category_slug: str
    name: str
    description: str
    tags: tuple[str, ...]
    difficulty: str
    gender_suitability: str
    is_featured: bool
    is_premium: bool
    keypoints: list[Keypoint | None]


@dataclass(frozen=True)
class PoseSeed:
    """A catalogue entry described by its pose angles; ``to_spec`` solves its keypoints."""

    category_slug: str
    name: str
    description: str
    tags: tuple[str, ...]
    difficulty: str
    gender_suitability: str
    params: PoseParams
    is_featured: bool = False
    is_premium: bool = False

    def to_spec(self) -> PoseSpec:
        shared = {field.name: getattr(self, field.name) for field in fields(PoseSpec) if field.name != "keypoints"}
        return PoseSpec(**shared, keypoints=solve(self.params))
