"""Renditions: an image in an export format, made once and kept in storage beside the image (so a second
request serves the stored file). Only :class:`posegen.storage.Storage`'s ``read``, ``write`` and ``exists``
are used: any backend behind that interface works."""

from __future__ import annotations

import io
from contextlib import nullcontext
from dataclasses import dataclass

from PIL import Image

from posegen import images
from posegen.exports.formats import ExportFormat
from posegen.exports.framing import Keypoints, plan_frame, render
from posegen.membudget import MemoryBudget
from posegen.recipe import PNG_KEY, exif_user_comment
from posegen.singleflight import SingleFlight
from posegen.storage import Storage

VERSION = "r1"
"""Part of every rendition's key: a change to the framing or encoding gets new files, not stale ones."""
PRINT_COMPRESS_LEVEL = 3


def rendition_key(image_key: str, fmt: ExportFormat) -> str:
    """``poses/{generation}/{variation}.png`` -> ``poses/{generation}/{variation}.{format}.r1.{ext}``."""
    if fmt.is_original:
        return image_key
    return f"{image_key.rsplit('.', 1)[0]}.{fmt.key}.{VERSION}.{fmt.extension}"


def rendition_cost(width: int, height: int, fmt: ExportFormat) -> int:
    """The bytes making a rendition of a ``width`` x ``height`` image takes at most: the decoded source and its
    RGB copy, the output and one copy of it (the extended canvas, or the RGB a JPEG is encoded from), four
    bytes a pixel, and the encoded file."""
    out_width, out_height = fmt.size_for(width, height)
    return 4 * (2 * width * height + 2 * out_width * out_height) + out_width * out_height


def render_rendition(
    source: bytes, keypoints: Keypoints | None, fmt: ExportFormat, *, budget: MemoryBudget | None = None
) -> bytes:
    """The encoded export of an image's PNG bytes. It keeps the image's recipe: a PNG export in its
    ``parameters`` chunk, a JPEG export in its EXIF ``UserComment`` (both where AUTOMATIC1111 reads them).
    With a ``budget``, its :func:`rendition_cost` is reserved there (read from the PNG's header) first."""
    with Image.open(io.BytesIO(source)) as opened:
        cost = rendition_cost(opened.width, opened.height, fmt)
        with budget.reserve(cost) if budget else nullcontext():
            return _rendered(opened, keypoints, fmt)


def _rendered(opened: Image.Image, keypoints: Keypoints | None, fmt: ExportFormat) -> bytes:
    opened.load()
    parameters = opened.info.get(PNG_KEY)
    frame = plan_frame(opened.width, opened.height, keypoints, fmt.width, fmt.height)
    out = render(opened, frame)
    if fmt.file_type == "png":
        text = {PNG_KEY: parameters} if isinstance(parameters, str) else None
        return images.encode_png(out, compress_level=PRINT_COMPRESS_LEVEL, text=text, dpi=fmt.dpi)
    comment = exif_user_comment(parameters) if isinstance(parameters, str) else None
    return images.encode_jpeg(out, quality=fmt.quality or 90, dpi=fmt.dpi, user_comment=comment)


@dataclass(frozen=True, slots=True)
class Rendition:
    key: str
    data: bytes
    rendered: bool
    """True when it was made by this call; False when it was served from storage (or is the original)."""


def get_rendition(
    *,
    storage: Storage,
    image_key: str,
    keypoints: Keypoints | None,
    fmt: ExportFormat,
    budget: MemoryBudget | None = None,
    flights: SingleFlight[Rendition] | None = None,
) -> Rendition:
    """The stored rendition, made and stored first when there is none. Raises FileNotFoundError when the
    image itself is not stored. With ``flights``, concurrent calls for the same rendition make it once: the
    others wait for it (``rendered`` is True only for the call that made it)."""
    key = rendition_key(image_key, fmt)
    if fmt.is_original or storage.exists(key):
        return Rendition(key, storage.read(key), False)

    def make() -> Rendition:
        if storage.exists(key):
            return Rendition(key, storage.read(key), False)
        data = render_rendition(storage.read(image_key), keypoints, fmt, budget=budget)
        storage.write(key, data)
        return Rendition(key, data, True)

    if flights is None:
        return make()
    rendition, made_here = flights.run(key, make)
    return rendition if made_here else Rendition(key, rendition.data, False)
