"""The export formats: each an exact pixel size and file type. ``GET /formats`` serves this table, so
clients never hard-code it; the keys are a contract (docs/api.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileType = Literal["jpeg", "png"]
ORIGINAL = "original"


@dataclass(frozen=True, slots=True)
class ExportFormat:
    key: str
    label: str
    width: int | None
    """None for ``original``: the generation's own size."""
    height: int | None
    file_type: FileType
    quality: int | None = None
    """JPEG quality (1..95)."""
    dpi: int | None = None
    """Written into the file (PNG ``pHYs``): print formats say 300."""

    @property
    def extension(self) -> str:
        return "jpg" if self.file_type == "jpeg" else "png"

    @property
    def media_type(self) -> str:
        return f"image/{self.file_type}"

    @property
    def is_original(self) -> bool:
        return self.key == ORIGINAL

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """The exported size of an image generated at ``width`` x ``height``."""
        return (width, height) if self.width is None or self.height is None else (self.width, self.height)


def _jpeg(key: str, label: str, width: int, height: int, quality: int) -> ExportFormat:
    return ExportFormat(key, label, width, height, "jpeg", quality=quality)


def _print(key: str, label: str, width: int, height: int) -> ExportFormat:
    return ExportFormat(key, label, width, height, "png", dpi=300)


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        _jpeg("instagram_story", "Instagram Story", 1080, 1920, 90),
        _jpeg("instagram_feed", "Instagram Feed (square)", 1080, 1080, 85),
        _jpeg("instagram_portrait", "Instagram Portrait", 1080, 1350, 85),
        _jpeg("tiktok", "TikTok", 1080, 1920, 90),
        _jpeg("shopee_product", "Shopee product", 1000, 1000, 95),
        _jpeg("tokopedia_product", "Tokopedia product", 1200, 1200, 95),
        _jpeg("lazada_product", "Lazada product", 1000, 1000, 95),
        _jpeg("facebook_post", "Facebook post", 1200, 630, 85),
        _jpeg("twitter_post", "X / Twitter post", 1200, 675, 85),
        _jpeg("linkedin_post", "LinkedIn post", 1200, 627, 85),
        _print("print_a4", "Print A4 (300 DPI)", 2480, 3508),
        _print("print_4x6", "Print 4x6 in (300 DPI)", 1800, 1200),
        ExportFormat(ORIGINAL, "Original", None, None, "png"),
    )
}
KEYS: tuple[str, ...] = tuple(FORMATS)
KEYS_PATTERN = "^(" + "|".join(KEYS) + ")(,(" + "|".join(KEYS) + "))*$"
"""A comma-separated list of format keys (the ``formats`` query parameter's schema)."""


class UnknownFormat(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"unknown export format {key!r}; valid formats: {', '.join(KEYS)}")
        self.key = key


def get_format(key: str) -> ExportFormat:
    try:
        return FORMATS[key]
    except KeyError:
        raise UnknownFormat(key) from None


def parse_formats(text: str | None) -> list[ExportFormat]:
    """``a,b,...`` in the order given, each once; empty or None: ``original``."""
    keys = [part.strip() for part in (text or "").split(",") if part.strip()]
    return [get_format(key) for key in dict.fromkeys(keys or [ORIGINAL])]
