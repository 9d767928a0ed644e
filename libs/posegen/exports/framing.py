"""Pose-aware framing: fit an image into an export's exact size so that the whole body stays in the frame.

Every image was generated from known OpenPose keypoints. The body is the box of the confident keypoints plus
a margin (and head room above the nose). The frame is the largest rectangle of the target's aspect that fits
inside the image and holds the body, placed as close to centred on the body as the image allows; where no
such rectangle exists (a standing figure in a wide 1200x630 post), the frame grows past the image's edges and
the canvas is extended with a blurred, dimmed copy of the image instead of cutting the body. A plain centre
crop would cut heads and feet (tests/exports/test_framing.py shows where).

Pure: PIL and arithmetic, no storage, no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageEnhance, ImageFilter

from posegen.poses.render import frame_to_pixels

CONFIDENCE = 0.3
"""Keypoints below this confidence are not part of the body."""
MARGIN = 0.06
"""Room around the body on every side, as a fraction of its larger side."""
HEAD_ROOM = 0.8
"""Room above the highest keypoint, as a fraction of the nose-to-neck distance (the nose is not the crown)."""
NOSE, NECK = 0, 1
Keypoints = Sequence[Sequence[float] | None]


@dataclass(frozen=True, slots=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True, slots=True)
class Frame:
    """The part of the source image (in its pixels; it may reach past the image's edges) that becomes the
    ``out_width`` x ``out_height`` export."""

    left: float
    top: float
    width: float
    height: float
    out_width: int
    out_height: int

    def to_output(self, x: float, y: float) -> tuple[float, float]:
        """Where a source pixel position lands in the export."""
        return (x - self.left) * self.out_width / self.width, (y - self.top) * self.out_height / self.height

    def extends_past(self, width: int, height: int) -> bool:
        """True when the frame reaches past the image, so the canvas is extended."""
        eps = 1e-6
        return (
            self.left < -eps
            or self.top < -eps
            or self.left + self.width > width + eps
            or self.top + self.height > height + eps
        )


def image_keypoints(frame_keypoints: Sequence[Sequence[float] | None], width: int, height: int) -> list:
    """A library pose's keypoints (its square frame) normalised to a ``width`` x ``height`` image, as the
    control image placed them (``posegen.poses.render``)."""

    def placed(entry: Sequence[float]) -> list[float]:
        x, y = frame_to_pixels(entry[0], entry[1], width, height)
        return [x / width, y / height, entry[2]]

    return [None if entry is None else placed(entry) for entry in frame_keypoints]


def confident_points(keypoints: Keypoints | None, width: int, height: int) -> list[tuple[float, float]]:
    """The confident keypoints (normalised to the image) in the image's pixels."""
    points = []
    for entry in keypoints or ():
        if entry is not None and len(entry) == 3 and entry[2] >= CONFIDENCE:
            points.append((float(entry[0]) * width, float(entry[1]) * height))
    return points


def body_box(keypoints: Keypoints | None, width: int, height: int) -> Box:
    """The box that must stay in the frame: the confident keypoints with margin and head room, clipped to
    the image (room beyond the image's edge has nothing of the body in it). No keypoints: the whole image."""
    points = confident_points(keypoints, width, height)
    if not points:
        return Box(0.0, 0.0, float(width), float(height))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad = MARGIN * max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    head = 0.0
    nose, neck = (keypoints[i] if len(keypoints) > i else None for i in (NOSE, NECK))
    if nose and neck and nose[2] >= CONFIDENCE and neck[2] >= CONFIDENCE:
        head = HEAD_ROOM * math.dist((nose[0] * width, nose[1] * height), (neck[0] * width, neck[1] * height))
    return Box(
        max(0.0, min(xs) - pad),
        max(0.0, min(ys) - pad - head),
        min(float(width), max(xs) + pad),
        min(float(height), max(ys) + pad),
    )


def _place(length: float, image: float, low: float, high: float) -> float:
    """Start of a span of ``length`` that holds [low, high]: centred on it and kept inside [0, image] when
    it fits there, centred on the image when it is longer than the image."""
    fits = length <= image
    start = min(max((low + high - length) / 2, 0.0), image - length) if fits else (image - length) / 2
    return min(max(start, high - length), low)


def plan_frame(width: int, height: int, keypoints: Keypoints | None, out_width: int, out_height: int) -> Frame:
    """The frame of a ``width`` x ``height`` image for an ``out_width`` x ``out_height`` export (see the
    module's docstring)."""
    aspect = out_width / out_height
    body = body_box(keypoints, width, height)
    frame_w = min(float(width), height * aspect)
    frame_h = frame_w / aspect
    if frame_w < body.width or frame_h < body.height:
        frame_h = max(body.height, body.width / aspect)
        frame_w = frame_h * aspect
    left = _place(frame_w, width, body.left, body.right)
    top = _place(frame_h, height, body.top, body.bottom)
    return Frame(left, top, frame_w, frame_h, out_width, out_height)


def centre_crop(width: int, height: int, out_width: int, out_height: int) -> Frame:
    """The naive frame (the largest centred rectangle of the target's aspect): what pose-aware framing
    replaces, kept for comparison."""
    aspect = out_width / out_height
    frame_w = min(float(width), height * aspect)
    frame_h = frame_w / aspect
    return Frame((width - frame_w) / 2, (height - frame_h) / 2, frame_w, frame_h, out_width, out_height)


def _fill(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A blurred, dimmed copy of the image covering ``size``: the extended canvas. Made small and scaled
    up, so it costs little even at print size."""
    small = (max(1, size[0] // 24), max(1, size[1] // 24))
    cover = max(small[0] / image.width, small[1] / image.height)
    scaled = image.resize(
        (max(1, math.ceil(image.width * cover)), max(1, math.ceil(image.height * cover))),
        Image.Resampling.BILINEAR,
        reducing_gap=2.0,
    )
    left, top = (scaled.width - small[0]) // 2, (scaled.height - small[1]) // 2
    small_image = scaled.crop((left, top, left + small[0], top + small[1])).filter(ImageFilter.GaussianBlur(2))
    return ImageEnhance.Brightness(small_image).enhance(0.85).resize(size, Image.Resampling.BICUBIC)


def render(image: Image.Image, frame: Frame) -> Image.Image:
    """The export: ``image`` framed by ``frame``, resized with Lanczos to exactly the frame's output size."""
    image = image.convert("RGB")
    size = (frame.out_width, frame.out_height)
    width, height = image.size
    box = (frame.left, frame.top, frame.left + frame.width, frame.top + frame.height)
    if not frame.extends_past(width, height):
        return image.resize(size, Image.Resampling.LANCZOS, box=box)
    inner = (max(box[0], 0.0), max(box[1], 0.0), min(box[2], float(width)), min(box[3], float(height)))
    x0, y0 = (round(v) for v in frame.to_output(inner[0], inner[1]))
    x1, y1 = (round(v) for v in frame.to_output(inner[2], inner[3]))
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size[0]), min(y1, size[1])
    canvas = _fill(image, size)
    if x1 > x0 and y1 > y0:
        canvas.paste(image.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS, box=inner), (x0, y0))
    return canvas
