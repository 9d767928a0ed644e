from __future__ import annotations

from typing import Literal

from pydantic import Field

from posegen_gateway.schemas.common import ApiModel


class ExportFormatInfo(ApiModel):
    key: str = Field(description="what `formats=` and `/export/{format}` take")
    label: str
    width: int | None = Field(description="exact pixel width; null for `original` (the generation's size)")
    height: int | None
    file_type: Literal["jpeg", "png"]
    media_type: str
    extension: str
    quality: int | None = Field(description="JPEG quality")
    dpi: int | None = Field(description="dots per inch written into the file (print formats)")


class Formats(ApiModel):
    formats: list[ExportFormatInfo]
    default: str = Field(description="the format of a ZIP requested without `formats`")
