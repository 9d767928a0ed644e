"""From mediapipe's 33 pose landmarks to the library's 18 OpenPose keypoints, framed as the library frames
its poses; the people a detector saw and which one is taken; the skeleton drawn over the photo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from posegen.images import encode_jpeg
from posegen.poses.render import draw_over

NECK = 1
# OpenPose-18 order (Nose, Neck, RShoulder, RElbow, RWrist, LShoulder, LElbow, LWrist, RHip, RKnee, RAnkle,
# LHip, LKnee, LAnkle, REye, LEye, REar, LEar) from mediapipe's landmarks; both name the subject's own left
# and right. The neck has no landmark: it is the shoulders' midpoint.
MEDIAPIPE_INDEX: tuple[int | None, ...] = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
MIN_VISIBILITY = 0.5
"""A landmark the model thinks less likely than this to be visible (occluded, or outside the photo, where
mediapipe still guesses a position) is left out, as OpenPose leaves out what it does not see."""

# The library's poses stand in a square frame with the body (eyes to ankles) 0.78 high, centred at
# (0.5, 0.53); an extracted pose is framed the same way, so it behaves like a library pose in a generation.
FRAME_HEIGHT = 0.78
FRAME_WIDTH = 0.9
FRAME_CENTRE = (0.5, 0.53)
OVERLAY_SIDE = 768


@dataclass(frozen=True, slots=True)
class Landmark:
    """One mediapipe landmark: x and y normalised to the photo (they may fall outside 0..1), visibility 0..1."""

    x: float
    y: float
    visibility: float


@dataclass(frozen=True, slots=True)
class Person:
    """A person the detector saw: a box normalised to the photo and the detector's score."""

    x: float
    y: float
    width: float
    height: float
    score: float
    aspect: float = 1.0
    """The photo's width / height, so that areas compare in pixels."""

    @property
    def area(self) -> float:
        return self.width * self.height * self.aspect

    def overlap(self, other: Person) -> float:
        """Intersection over the smaller box's area."""
        width = min(self.x + self.width, other.x + other.width) - max(self.x, other.x)
        height = min(self.y + self.height, other.y + other.height) - max(self.y, other.y)
        if width <= 0 or height <= 0:
            return 0.0
        return width * height / max(1e-9, min(self.width * self.height, other.width * other.height))


def openpose_keypoints(landmarks: Sequence[Landmark]) -> list[list[float] | None]:
    """The 18 keypoints ``[x, y, confidence]`` normalised to the photo; None where not visible or outside it."""
    if len(landmarks) != 33:
        raise ValueError(f"expected mediapipe's 33 pose landmarks, got {len(landmarks)}")

    def seen(index: int) -> list[float] | None:
        mark = landmarks[index]
        inside = 0.0 <= mark.x <= 1.0 and 0.0 <= mark.y <= 1.0
        return [mark.x, mark.y, mark.visibility] if inside and mark.visibility >= MIN_VISIBILITY else None

    keypoints = [None if index is None else seen(index) for index in MEDIAPIPE_INDEX]
    left, right = seen(LEFT_SHOULDER), seen(RIGHT_SHOULDER)
    if left and right:
        keypoints[NECK] = [(left[0] + right[0]) / 2, (left[1] + right[1]) / 2, min(left[2], right[2])]
    return keypoints


def to_pose_frame(keypoints: Sequence[Sequence[float] | None], width: int, height: int) -> list[list[float] | None]:
    """Keypoints normalised to a ``width`` x ``height`` photo, moved into the library's square frame: the box
    of the visible keypoints keeps its proportions, is scaled to the library's body height (or width, if it
    is wider) and centred where the library's poses stand."""
    visible = [(p[0] * width, p[1] * height) for p in keypoints if p is not None]
    if not visible:
        raise ValueError("no visible keypoint to frame")
    xs, ys = [x for x, _ in visible], [y for _, y in visible]
    box_width, box_height = max(xs) - min(xs), max(ys) - min(ys)
    scale = min(FRAME_HEIGHT / max(box_height, 1e-6), FRAME_WIDTH / max(box_width, 1e-6))
    centre_x, centre_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def framed(point: Sequence[float]) -> list[float]:
        x = FRAME_CENTRE[0] + (point[0] * width - centre_x) * scale
        y = FRAME_CENTRE[1] + (point[1] * height - centre_y) * scale
        return [_unit(x), _unit(y), round(float(point[2]), 4)]

    return [None if point is None else framed(point) for point in keypoints]


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 5)


def distinct_people(candidates: Sequence[Person], *, max_overlap: float = 0.5) -> list[Person]:
    """Candidates seen more than once (by overlapping windows) counted once: greedily by score, a box that
    mostly overlaps one already kept is the same person. Kept in reading order, left to right."""
    kept: list[Person] = []
    for person in sorted(candidates, key=lambda p: -p.score):
        if all(person.overlap(other) <= max_overlap for other in kept):
            kept.append(person)
    return sorted(kept, key=lambda p: (p.x + p.width / 2, p.y))


def overlay_jpeg(photo: Image.Image, keypoints: Sequence[Sequence[float] | None], *, quality: int = 85) -> bytes:
    """The photo (at most ``OVERLAY_SIDE`` px) with the skeleton drawn over it by the library's drawing code;
    ``keypoints`` are normalised to the photo."""
    preview = photo.convert("RGB")
    preview.thumbnail((OVERLAY_SIDE, OVERLAY_SIDE), Image.Resampling.BILINEAR)
    return encode_jpeg(Image.fromarray(draw_over(np.array(preview), keypoints)), quality=quality)
