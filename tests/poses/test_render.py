"""The OpenPose control image: where limbs and joints land, the contain mapping, validation and parity."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from posegen.poses.catalog import build_poses
from posegen.poses.kinematics import LIMBS
from posegen.poses.render import (
    COLORS,
    LIMB_COLOR_FACTOR,
    LIMB_SEQUENCE,
    frame_to_pixels,
    render_skeleton,
    render_skeleton_png,
)

POSES = {pose.name: pose.keypoints for pose in build_poses()}
# Arms held away from the body and legs apart: no limb crosses another.
OPEN_POSE = POSES["Garment Fit Stance"]
LIMB_COLORS = [tuple(int(c * LIMB_COLOR_FACTOR) for c in color) for color in COLORS]


def _pixel(image: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    return tuple(int(v) for v in image[int(y), int(x)])


def test_limb_sequence_matches_the_kinematic_limbs() -> None:
    assert tuple((a - 1, b - 1) for a, b in LIMB_SEQUENCE) == LIMBS
    assert len(COLORS) == 18


@pytest.mark.parametrize(("width", "height"), [(512, 512), (512, 768), (768, 512), (1, 1)])
def test_image_has_the_requested_shape_and_type(width: int, height: int) -> None:
    image = render_skeleton(OPEN_POSE, width, height)
    assert image.shape == (height, width, 3)
    assert image.dtype == np.uint8


def test_limb_pixels_lie_along_each_limb_in_its_colour() -> None:
    size = 1024
    image = render_skeleton(OPEN_POSE, size, size)
    for limb_index, (start, end) in enumerate(LIMBS):
        a, b = OPEN_POSE[start], OPEN_POSE[end]
        assert a is not None and b is not None
        (ax, ay), (bx, by) = frame_to_pixels(a[0], a[1], size, size), frame_to_pixels(b[0], b[1], size, size)
        # Each limb is an ellipse, thin at its ends, where the joint circles (radius 4) also cover it.
        margin = min(0.45, max(0.25, 8 / math.hypot(bx - ax, by - ay)))
        for t in np.linspace(margin, 1 - margin, 5):
            colour = _pixel(image, ax + (bx - ax) * t, ay + (by - ay) * t)
            assert colour == LIMB_COLORS[limb_index], (limb_index, t)


def test_joint_centres_have_the_joint_colour_and_empty_space_is_black() -> None:
    size = 512
    image = render_skeleton(OPEN_POSE, size, size)
    for index, point in enumerate(OPEN_POSE):
        assert point is not None
        assert _pixel(image, point[0] * size, point[1] * size) == COLORS[index]
    for x, y in ((0, 0), (size - 1, size - 1), (10, size // 2), (size // 2, size - 5)):
        assert _pixel(image, x, y) == (0, 0, 0)
    assert np.count_nonzero(image.any(axis=2)) < 0.1 * size * size


def test_hidden_keypoints_and_their_limbs_are_not_drawn() -> None:
    keypoints = [list(point) if point else None for point in OPEN_POSE]
    keypoints[4] = None  # right wrist
    full, partial = render_skeleton(OPEN_POSE, 512, 512), render_skeleton(keypoints, 512, 512)
    elbow, wrist = OPEN_POSE[3], OPEN_POSE[4]
    assert elbow is not None and wrist is not None
    middle = ((elbow[0] + wrist[0]) / 2 * 512, (elbow[1] + wrist[1]) / 2 * 512)
    assert _pixel(full, *middle) == LIMB_COLORS[3]
    assert _pixel(partial, *middle) == (0, 0, 0)
    assert _pixel(partial, wrist[0] * 512, wrist[1] * 512) == (0, 0, 0)


def test_frame_to_pixels_fits_the_square_frame_inside_the_image() -> None:
    assert frame_to_pixels(0.5, 0.5, 512, 768) == (256.0, 384.0)
    assert frame_to_pixels(0.0, 0.0, 512, 768) == (0.0, 128.0)
    assert frame_to_pixels(1.0, 1.0, 512, 768) == (512.0, 640.0)
    assert frame_to_pixels(0.0, 1.0, 768, 512) == (128.0, 512.0)
    assert frame_to_pixels(0.25, 0.75, 400, 400) == (100.0, 300.0)


@pytest.mark.parametrize(("width", "height"), [(512, 768), (768, 512), (513, 640)])
def test_a_non_square_image_keeps_the_proportions(width: int, height: int) -> None:
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = render_skeleton(OPEN_POSE, width, height)
    square = render_skeleton(OPEN_POSE, side, side)
    assert np.array_equal(image[top : top + side, left : left + side], square)
    assert image.sum() == square.sum(), "nothing is drawn outside the fitted square"
    neck = OPEN_POSE[1]
    assert neck is not None
    x, y = frame_to_pixels(neck[0], neck[1], width, height)
    assert _pixel(image, x, y) == COLORS[1]


def test_png_encodes_the_same_image() -> None:
    png = render_skeleton_png(OPEN_POSE, 512, 768)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert np.array_equal(decoded, render_skeleton(OPEN_POSE, 512, 768))


def _with(index: int, value: object) -> list[object]:
    keypoints: list[object] = list(OPEN_POSE)
    keypoints[index] = value
    return keypoints


@pytest.mark.parametrize(
    ("keypoints", "message"),
    [
        (OPEN_POSE[:17], "18 entries"),
        ([*OPEN_POSE, None], "18 entries"),
        ("x" * 18, "list of 18"),
        (None, "list of 18"),
        (_with(3, [0.5, 0.5]), "keypoint 3"),
        (_with(3, [0.5, 0.5, 1.0, 1.0]), "keypoint 3"),
        (_with(5, [0.5, math.nan, 1.0]), "finite"),
        (_with(5, [math.inf, 0.5, 1.0]), "finite"),
        (_with(5, ["0.5", 0.5, 1.0]), "finite"),
        (_with(5, [True, 0.5, 1.0]), "finite"),
        (_with(5, [1.01, 0.5, 1.0]), "0..1"),
        (_with(5, [0.5, -0.2, 1.0]), "0..1"),
        (_with(0, "abc"), "keypoint 0"),
        (_with(0, 0.5), "keypoint 0"),
    ],
)
def test_invalid_keypoints_are_rejected(keypoints: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_skeleton(keypoints, 64, 64)  # type: ignore[arg-type]


@pytest.mark.parametrize(("width", "height"), [(0, 64), (64, 0), (4097, 64), (64, -1), (64.0, 64), (True, 64)])
def test_invalid_sizes_are_rejected(width: object, height: object) -> None:
    with pytest.raises(ValueError, match="width|height"):
        render_skeleton(OPEN_POSE, width, height)  # type: ignore[arg-type]


def test_largest_size_and_frame_edges_are_accepted() -> None:
    assert render_skeleton(OPEN_POSE, 4096, 16).shape == (16, 4096, 3)
    corners = _with(0, [0, 0, 0.5])
    corners[1] = [1, 1, 0.0]
    assert render_skeleton(corners, 64, 64).any()


@pytest.mark.parametrize("size", [512, 768, 333])
@pytest.mark.parametrize(
    "name",
    [
        "Garment Fit Stance",
        "Confident Crossed Arms",
        "Full Profile Standing",
        "Mid-Stride Sprint",
        "Straight Back View",
        "Tree Pose",
    ],
)
def test_rendering_matches_controlnet_aux(name: str, size: int) -> None:
    pytest.importorskip("controlnet_aux")
    from controlnet_aux.open_pose.body import Keypoint
    from controlnet_aux.open_pose.util import draw_bodypose

    keypoints = POSES[name]
    theirs = draw_bodypose(
        np.zeros((size, size, 3), dtype=np.uint8),
        [Keypoint(point[0], point[1]) if point is not None else None for point in keypoints],
    )
    assert np.array_equal(render_skeleton(keypoints, size, size), theirs)
