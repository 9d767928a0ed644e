"""Wire models of pose extraction from photos and of private poses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from posegen_gateway.schemas.common import ApiModel, RequestModel
from posegen_gateway.schemas.library import Difficulty, GenderSuitability

Keypoint = Annotated[list[float], Field(min_length=3, max_length=3)] | None
"""``[x, y, confidence]`` or null (as a plain array, which every OpenAPI tool reads)."""
ExtractionStatus = Literal["queued", "processing", "completed", "failed"]
KEYPOINTS_DESCRIPTION = "18 OpenPose points [x, y, confidence]; null where not seen"
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00]*[^\s\x00-\x1f][^\x00]*$")]
"""At least one visible character; stored trimmed and lower-cased."""


class ExtractionAccepted(ApiModel):
    extraction_id: str
    status: Literal["queued"] = "queued"
    status_url: str = Field(description="poll it (GET), or wait for pose_extracted on the WebSocket")


class PersonBox(ApiModel):
    x: float = Field(description="left edge, 0..1 of the photo's width")
    y: float = Field(description="top edge, 0..1 of the photo's height")
    width: float
    height: float
    score: float = Field(description="the detector's confidence")


class ExtractionError(ApiModel):
    code: Literal["no_person", "error", "timeout"]
    message: str
    status_code: int = Field(description="422 no_person (the photo's), 500 error or 504 timeout (the server's)")


class Extraction(ApiModel):
    extraction_id: str
    status: ExtractionStatus
    photo_url: str = Field(description="the uploaded photo, re-encoded without metadata (signed URL)")
    keypoints: list[Keypoint] | None = Field(
        default=None, description=f"{KEYPOINTS_DESCRIPTION}, in the library's square frame (what a saved pose keeps)"
    )
    image_keypoints: list[Keypoint] | None = Field(
        default=None, description=f"{KEYPOINTS_DESCRIPTION}, normalised to the photo (to draw over it)"
    )
    skeleton_url: str | None = Field(default=None, description="the OpenPose control image, 512 x 512 (signed URL)")
    overlay_url: str | None = Field(default=None, description="the skeleton drawn over the photo (signed URL)")
    people_count: int | None = Field(default=None, description="people seen in the photo")
    chosen_person: int | None = Field(default=None, description="index in `people` of the one taken: the largest")
    people: list[PersonBox] = Field(default_factory=list, description="everyone seen, left to right")
    seconds: float | None = Field(default=None, description="time the extractor spent on the photo")
    error: ExtractionError | None = None
    created_at: datetime
    completed_at: datetime | None = None


def check_tags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return value
    if any(not isinstance(tag, str) or not 1 <= len(tag.strip()) <= 40 for tag in value):
        raise ValueError("tags are 1..40 characters each")
    return list(dict.fromkeys(tag.strip().lower() for tag in value))


class PoseCreate(RequestModel):
    extraction_id: str = Field(min_length=1, max_length=64, description="a completed extraction of yours")
    name: str = Field(min_length=3, max_length=100)
    description: str = Field(default="", max_length=1000)
    category: str = Field(min_length=1, max_length=100, description="a category slug or id")
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    difficulty: Difficulty = "beginner"
    gender_suitability: GenderSuitability = "unisex"

    _check_tags = field_validator("tags")(check_tags)


class PoseUpdate(RequestModel):
    """Only the fields sent change; none of them takes null."""

    name: Annotated[str, Field(min_length=3, max_length=100)] | SkipJsonSchema[None] = None
    description: Annotated[str, Field(max_length=1000)] | SkipJsonSchema[None] = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | SkipJsonSchema[None] = None
    tags: Annotated[list[Tag], Field(max_length=20)] | SkipJsonSchema[None] = None
    difficulty: Difficulty | SkipJsonSchema[None] = None
    gender_suitability: GenderSuitability | SkipJsonSchema[None] = None

    _check_tags = field_validator("tags")(check_tags)
