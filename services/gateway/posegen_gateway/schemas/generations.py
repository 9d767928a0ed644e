from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from posegen.plan import GALLERY, TEXT
from posegen_gateway.schemas.common import ApiModel, Float, Int, NotBoolean, RequestModel

GenerationType = Literal["GALLERY_REFERENCE", "TEXT_DESCRIPTION"]
GenerationStatus = Literal["queued", "processing", "completed", "partial", "failed", "cancelled"]
MAX_SEED = 2**32 - 1
PoseIdText = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class GenerateRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"generationType": {"const": TEXT}}, "required": ["generationType"]},
            "then": {"required": ["textPrompt"], "properties": {"textPrompt": {"type": "string"}}},
            "else": {"required": ["selectedPoseIds"], "properties": {"selectedPoseIds": {"type": "array"}}},
        }
    )
    project_id: str = Field(min_length=1, max_length=64)
    generation_type: GenerationType = GALLERY
    selected_pose_ids: list[PoseIdText] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="gallery mode: 1..50 distinct library pose ids (an unknown id is a 404)",
        json_schema_extra={"uniqueItems": True},
    )
    variations_per_pose: Int = Field(default=1, ge=1, le=6, description="gallery mode")
    text_prompt: str | None = Field(default=None, min_length=3, max_length=1000, description="text mode")
    variation_count: Int = Field(default=4, ge=1, le=10, description="text mode")
    prompt: str | None = Field(default=None, max_length=1000)
    negative_prompt: str | None = Field(default=None, max_length=1000)
    width: Int = Field(default=512, ge=256, le=1024, multiple_of=64)
    height: Int = Field(default=512, ge=256, le=1024, multiple_of=64)
    steps: Int = Field(default=20, ge=1, le=50)
    guidance_scale: Float = Field(default=7.5, ge=0, le=20)
    seed: Annotated[int | None, NotBoolean] = Field(default=None, ge=0, le=MAX_SEED)
    identity_strength: Annotated[float | None, NotBoolean] = Field(
        default=None,
        ge=0,
        le=1,
        description="How strongly the project's avatar shapes the images (IP-Adapter scale): 0 turns it off. "
        "Left out: the server's default (IDENTITY_STRENGTH) when the project has an avatar, else 0. A value above 0 "
        "for a project without an avatar is refused with 409 (the project's state conflicts). The avatar as it is "
        "at submission is used, even if the project's avatar is replaced while the generation waits.",
    )

    @field_validator("selected_pose_ids")
    @classmethod
    def _distinct_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("pose ids must be distinct (use variationsPerPose for more images of one pose)")
        return value

    @field_validator("prompt", "negative_prompt", mode="before")
    @classmethod
    def _strip(cls, value):
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _mode_fields(self) -> GenerateRequest:
        if self.generation_type == GALLERY and not self.selected_pose_ids:
            raise ValueError("selectedPoseIds is required in GALLERY_REFERENCE mode")
        if self.generation_type == TEXT and not self.text_prompt:
            raise ValueError("textPrompt is required in TEXT_DESCRIPTION mode")
        return self

    @property
    def variations(self) -> int:
        return self.variations_per_pose if self.generation_type == GALLERY else self.variation_count

    @property
    def pose_ids(self) -> list[str]:
        return list(self.selected_pose_ids or []) if self.generation_type == GALLERY else []


class GenerateAccepted(ApiModel):
    generation_id: str
    status: Literal["queued"] = "queued"
    poses_total: int
    credit_charged: int
    queue_position: int | None = Field(description="1-based position among waiting generations, if known")
    estimated_seconds: float


class Progress(ApiModel):
    percentage: float
    poses_completed: int
    poses_failed: int
    poses_total: int
    current_pose: int | None = Field(description="0-based index of the image being generated")
    current_step: int | None
    estimated_seconds_remaining: float | None


class GeneratedPose(ApiModel):
    id: str
    pose_id: str | None
    variation_key: str
    status: Literal["completed", "failed"]
    seed: int | None
    image_url: str | None
    thumbnail_url: str | None
    prompt_used: str | None
    seconds: float | None
    identity_strength: float = Field(
        description="The identity strength applied to this image: 0 when the worker had no identity adapter"
    )
    error_message: str | None = None
    created_at: datetime


class Generation(ApiModel):
    id: str
    project_id: str
    generation_type: GenerationType
    status: GenerationStatus
    text_prompt: str | None
    prompt: str | None
    negative_prompt: str | None
    variations_per_pose: int
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int | None
    identity_strength: float = Field(description="The identity strength the generation was submitted with")
    avatar_image_url: str | None = Field(description="Signed URL of the avatar as it was at submission")
    selected_pose_ids: list[str]
    poses_total: int
    poses_completed: int
    poses_failed: int
    credit_charged: int
    credit_refunded: int
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    poses: list[GeneratedPose]
    progress: Progress


class GenerationSummary(ApiModel):
    id: str
    project_id: str
    generation_type: GenerationType
    status: GenerationStatus
    text_prompt: str | None = None
    prompt: str | None = None
    poses_total: int
    poses_completed: int
    poses_failed: int
    credit_charged: int
    credit_refunded: int
    thumbnail_url: str | None = Field(default=None, description="signed URL of the first completed image's thumbnail")
    created_at: datetime
    completed_at: datetime | None


class AdminGenerationSummary(GenerationSummary):
    user_id: str


class Results(ApiModel):
    generation_id: str
    status: GenerationStatus
    results: list[GeneratedPose]


class CancelResult(ApiModel):
    generation_id: str
    action: Literal["cancelled", "cancel_requested", "already_finished"] = Field(
        description="cancelled: it was waiting and is cancelled now; cancel_requested: it is running and "
        "stops within one denoising step; already_finished: nothing to cancel"
    )
    status: GenerationStatus
    credit_refunded: int
