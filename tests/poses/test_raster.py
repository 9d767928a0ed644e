"""posegen.poses.raster sets exactly the pixels OpenCV's drawing sets, primitive by primitive and for whole
skeletons, so the gateway can render control images without OpenCV."""

from __future__ import annotations

import random

import numpy as np
import pytest

from posegen.poses import raster
from posegen.poses.catalog import build_poses
from posegen.poses.render import render_skeleton

cv2 = pytest.importorskip("cv2")
SIZES = (16, 64, 333, 512)


def _cases(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        width, height = rng.choice(SIZES), rng.choice(SIZES)
        color = (rng.randint(1, 255), rng.randint(1, 255), rng.randint(1, 255))
        yield rng, width, height, color


def test_ellipse_polygons_and_their_fill_match_opencv():
    for rng, width, height, color in _cases(1, 600):
        center = (rng.randint(-20, width + 20), rng.randint(-20, height + 20))
        axes, angle = (rng.randint(0, 400), rng.randint(0, 8)), rng.randint(-180, 180)
        ours = raster.ellipse_polygon(center, axes, angle)
        theirs = cv2.ellipse2Poly(center, axes, angle, 0, 360, 1)
        assert np.array_equal(ours, theirs), (center, axes, angle)
        mine, reference = np.zeros((height, width, 3), np.uint8), np.zeros((height, width, 3), np.uint8)
        raster.fill_convex_polygon(mine, ours, color)
        cv2.fillConvexPoly(reference, theirs, color)
        assert np.array_equal(mine, reference), (width, height, center, axes, angle)


def test_filled_circles_match_opencv_inside_and_across_the_border():
    for rng, width, height, color in _cases(2, 300):
        center, radius = (rng.randint(-10, width + 10), rng.randint(-10, height + 10)), rng.randint(0, 12)
        mine, reference = np.zeros((height, width, 3), np.uint8), np.zeros((height, width, 3), np.uint8)
        raster.fill_circle(mine, center, radius, color)
        cv2.circle(reference, center, radius, color, thickness=-1)
        assert np.array_equal(mine, reference), (width, height, center, radius)


def test_lines_match_opencv_including_clipped_ones():
    for rng, width, height, color in _cases(3, 600):
        start = (rng.randint(-60, width + 60), rng.randint(-60, height + 60))
        end = (rng.randint(-60, width + 60), rng.randint(-60, height + 60))
        mine, reference = np.zeros((height, width, 3), np.uint8), np.zeros((height, width, 3), np.uint8)
        raster.draw_line(mine, start, end, color)
        cv2.line(reference, start, end, color, 1, cv2.LINE_8)
        assert np.array_equal(mine, reference), (width, height, start, end)


def _draw_with_opencv(keypoints, size: int) -> np.ndarray:
    """controlnet-aux's draw_bodypose as it calls OpenCV (written out, since importing it needs torch)."""
    from posegen.poses.render import COLORS, LIMB_COLOR_FACTOR, LIMB_SEQUENCE, STICK_WIDTH

    canvas = np.zeros((size, size, 3), np.uint8)
    for (a, b), color in zip(LIMB_SEQUENCE, COLORS, strict=False):
        p, q = keypoints[a - 1], keypoints[b - 1]
        if p is None or q is None:
            continue
        ys, xs = np.array([p[0], q[0]]) * float(size), np.array([p[1], q[1]]) * float(size)
        length = ((xs[0] - xs[1]) ** 2 + (ys[0] - ys[1]) ** 2) ** 0.5
        angle = np.degrees(np.arctan2(xs[0] - xs[1], ys[0] - ys[1]))
        polygon = cv2.ellipse2Poly(
            (int(np.mean(ys)), int(np.mean(xs))), (int(length / 2), STICK_WIDTH), int(angle), 0, 360, 1
        )
        cv2.fillConvexPoly(canvas, polygon, [int(float(c) * LIMB_COLOR_FACTOR) for c in color])
    for point, color in zip(keypoints, COLORS, strict=False):
        if point is not None:
            cv2.circle(canvas, (int(point[0] * size), int(point[1] * size)), 4, color, thickness=-1)
    return canvas


@pytest.mark.parametrize("size", [384])
def test_every_library_pose_renders_as_opencv_draws_it(size):
    for pose in build_poses():
        assert np.array_equal(render_skeleton(pose.keypoints, size, size), _draw_with_opencv(pose.keypoints, size)), (
            pose.name
        )


def test_random_skeletons_touching_the_frame_edges_render_as_opencv_draws_them():
    rng = random.Random(4)
    for _ in range(200):
        keypoints = [
            None if rng.random() < 0.15 else [rng.choice([0.0, 1.0, rng.random()]), rng.random(), 1.0]
            for _ in range(18)
        ]
        size = rng.choice([64, 333, 512])
        assert np.array_equal(render_skeleton(keypoints, size, size), _draw_with_opencv(keypoints, size))
