"""The seed catalogue: its category tree, its metadata and the anatomical plausibility of every pose."""

from __future__ import annotations

import itertools
import math
import re
import time
from collections import Counter

import pytest

from posegen.poses.catalog import CATEGORIES, DIFFICULTIES, GENDER_SUITABILITIES, PoseSpec, build_poses
from posegen.poses.kinematics import KEYPOINT_NAMES, Limb, PoseParams, solve

Keypoints = list[list[float] | None]
Point = tuple[float, float]

NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = range(8)
R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, R_EYE, L_EYE, R_EAR, L_EAR = range(8, 18)

# Joint-centre lengths as fractions of stature, from Drillis & Contini (1966) as tabulated in Winter,
# "Biomechanics and Motor Control of Human Movement": shoulder height 0.818, hip height 0.530, upper arm
# 0.186, forearm 0.146, thigh 0.245, shank 0.246, shoulder width 0.259, hip width 0.191. Independent of the
# proportions the kinematic model uses.
CANONICAL: dict[str, float] = {
    "right upper arm": 0.186,
    "left upper arm": 0.186,
    "right forearm": 0.146,
    "left forearm": 0.146,
    "right thigh": 0.245,
    "left thigh": 0.245,
    "right shin": 0.246,
    "left shin": 0.246,
    "shoulders": 0.259,
    "hips": 0.191,
    "torso": 0.288,
}
SEGMENTS: dict[str, tuple[int, int]] = {
    "right upper arm": (R_SHOULDER, R_ELBOW),
    "right forearm": (R_ELBOW, R_WRIST),
    "left upper arm": (L_SHOULDER, L_ELBOW),
    "left forearm": (L_ELBOW, L_WRIST),
    "right thigh": (R_HIP, R_KNEE),
    "right shin": (R_KNEE, R_ANKLE),
    "left thigh": (L_HIP, L_KNEE),
    "left shin": (L_KNEE, L_ANKLE),
    "shoulders": (R_SHOULDER, L_SHOULDER),
    "hips": (R_HIP, L_HIP),
}
LIMB_OF: dict[str, str] = {
    "right upper arm": "right arm",
    "right forearm": "right arm",
    "left upper arm": "left arm",
    "left forearm": "left arm",
    "right thigh": "right leg",
    "right shin": "right leg",
    "left thigh": "left leg",
    "left shin": "left leg",
    "shoulders": "trunk",
    "hips": "trunk",
    "torso": "trunk",
}

# A projection only shortens a bone, so a bone's 2D length over its canonical length is at most the pose's
# true scale (frame units per stature), reached when the bone lies in the image plane. The largest such
# ratio over the bones of the other limbs is thus a lower bound of the scale that the bones under test
# cannot inflate, even when their whole limb is wrong.
# Segment-to-stature ratios vary between adults with a coefficient of variation of about 5-8% per segment,
# so a bone may exceed its canonical length at that scale by 25% (about three standard deviations).
MAX_STRETCH = 1.25
# A bone whose 2D length reaches 90% of its canonical length is treated as lying in the image plane (less
# than ~25 degrees out of it); only then do its 2D length ratios say something about the body.
IN_PLANE = 0.90
# Upper arm / forearm between joint centres is 0.186 / 0.146 = 1.27; the brachial index (radius / humerus)
# of adults, 0.72-0.80, gives 1.25-1.39 in bone lengths. Thigh / shank is 0.245 / 0.246 = 1.0 between joint
# centres; the crural index (tibia / femur), 0.80-0.88, and the joint-centre offsets give 0.9-1.3. Both
# ranges are widened by the in-plane tolerance.
UPPER_ARM_TO_FOREARM = (1.0, 1.45)
THIGH_TO_SHIN = (0.85, 1.35)
# Bilateral asymmetry of adult long bones is under 3% (Auerbach & Ruff 2006); two in-plane bones may still
# differ by up to 1 / IN_PLANE through foreshortening, hence 15%.
LEFT_RIGHT = 1.15
FRAME_MARGIN = 0.02
# Face points from the nose, in statures: an eye is ~0.04 away in 3D, an ear ~0.09.
EYE_TO_NOSE_MAX = 0.07
EAR_TO_NOSE_MAX = 0.14
EYE_BELOW_NOSE_MAX = 0.02
# The neck is the shoulders' midpoint: it may stray from it by 3% of stature in either direction.
NECK_TOLERANCE = 0.03


def _xy(keypoints: Keypoints, index: int) -> Point:
    point = keypoints[index]
    assert point is not None, f"{KEYPOINT_NAMES[index]} is not visible"
    return point[0], point[1]


