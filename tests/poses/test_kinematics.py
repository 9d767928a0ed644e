"""The kinematic skeleton: geometry of known poses, visibility and framing."""

from __future__ import annotations

import math

import pytest

from posegen.poses import gestures as g
from posegen.poses.kinematics import BODY, KEYPOINT_NAMES, LIMBS, Limb, PoseParams, solve

INDEX = {name: i for i, name in enumerate(KEYPOINT_NAMES)}
MIRRORED = [(f"right_{part}", f"left_{part}") for part in
            ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "eye", "ear")]  # fmt: skip
ARM_OUT = Limb(90, 0, 90, 0)
ARM_FORWARD = Limb(90, 90, 90, 90)


def _point(keypoints: list[list[float] | None], name: str) -> tuple[float, float]:
    point = keypoints[INDEX[name]]
    assert point is not None, f"{name} is hidden"
    return point[0], point[1]


def _length(keypoints: list[list[float] | None], a: str, b: str) -> float:
    (ax, ay), (bx, by) = _point(keypoints, a), _point(keypoints, b)
    return math.hypot(ax - bx, ay - by)


def _frame_scale(keypoints: list[list[float] | None]) -> float:
    """Frame units per stature, from the torso of an upright pose facing the camera."""
    (rx, ry), (lx, ly) = _point(keypoints, "right_hip"), _point(keypoints, "left_hip")
    neck_x, neck_y = _point(keypoints, "neck")
    return math.hypot(neck_x - (rx + lx) / 2, neck_y - (ry + ly) / 2) / BODY.torso


def test_keypoint_names_and_limbs_follow_openpose_18() -> None:
    assert KEYPOINT_NAMES[:2] == ("nose", "neck")
    assert KEYPOINT_NAMES[14:] == ("right_eye", "left_eye", "right_ear", "left_ear")
    assert len(KEYPOINT_NAMES) == 18 and len(set(KEYPOINT_NAMES)) == 18
    assert len(LIMBS) == 17
    assert all(0 <= a < 18 and 0 <= b < 18 for a, b in LIMBS)


def test_output_is_eighteen_rounded_points_inside_the_margin() -> None:
    keypoints = solve(PoseParams(margin=0.1))
    assert len(keypoints) == 18
    for point in keypoints:
        assert point is not None and len(point) == 3
        x, y, confidence = point
        assert confidence == 1.0
        assert round(x, 4) == x and round(y, 4) == y
        assert 0.1 <= x <= 0.9 and 0.1 <= y <= 0.9
    xs = [point[0] for point in keypoints if point]
    assert min(xs) + max(xs) == pytest.approx(1.0, abs=1e-3)  # centred horizontally


def test_neutral_standing_pose_is_symmetric_and_upright() -> None:
    keypoints = solve(PoseParams())
    neck_x, _ = _point(keypoints, "neck")
    assert _point(keypoints, "nose")[0] == pytest.approx(neck_x, abs=1e-4)
    for right, left in MIRRORED:
        (rx, ry), (lx, ly) = _point(keypoints, right), _point(keypoints, left)
        assert rx < neck_x < lx, "the person's right appears on the image's left"
        assert rx + lx == pytest.approx(2 * neck_x, abs=2e-4)
        assert ry == pytest.approx(ly, abs=1e-4)
    heights = [_point(keypoints, name)[1] for name in ("nose", "neck", "right_hip", "right_knee", "right_ankle")]
    assert heights == sorted(heights)


def test_back_view_mirrors_the_sides_and_hides_the_face() -> None:
    keypoints = solve(PoseParams(yaw=180))
    assert _point(keypoints, "right_shoulder")[0] > _point(keypoints, "left_shoulder")[0]
    assert [keypoints[INDEX[name]] for name in ("nose", "right_eye", "left_eye")] == [None, None, None]
    assert keypoints[INDEX["right_ear"]] is not None and keypoints[INDEX["left_ear"]] is not None


def test_profile_view_hides_the_far_side_and_overlaps_the_limbs() -> None:
    keypoints = solve(PoseParams(yaw=90))  # faces image-right, the right side towards the camera
    assert keypoints[INDEX["left_ear"]] is None and keypoints[INDEX["left_eye"]] is None
    assert keypoints[INDEX["right_ear"]] is not None and keypoints[INDEX["right_eye"]] is not None
    assert keypoints[INDEX["left_wrist"]] is None, "the far hand is behind the body"
    for right, left in (
        ("right_shoulder", "left_shoulder"),
        ("right_hip", "left_hip"),
        ("right_knee", "left_knee"),
        ("right_ankle", "left_ankle"),
    ):
        assert _point(keypoints, right) == pytest.approx(_point(keypoints, left), abs=1e-3)
    assert _point(keypoints, "nose")[0] > _point(keypoints, "neck")[0]


