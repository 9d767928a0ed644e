from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from posegen_gateway.schemas.common import ApiModel, RequestModel

AvatarSource = Literal["UPLOAD", "AVATAR_CREATOR", "URL"]


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ProjectCreate(RequestModel):
    project_name: str = Field(min_length=3, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    avatar_source: AvatarSource | None = None
    avatar_image_url: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^https://",
        description="an https URL on a public host; the gateway fetches, checks and stores the image",
    )

    @field_validator("project_name", "description", mode="before")
    @classmethod
    def _strip(cls, value):
        return _stripped(value)


class ProjectUpdate(RequestModel):
    project_name: str | None = Field(default=None, min_length=3, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    status: Literal["active", "archived"] | None = None

    @field_validator("project_name", "description", mode="before")
    @classmethod
    def _strip(cls, value):
        return _stripped(value)


class Project(ApiModel):
    id: str
    project_name: str
    description: str | None
    avatar_source: AvatarSource | None
    avatar_image_url: str | None = Field(description="a signed URL of the stored avatar")
    status: Literal["active", "archived"]
    generation_count: int | None = None
    created_at: datetime
    updated_at: datetime


class AvatarUrl(RequestModel):
    url: str = Field(max_length=2048, pattern=r"^https://", description="an https URL of a PNG, JPEG or WebP image")