def _distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _midpoint(a: Point, b: Point) -> Point:
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def _segment_lengths(keypoints: Keypoints) -> dict[str, float]:
    lengths = {
        name: _distance(_xy(keypoints, i), _xy(keypoints, j))
        for name, (i, j) in SEGMENTS.items()
        if keypoints[i] is not None and keypoints[j] is not None
    }
    hip_middle = _midpoint(_xy(keypoints, R_HIP), _xy(keypoints, L_HIP))
    lengths["torso"] = _distance(_xy(keypoints, NECK), hip_middle)
    return lengths


def _scale(lengths: dict[str, float], judged: tuple[str, ...] = ()) -> float:
    """The pose's scale in frame units per stature, as told by the limbs holding none of the ``judged`` bones."""
    skipped = {LIMB_OF[name] for name in judged}
    ratios = [length / CANONICAL[name] for name, length in lengths.items() if LIMB_OF[name] not in skipped]
    return max(ratios, default=math.inf)


def implausibilities(keypoints: Keypoints) -> list[str]:
    """Why ``keypoints`` cannot be a human body seen by a camera; empty when they can."""
    if len(keypoints) != 18:
        return [f"{len(keypoints)} keypoints instead of 18"]
    problems = [
        f"{KEYPOINT_NAMES[i]} at {point[:2]} is outside the frame"
        for i, point in enumerate(keypoints)
        if point is not None and not all(FRAME_MARGIN <= value <= 1 - FRAME_MARGIN for value in point[:2])
    ]
    missing = [KEYPOINT_NAMES[i] for i in (NECK, R_SHOULDER, L_SHOULDER, R_HIP, L_HIP) if keypoints[i] is None]
    if missing:
        return [*problems, f"core points missing: {missing}"]
    lengths = _segment_lengths(keypoints)
    scale = _scale(lengths)
    return [
        *problems,
        *_overlong_bones(lengths),
        *_limb_ratio_problems(lengths),
        *_neck_problems(keypoints, scale),
        *_face_problems(keypoints, scale),
    ]


def _overlong_bones(lengths: dict[str, float]) -> list[str]:
    problems = []
    for name, length in lengths.items():
        stretch = length / (CANONICAL[name] * _scale(lengths, (name,)))
        if stretch > MAX_STRETCH:
            problems.append(f"{name} is {stretch:.2f}x its expected length")
    return problems


def _in_plane(lengths: dict[str, float], pair: tuple[str, str]) -> bool:
    """Whether both bones of ``pair`` lie in the image plane, judged by the scale the other bones give."""
    scale = _scale(lengths, pair)
    return all(name in lengths and lengths[name] >= IN_PLANE * CANONICAL[name] * scale for name in pair)


def _limb_ratio_problems(lengths: dict[str, float]) -> list[str]:
    problems = []
    for side in ("right", "left"):
        for upper, lower, (low, high) in (
            (f"{side} upper arm", f"{side} forearm", UPPER_ARM_TO_FOREARM),
            (f"{side} thigh", f"{side} shin", THIGH_TO_SHIN),
        ):
            if _in_plane(lengths, (upper, lower)) and not low <= lengths[upper] / lengths[lower] <= high:
                problems.append(f"{upper} / {lower} = {lengths[upper] / lengths[lower]:.2f}")
    for bone in ("upper arm", "forearm", "thigh", "shin"):
        right, left = f"right {bone}", f"left {bone}"
        if _in_plane(lengths, (right, left)) and not 1 / LEFT_RIGHT <= lengths[right] / lengths[left] <= LEFT_RIGHT:
            problems.append(f"right / left {bone} = {lengths[right] / lengths[left]:.2f}")
    return problems


def _neck_problems(keypoints: Keypoints, scale: float) -> list[str]:
    neck, right, left = _xy(keypoints, NECK), _xy(keypoints, R_SHOULDER), _xy(keypoints, L_SHOULDER)
    tolerance = NECK_TOLERANCE * scale
    problems = []
    if not min(right[0], left[0]) - tolerance <= neck[0] <= max(right[0], left[0]) + tolerance:
        problems.append("the neck is not between the shoulders")
    if abs(neck[1] - (right[1] + left[1]) / 2) > tolerance:
        problems.append("the neck is off the shoulder line")
    if neck[1] >= _midpoint(_xy(keypoints, R_HIP), _xy(keypoints, L_HIP))[1]:
        problems.append("the neck is not above the hips")
    return problems