def test_a_small_head_turn_keeps_both_ears_and_a_larger_one_hides_the_far_ear() -> None:
    assert None not in solve(PoseParams(head_turn=15))
    turned = solve(PoseParams(head_turn=40))
    assert turned[INDEX["left_ear"]] is None and turned[INDEX["right_ear"]] is not None


def test_an_arm_raised_sideways_puts_the_wrist_level_with_the_shoulder_at_full_reach() -> None:
    keypoints = solve(PoseParams(right_arm=ARM_OUT))
    scale = _frame_scale(keypoints)
    (sx, sy), (ex, ey), (wx, wy) = (_point(keypoints, f"right_{j}") for j in ("shoulder", "elbow", "wrist"))
    assert wy == pytest.approx(sy, abs=2e-4) and ey == pytest.approx(sy, abs=2e-4)
    assert sx - ex == pytest.approx(BODY.upper_arm * scale, abs=5e-4)
    assert sx - wx == pytest.approx((BODY.upper_arm + BODY.forearm) * scale, abs=5e-4)


def test_a_raised_arm_goes_above_the_head() -> None:
    keypoints = solve(PoseParams(left_arm=Limb(180, 0, 180, 0)))
    assert _point(keypoints, "left_wrist")[1] < _point(keypoints, "left_eye")[1]
    assert _point(keypoints, "left_wrist")[0] == pytest.approx(_point(keypoints, "left_shoulder")[0], abs=1e-3)


def test_a_bone_pointing_at_the_camera_is_foreshortened() -> None:
    side = solve(PoseParams(right_arm=ARM_OUT))
    forward = solve(PoseParams(right_arm=ARM_FORWARD))
    assert _frame_scale(side) == pytest.approx(_frame_scale(forward), rel=1e-3)
    assert _length(forward, "right_shoulder", "right_wrist") < 0.01 * _length(side, "right_shoulder", "right_wrist")
    half = solve(PoseParams(right_arm=Limb(90, 45, 90, 45)))
    expected = math.cos(math.radians(45)) * _length(side, "right_shoulder", "right_elbow")
    assert _length(half, "right_shoulder", "right_elbow") == pytest.approx(expected, rel=0.01)


def test_looking_down_from_above_shortens_the_torso() -> None:
    level, above = solve(PoseParams()), solve(PoseParams(pitch=30))
    ratio = _length(above, "neck", "right_hip") / _length(above, "right_shoulder", "left_shoulder")
    level_ratio = _length(level, "neck", "right_hip") / _length(level, "right_shoulder", "left_shoulder")
    assert ratio < level_ratio


def test_hands_behind_the_back_are_hidden_from_the_front_and_seen_from_behind() -> None:
    front = solve(PoseParams(right_arm=g.BEHIND_BACK, left_arm=g.BEHIND_BACK))
    assert front[INDEX["right_wrist"]] is None and front[INDEX["left_wrist"]] is None
    assert front[INDEX["right_elbow"]] is not None and front[INDEX["left_elbow"]] is not None
    back = solve(PoseParams(yaw=180, right_arm=g.BEHIND_BACK, left_arm=g.BEHIND_BACK))
    assert back[INDEX["right_wrist"]] is not None and back[INDEX["left_wrist"]] is not None


def test_hands_in_front_are_hidden_from_behind() -> None:
    back = solve(PoseParams(yaw=180, right_arm=g.HOLD_AT_CHEST, left_arm=g.HOLD_AT_CHEST))
    assert back[INDEX["right_wrist"]] is None and back[INDEX["left_wrist"]] is None


def test_sitting_puts_the_knees_in_front_of_the_hips() -> None:
    keypoints = solve(PoseParams(yaw=90, right_leg=g.SEATED, left_leg=g.SEATED))
    (hx, hy), (kx, ky), (ax, ay) = (_point(keypoints, f"right_{j}") for j in ("hip", "knee", "ankle"))
    assert kx - hx == pytest.approx(BODY.thigh * _frame_scale(keypoints), rel=0.05)
    assert abs(ky - hy) < 0.1 * (kx - hx)
    assert ay > ky and abs(ax - kx) < 0.1 * (ay - ky)


def test_margin_is_validated() -> None:
    with pytest.raises(ValueError, match="margin"):
        PoseParams(margin=0.5)


def test_solve_is_deterministic() -> None:
    params = PoseParams(yaw=33, lean=12, right_arm=g.HAND_TO_CHIN, left_leg=g.STEP_FORWARD)
    assert solve(params) == solve(params)
