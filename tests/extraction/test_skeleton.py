"""From mediapipe's landmarks to the library's keypoints, without the model: the index mapping, the neck,
what is left out, the framing, counting people once, and the overlay drawn by the library's code."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from posegen.extraction.extract import extract_pose
from posegen.extraction.skeleton import (
    FRAME_CENTRE,
    FRAME_HEIGHT,
    MEDIAPIPE_INDEX,
    Landmark,
    Person,
    distinct_people,
    openpose_keypoints,
    overlay_jpeg,
    to_pose_frame,
)
from posegen.poses.render import draw_over

# mediapipe's landmark names, in its order (from its documentation), and OpenPose-18's.
MEDIAPIPE = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
]
OPENPOSE = [
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
]


def landmarks(**overrides) -> list[Landmark]:
    """33 visible landmarks spread over the photo, landmark i at (0.1 + i/50, 0.05 + i/40)."""
    marks = [Landmark(0.1 + i / 50, 0.05 + i / 40, 0.9) for i in range(33)]
    for name, mark in overrides.items():
        marks[MEDIAPIPE.index(name)] = mark
    return marks


def test_each_openpose_keypoint_comes_from_the_landmark_of_the_same_name():
    for openpose_name, index in zip(OPENPOSE, MEDIAPIPE_INDEX, strict=True):
        if openpose_name == "neck":
            assert index is None
        else:
            assert MEDIAPIPE[index] == openpose_name


def test_the_neck_is_the_shoulders_midpoint_with_the_weaker_confidence():
    keypoints = openpose_keypoints(
        landmarks(left_shoulder=Landmark(0.6, 0.4, 0.95), right_shoulder=Landmark(0.4, 0.5, 0.7))
    )
    assert keypoints[1] == pytest.approx([0.5, 0.45, 0.7])
    assert keypoints[5] == [0.6, 0.4, 0.95] and keypoints[2] == [0.4, 0.5, 0.7]
    no_right = openpose_keypoints(landmarks(right_shoulder=Landmark(0.4, 0.5, 0.2)))
    assert no_right[1] is None and no_right[2] is None


def test_unseen_or_outside_landmarks_are_left_out():
    keypoints = openpose_keypoints(
        landmarks(left_ankle=Landmark(0.5, 1.4, 0.9), right_ankle=Landmark(0.5, 0.9, 0.3), nose=Landmark(-0.01, 0.2, 1))
    )
    assert keypoints[13] is None and keypoints[10] is None and keypoints[0] is None
    assert sum(k is not None for k in keypoints) == 15
    with pytest.raises(ValueError, match="33"):
        openpose_keypoints(landmarks()[:17])


def test_the_pose_is_framed_as_the_library_frames_its_poses():
    # A person 1000 px tall and 300 px wide in a 2000 x 1500 photo, off centre.
    keypoints = [None] * 18
    keypoints[0] = [700 / 2000, 200 / 1500, 0.9]  # nose
    keypoints[10] = [550 / 2000, 1200 / 1500, 0.8]  # right ankle
    keypoints[13] = [850 / 2000, 1200 / 1500, 0.8]  # left ankle
    framed = to_pose_frame(keypoints, 2000, 1500)
    assert framed[0][1] == pytest.approx(FRAME_CENTRE[1] - FRAME_HEIGHT / 2)
    assert framed[10][1] == pytest.approx(FRAME_CENTRE[1] + FRAME_HEIGHT / 2)
    assert (framed[10][0] + framed[13][0]) / 2 == pytest.approx(FRAME_CENTRE[0])
    assert framed[13][0] - framed[10][0] == pytest.approx(300 * FRAME_HEIGHT / 1000)  # proportions kept
    assert framed[0][2] == 0.9 and framed[1] is None
    with pytest.raises(ValueError):
        to_pose_frame([None] * 18, 10, 10)


def test_a_person_seen_by_two_windows_counts_once_and_the_largest_is_taken():
    big = Person(0.30, 0.1, 0.40, 0.8, score=0.7, aspect=2.0)
    again = Person(0.32, 0.12, 0.38, 0.78, score=0.9, aspect=2.0)
    small = Person(0.80, 0.5, 0.15, 0.4, score=0.95, aspect=2.0)
    left = Person(0.02, 0.2, 0.2, 0.5, score=0.6, aspect=2.0)
    people = distinct_people([big, small, again, left])
    assert people == [left, again, small]  # left to right; the better-scored duplicate stays

    class Detector:  # reads no pose for ``again``: the next largest is taken
        def people(self, image):
            return [SimpleNamespace(person=person) for person in people]

        def landmarks(self, image, found):
            return None if found.person is again else landmarks()

    assert extract_pose(detector=Detector(), image=np.zeros((100, 200, 3), np.uint8)).chosen == 0


def test_the_overlay_is_the_photo_with_the_library_drawing_over_it():
    photo = Image.fromarray(np.full((300, 200, 3), 40, np.uint8))
    keypoints = openpose_keypoints(landmarks())
    jpeg = overlay_jpeg(photo, keypoints)
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)
    expected = draw_over(np.full((300, 200, 3), 40, np.uint8), keypoints).astype(int)
    assert decoded.shape == expected.shape
    assert np.abs(decoded - expected).mean() < 3, "the same drawing, up to JPEG's loss"
    large = overlay_jpeg(Image.new("RGB", (3000, 1500)), keypoints)
    assert Image.open(io.BytesIO(large)).size == (768, 384)