def _face_problems(keypoints: Keypoints, scale: float) -> list[str]:
    if keypoints[NOSE] is None:
        return []
    nose = _xy(keypoints, NOSE)
    problems = []
    for index in (R_EYE, L_EYE, R_EAR, L_EAR):
        if keypoints[index] is None:
            continue
        point = _xy(keypoints, index)
        limit = EYE_TO_NOSE_MAX if index in (R_EYE, L_EYE) else EAR_TO_NOSE_MAX
        if _distance(point, nose) > limit * scale:
            problems.append(f"{KEYPOINT_NAMES[index]} is too far from the nose")
        if index in (R_EYE, L_EYE) and point[1] > nose[1] + EYE_BELOW_NOSE_MAX * scale:
            problems.append(f"{KEYPOINT_NAMES[index]} is below the nose")
    return problems


POSES = build_poses()


def _pose(name: str) -> Keypoints:
    """A mutable copy of a catalogue pose's keypoints."""
    pose = next(p for p in POSES if p.name == name)
    return [list(point) if point is not None else None for point in pose.keypoints]


@pytest.mark.parametrize("pose", POSES, ids=[f"{p.category_slug}/{p.name}" for p in POSES])
def test_every_pose_is_anatomically_plausible(pose: PoseSpec) -> None:
    assert len(pose.keypoints) == 18
    for point in pose.keypoints:
        assert point is None or (len(point) == 3 and all(math.isfinite(value) for value in point))
    assert implausibilities(pose.keypoints) == []


def _stretch(keypoints: Keypoints, start: int, end: int, factor: float, carry: tuple[int, ...] = ()) -> None:
    """Make the segment from ``start`` to ``end`` ``factor`` times as long, moving ``carry`` along with ``end``."""
    (ax, ay), (bx, by) = _xy(keypoints, start), _xy(keypoints, end)
    dx, dy = (bx - ax) * (factor - 1), (by - ay) * (factor - 1)
    for index in (end, *carry):
        x, y = _xy(keypoints, index)
        keypoints[index] = [x + dx, y + dy, 1.0]


REFERENCE = "Classic Front Stance"


def test_the_checker_accepts_the_reference_pose() -> None:
    assert implausibilities(_pose(REFERENCE)) == []


def test_the_checker_rejects_a_forearm_three_times_the_upper_arm() -> None:
    keypoints = _pose(REFERENCE)
    lengths = _segment_lengths(keypoints)
    _stretch(keypoints, R_ELBOW, R_WRIST, 3 * lengths["right upper arm"] / lengths["right forearm"])
    assert any(problem.startswith("right forearm is") for problem in implausibilities(keypoints))


def test_the_checker_rejects_an_arm_a_fifth_longer_than_the_other() -> None:
    keypoints = _pose(REFERENCE)
    _stretch(keypoints, L_SHOULDER, L_ELBOW, 1.2, carry=(L_WRIST,))
    _stretch(keypoints, L_ELBOW, L_WRIST, 1.2)
    assert implausibilities(keypoints) == ["right / left upper arm = 0.83", "right / left forearm = 0.83"]


def test_the_checker_rejects_a_forearm_longer_than_its_upper_arm() -> None:
    keypoints = _pose(REFERENCE)
    _stretch(keypoints, R_SHOULDER, R_ELBOW, 0.92, carry=(R_WRIST,))
    _stretch(keypoints, R_ELBOW, R_WRIST, 1.2)
    assert "right upper arm / right forearm = 0.98" in implausibilities(keypoints)


def test_the_checker_rejects_a_neck_outside_the_shoulders() -> None:
    keypoints = _pose(REFERENCE)
    keypoints[NECK] = [_xy(keypoints, R_SHOULDER)[0] - 0.08, _xy(keypoints, NECK)[1], 1.0]
    assert "the neck is not between the shoulders" in implausibilities(keypoints)


def test_the_checker_rejects_a_point_outside_the_frame_and_a_neck_below_the_hips() -> None:
    keypoints = _pose(REFERENCE)
    keypoints[R_ANKLE] = [_xy(keypoints, R_ANKLE)[0], 1.04, 1.0]
    for index in (NECK, R_SHOULDER, L_SHOULDER):
        keypoints[index] = [_xy(keypoints, index)[0], 0.6, 1.0]
    problems = implausibilities(keypoints)
    assert problems[0].startswith("right_ankle at [") and problems[0].endswith("is outside the frame")
    assert "the neck is not above the hips" in problems


def test_the_checker_rejects_an_eye_far_from_the_face() -> None:
    keypoints = _pose(REFERENCE)
    x, y = _xy(keypoints, L_EYE)
    keypoints[L_EYE] = [x + 0.1, y + 0.1, 1.0]
    assert implausibilities(keypoints) == ["left_eye is too far from the nose", "left_eye is below the nose"]


def _normalised(keypoints: Keypoints) -> list[Point | None]:
    """Keypoints relative to the neck, in units of the 2D torso length (neck to the hip midpoint)."""
    neck = _xy(keypoints, NECK)
    torso = _distance(neck, _midpoint(_xy(keypoints, R_HIP), _xy(keypoints, L_HIP)))
    return [
        None if point is None else ((point[0] - neck[0]) / torso, (point[1] - neck[1]) / torso) for point in keypoints
    ]


