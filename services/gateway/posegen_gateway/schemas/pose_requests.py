"""Wire models of pose requests (asking that a pose be added to the public library) and their review."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from posegen_gateway.schemas.common import ApiModel, RequestModel
from posegen_gateway.schemas.library import Difficulty, GenderSuitability
from posegen_gateway.schemas.poses import Keypoint, Tag, check_tags

PoseRequestStatus = Literal["pending", "approved", "rejected"]


class PoseRequestCreate(RequestModel):
    """As JSON; or as multipart with the same fields and a reference photo in ``file``."""

    name: str = Field(min_length=3, max_length=100)
    description: str = Field(default="", max_length=1000)
    extraction_id: str | None = Field(default=None, min_length=1, max_length=64, description="an extraction of yours")


class PoseRequest(ApiModel):
    id: str
    user_id: str
    name: str
    description: str
    status: PoseRequestStatus
    extraction_id: str | None
    extraction_status: str | None = Field(default=None, description="queued, processing, completed or failed")
    photo_url: str | None = Field(default=None, description="the reference photo (signed URL)")
    overlay_url: str | None = Field(default=None, description="the extracted skeleton over the photo (signed URL)")
    keypoints: list[Keypoint] | None = Field(default=None, description="the extracted pose, in the library's frame")
    reason: str | None = Field(default=None, description="why it was rejected")
    pose_id: str | None = Field(default=None, description="the library pose it became")
    created_at: datetime
    reviewed_at: datetime | None


class PoseRequestApprove(RequestModel):
    category: str = Field(min_length=1, max_length=100, description="the library category (slug or id)")
    name: str | None = Field(default=None, min_length=3, max_length=100, description="default: the request's")
    description: str | None = Field(default=None, max_length=1000, description="default: the request's")
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    difficulty: Difficulty = "beginner"
    gender_suitability: GenderSuitability = "unisex"
    extraction_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="a completed extraction (yours or the requester's) to use instead of the request's own",
    )

    _check_tags = field_validator("tags")(check_tags)


class PoseRequestReject(RequestModel):
    reason: str = Field(min_length=1, max_length=500)
