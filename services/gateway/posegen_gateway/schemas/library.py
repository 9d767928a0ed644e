from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from posegen_gateway.schemas.common import ApiModel

Difficulty = Literal["beginner", "intermediate", "advanced"]
GenderSuitability = Literal["male", "female", "unisex"]
Keypoint = tuple[float, float, float] | None


class CategoryRef(ApiModel):
    id: str
    slug: str
    name: str
    parent_id: str | None


class PoseSummary(ApiModel):
    id: str
    name: str
    description: str
    tags: list[str]
    difficulty: Difficulty
    gender_suitability: GenderSuitability
    is_featured: bool
    is_premium: bool
    usage_count: int
    category: CategoryRef
    skeleton_url: str = Field(description="the OpenPose control image of this pose (needs the bearer token)")
    is_private: bool = Field(default=False, description="one of your own private poses (only you see it)")
    created_at: datetime


class PoseDetail(PoseSummary):
    keypoints: list[Keypoint] = Field(
        min_length=18,
        max_length=18,
        description="OpenPose-18 body points [x, y, confidence], normalised to a square frame; null if hidden",
    )
    source_extraction_id: str | None = Field(default=None, description="the photo extraction it was saved from")


class CategoryNode(ApiModel):
    id: str
    slug: str
    name: str
    description: str
    icon: str | None
    color: str | None
    display_order: int
    pose_count: int = Field(description="poses in this category and all of its sub-categories")
    children: list[CategoryNode] = []


class CategoryTree(ApiModel):
    categories: list[CategoryNode]