# A point visible in one pose only differs like a point moved by half a torso length (a hand that goes
# from the side to behind the back moves about that far).
VISIBILITY_DIFFERENCE = 0.5


def pose_distance(a: Keypoints, b: Keypoints) -> float:
    """Mean distance, in torso lengths, between the keypoints visible in either pose."""
    distances = [
        _distance(p, q) if p and q else VISIBILITY_DIFFERENCE
        for p, q in zip(_normalised(a), _normalised(b), strict=True)
        if p or q
    ]
    return sum(distances) / len(distances)


# Raising one arm from hanging to horizontal measures 0.13; the same stance turned 20 degrees, a retake
# rather than a new pose, measures 0.03. A pose must differ from every other one by a third of that arm.
MIN_POSE_DISTANCE = 0.045


def test_the_distance_threshold_lies_between_a_retake_and_a_new_pose() -> None:
    neutral = solve(PoseParams())
    assert pose_distance(neutral, neutral) == 0.0
    assert pose_distance(neutral, solve(PoseParams(yaw=20))) < MIN_POSE_DISTANCE
    assert pose_distance(neutral, solve(PoseParams(right_arm=Limb(90, 0, 90, 0)))) > 2 * MIN_POSE_DISTANCE


def test_no_two_poses_are_nearly_identical() -> None:
    closest = min(
        (pose_distance(a.keypoints, b.keypoints), a.name, b.name) for a, b in itertools.combinations(POSES, 2)
    )
    assert closest[0] >= MIN_POSE_DISTANCE, closest


def test_category_tree_has_six_roots_and_twenty_two_sub_categories() -> None:
    slugs = [category.slug for category in CATEGORIES]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs)
    roots = [category for category in CATEGORIES if category.parent_slug is None]
    children = [category for category in CATEGORIES if category.parent_slug is not None]
    assert len(roots) == 6
    assert len(children) == 22
    root_slugs = {root.slug for root in roots}
    assert {child.parent_slug for child in children} == root_slugs
    for category in CATEGORIES:
        assert category.name and category.description and category.icon
        assert re.fullmatch(r"#[0-9A-F]{6}", category.color)
    assert sorted(root.display_order for root in roots) == list(range(1, 7))
    for parent in root_slugs:
        orders = [child.display_order for child in children if child.parent_slug == parent]
        assert sorted(orders) == list(range(1, len(orders) + 1))


def test_every_sub_category_and_only_those_have_at_least_three_poses() -> None:
    counts = Counter(pose.category_slug for pose in POSES)
    assert set(counts) == {category.slug for category in CATEGORIES if category.parent_slug is not None}
    assert min(counts.values()) >= 3
    assert len(POSES) >= 84


def test_pose_metadata_is_valid() -> None:
    names = Counter((pose.category_slug, pose.name) for pose in POSES)
    assert max(names.values()) == 1
    for pose in POSES:
        assert pose.name.strip() == pose.name and pose.name
        assert pose.description.endswith(".") and ". " not in pose.description, pose.name
        assert 3 <= len(pose.tags) <= 6 and len(set(pose.tags)) == len(pose.tags), pose.name
        assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", tag) for tag in pose.tags), pose.name
        assert pose.difficulty in DIFFICULTIES
        assert pose.gender_suitability in GENDER_SUITABILITIES
    assert 0 < sum(pose.is_featured for pose in POSES) < len(POSES)
    assert 0 < sum(pose.is_premium for pose in POSES) < len(POSES)


def test_build_poses_is_deterministic_and_fast() -> None:
    started = time.perf_counter()
    again = build_poses()
    assert time.perf_counter() - started < 0.5
    assert again == POSES
    assert again[0].keypoints is not POSES[0].keypoints


def test_crossed_arms_put_each_wrist_by_the_other_elbow() -> None:
    keypoints = _pose("Confident Crossed Arms")
    scale = _scale(_segment_lengths(keypoints))
    for wrist, other_elbow in ((R_WRIST, L_ELBOW), (L_WRIST, R_ELBOW)):
        assert _distance(_xy(keypoints, wrist), _xy(keypoints, other_elbow)) < 0.06 * scale


def test_hands_on_hips_put_the_wrists_by_the_hips() -> None:
    keypoints = _pose("Both Hands on Hips")
    scale = _scale(_segment_lengths(keypoints))
    for wrist, hip in ((R_WRIST, R_HIP), (L_WRIST, L_HIP)):
        assert _distance(_xy(keypoints, wrist), _xy(keypoints, hip)) < 0.08 * scale
