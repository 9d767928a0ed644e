from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic.json_schema import SkipJsonSchema

from posegen_gateway.schemas.common import ApiModel, RequestModel

AvatarSource = Literal["UPLOAD", "AVATAR_CREATOR", "URL"]
HTTPS_URL = r"^https://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(/[!-~]*)?$"
"""An https URL on the default port with an ASCII host name (IDNA-encode others) and no credentials."""
URL_DESCRIPTION = (
    "an https URL of a PNG, JPEG or WebP image on a public host; the gateway fetches, checks and stores it. "
    "403 when the host is not one the gateway may fetch from (a private or loopback address, or not in "
    "AVATAR_URL_HOSTS); 400 when nothing could be fetched there or it is not an image; 413 when it is too large"
)


NAME = r"^[\s\x1c-\x1f]*[^\s\x00-\x1f][^\x00]+[^\s\x00-\x1f][\s\x1c-\x1f]*$"
"""At least three characters once the spaces around it are trimmed (as it is stored). Spelled so that Python's
``str.strip`` (which also strips \\x1c-\\x1f) and every regex engine that reads the schema agree."""


def _trimmed(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


Name = Annotated[str, Field(min_length=3, max_length=100, pattern=NAME), AfterValidator(_trimmed)]
Description = Annotated[str, Field(max_length=500), AfterValidator(_trimmed)]


class ProjectCreate(RequestModel):
    project_name: Name
    description: Description | None = None
    avatar_source: AvatarSource | None = None
    avatar_image_url: str | None = Field(default=None, max_length=2048, pattern=HTTPS_URL, description=URL_DESCRIPTION)


class ProjectUpdate(RequestModel):
    """Only the fields sent change; ``description: null`` clears the description."""

    project_name: Name | SkipJsonSchema[None] = None
    description: Description | None = None
    status: Literal["active", "archived"] | SkipJsonSchema[None] = None


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
    url: str = Field(max_length=2048, pattern=HTTPS_URL, description=URL_DESCRIPTION)
