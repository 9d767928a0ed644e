"""The OpenPose control image for ControlNet, drawn from keypoints in the square reference frame.

The drawing is controlnet-aux's, so a control image rendered here matches what the OpenPose ControlNet
saw in training. controlnet-aux itself cannot be imported here: its ``open_pose.util`` imports torch. Its
three OpenCV calls are :mod:`posegen.poses.raster`'s numpy equivalents (pixel-identical, tested), so the
gateway, which serves ``skeleton.png``, needs neither torch nor OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image

from posegen.images import encode_png
from posegen.poses import raster
from posegen.poses.kinematics import LIMBS

MAX_SIZE = 4096
KEYPOINT_COUNT = 18

# controlnet-aux's limbSeq (one-based keypoint indices: kinematics' zero-based LIMBS) and colours, in drawing order.
LIMB_SEQUENCE: tuple[tuple[int, int], ...] = tuple((a + 1, b + 1) for a, b in LIMBS)
COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip
LIMB_COLOR_FACTOR = 0.6
STICK_WIDTH = 4
JOINT_RADIUS = 4


class _Point(NamedTuple):
    x: float
    y: float


def frame_to_pixels(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """Map a point of the square reference frame into a ``width`` x ``height`` image (contain, centred)."""
    side, left, top = _square_region(width, height)
    return left + x * side, top + y * side


def render_skeleton(keypoints: Sequence[Sequence[float] | None], width: int, height: int) -> np.ndarray:
    """The control image as an RGB ``uint8`` array of shape ``(height, width, 3)`` on a black background.

    ``keypoints`` are 18 OpenPose entries, each ``None`` or ``[x, y, confidence]`` with x and y in the square
    frame (0..1); the frame is fitted into the image and centred. Raises ``ValueError`` on anything else.
    """
    points = _validated(keypoints)
    _check_size(width, height)
    side, left, top = _square_region(width, height)
    square = draw_bodypose(np.zeros((side, side, 3), dtype=np.uint8), points)
    if (side, side) == (height, width):
        return square
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[top : top + side, left : left + side] = square
    return canvas


def render_skeleton_png(keypoints: Sequence[Sequence[float] | None], width: int, height: int) -> bytes:
    """The control image, PNG-encoded."""
    return encode_png(Image.fromarray(render_skeleton(keypoints, width, height)))


def draw_over(canvas: np.ndarray, keypoints: Sequence[Sequence[float] | None]) -> np.ndarray:
    """Draw the skeleton over an RGB ``uint8`` image (in place, and return it), keypoints normalised to the
    image itself: how a pose extracted from a photo is shown over that photo."""
    return draw_bodypose(canvas, _validated(keypoints))


def _square_region(width: int, height: int) -> tuple[int, int, int]:
    side = min(width, height)
    return side, (width - side) // 2, (height - side) // 2


def _check_size(width: int, height: int) -> None:
    for label, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIZE:
            raise ValueError(f"{label} must be an integer in 1..{MAX_SIZE}, got {value!r}")


def _validated(keypoints: Sequence[Sequence[float] | None]) -> list[_Point | None]:
    if isinstance(keypoints, str | bytes) or not isinstance(keypoints, Sequence):
        raise ValueError(f"keypoints must be a list of {KEYPOINT_COUNT} entries")
    if len(keypoints) != KEYPOINT_COUNT:
        raise ValueError(f"keypoints must have {KEYPOINT_COUNT} entries, got {len(keypoints)}")
    return [_validated_point(index, entry) for index, entry in enumerate(keypoints)]


def _validated_point(index: int, entry: Sequence[float] | None) -> _Point | None:
    if entry is None:
        return None
    if isinstance(entry, str | bytes) or not isinstance(entry, Sequence) or len(entry) != 3:
        raise ValueError(f"keypoint {index} must be null or [x, y, confidence], got {entry!r}")
    if not all(_is_finite_number(value) for value in entry):
        raise ValueError(f"keypoint {index} must hold three finite numbers, got {entry!r}")
    if not (0.0 <= entry[0] <= 1.0 and 0.0 <= entry[1] <= 1.0):
        raise ValueError(f"keypoint {index} must have x and y in 0..1, got {entry!r}")
    return _Point(float(entry[0]), float(entry[1]))


def _is_finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# Ported from controlnet-aux 0.0.10, controlnet_aux/open_pose/util.py, draw_bodypose (Apache-2.0,
# https://github.com/huggingface/controlnet_aux), unchanged in behaviour: the same limbs, colours,
# stick width, 0.6 limb colour factor and joint circles; cv2's ellipse2Poly, fillConvexPoly and circle are
# raster's. Keypoints are normalised to this canvas.
def draw_bodypose(canvas: np.ndarray, keypoints: Sequence[_Point | None]) -> np.ndarray:
    """Draw the body limbs and joints on ``canvas`` (in place) and return it."""
    H, W, C = canvas.shape
    for (k1_index, k2_index), color in zip(LIMB_SEQUENCE, COLORS, strict=False):
        keypoint1 = keypoints[k1_index - 1]
        keypoint2 = keypoints[k2_index - 1]

        if keypoint1 is None or keypoint2 is None:
            continue

        Y = np.array([keypoint1.x, keypoint2.x]) * float(W)
        X = np.array([keypoint1.y, keypoint2.y]) * float(H)
        mX = np.mean(X)
        mY = np.mean(Y)
        length = ((X[0] - X[1]) ** 2 + (Y[0] - Y[1]) ** 2) ** 0.5
        angle = math.degrees(math.atan2(X[0] - X[1], Y[0] - Y[1]))
        polygon = raster.ellipse_polygon((int(mY), int(mX)), (int(length / 2), STICK_WIDTH), int(angle))
        limb_color = tuple(int(float(c) * LIMB_COLOR_FACTOR) for c in color)
        raster.fill_convex_polygon(canvas, polygon, limb_color)

    for keypoint, color in zip(keypoints, COLORS, strict=False):
        if keypoint is not None:
            raster.fill_circle(canvas, (int(keypoint.x * W), int(keypoint.y * H)), JOINT_RADIUS, color)

    return canvas
