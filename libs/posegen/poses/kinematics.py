"""A small kinematic human skeleton, projected to OpenPose-18 body keypoints.

The skeleton is posed in 3D from a handful of angles, viewed by an orthographic camera (weak perspective
gives the same picture once the figure is framed) and framed into a square reference frame: x and y in
0..1, y pointing down. Bones keep their length in 3D, so a limb pointing at the camera foreshortens.

3D conventions: x is the person's left, y is up, z is the person's forward. With every angle at zero the
person faces the camera, so their left side appears on the image's right (OpenPose's "right" keypoints
are the person's right, on the image's left). All angles are in degrees.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

KEYPOINT_NAMES: tuple[str, ...] = (
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
)

# Index pairs of the drawn limbs, in OpenPose's drawing order (controlnet-aux's limbSeq, zero-based).
LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)  # fmt: skip

Keypoint = list[float]
Vec = tuple[float, float, float]
Mat = tuple[Vec, Vec, Vec]

_CAMERA: Vec = (0.0, 0.0, 1.0)
_SIDES: tuple[tuple[str, float], ...] = (("right", -1.0), ("left", 1.0))  # the sign of the person's x


@dataclass(frozen=True)
class Proportions:
    """Segment lengths as fractions of stature.

    Joint-centre lengths follow Drillis & Contini (1966), as tabulated in Winter, "Biomechanics and Motor
    Control of Human Movement": upper arm 0.186, forearm 0.146, thigh 0.245, shank 0.246, shoulder
    height 0.818, hip height 0.530. Breadths are between joint centres, not skin to skin.
    """

    torso: float = 0.288  # hip-joint midpoint to the shoulder midpoint (OpenPose's neck point)
    shoulder_width: float = 0.230
    hip_width: float = 0.170
    upper_arm: float = 0.186
    forearm: float = 0.146
    thigh: float = 0.245
    shin: float = 0.246
    neck: float = 0.045  # shoulder midpoint to the head's pivot
    torso_half_breadth: float = 0.090  # the torso as an occluding elliptic cylinder
    torso_half_depth: float = 0.070
    head_radius: float = 0.065


BODY = Proportions()

# Head features relative to the head pivot, in the head's own frame (x left, y up, z forward).
_NOSE: Vec = (0.0, 0.045, 0.065)
_EYE: Vec = (0.018, 0.076, 0.050)
_EAR: Vec = (0.044, 0.065, -0.005)
_HEAD_CENTRE: Vec = (0.0, 0.075, 0.010)
_CROWN: Vec = (0.0, 0.140, 0.0)

# A far ear disappears once the head turns more than ~25 degrees; an eye once it turns past ~60 degrees;
# the nose once the face turns ~100 degrees away.
_EAR_HIDDEN_BELOW = -math.sin(math.radians(25.0))
_EYE_SIDE_WEIGHT = 0.6
_NOSE_HIDDEN_BELOW = -0.2
# The occluding torso reaches a little below the hip joints and above the shoulder line.
_TORSO_BELOW_HIPS = 0.05
_TORSO_ABOVE_NECK = 0.02


@dataclass(frozen=True)
class Limb:
    """The directions of a limb's two segments, in the frame of the body part it hangs from.

    ``*_raise`` is the angle from pointing straight down: 0 hangs, 90 is horizontal, 180 points up.
    ``*_swing`` is where a raised segment points around the vertical: 0 outwards (to the person's own
    side), 90 forwards, -90 backwards, 180 across the body. Both segments are absolute directions in
    the parent frame (the torso for arms, the pelvis for legs), not relative to each other.
    """

    upper_raise: float = 0.0
    upper_swing: float = 0.0
    lower_raise: float = 0.0
    lower_swing: float = 0.0


NEUTRAL_ARM = Limb(6.0, 0.0, 8.0, 40.0)
NEUTRAL_LEG = Limb(3.0, 0.0, 2.0, 0.0)


@dataclass(frozen=True)
class PoseParams:
    """Angles of a pose and the camera view; the defaults are a relaxed neutral stance facing the camera.

    Signs: ``yaw``, ``twist`` and ``head_turn`` turn towards the person's left (yaw 90 faces image-right
    and shows the right side); ``pitch`` raises the camera to look down on the person; ``tilt``, ``lean``
    and ``head_nod`` bend forwards; ``roll``, ``side_bend`` and ``head_tilt`` bend towards the person's
    right. ``tilt`` and ``roll`` turn the whole body about the hips (planks, jumps), ``lean``,
    ``side_bend`` and ``twist`` only the torso.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    tilt: float = 0.0
    roll: float = 0.0
    lean: float = 0.0
    side_bend: float = 0.0
    twist: float = 0.0
    head_turn: float = 0.0
    head_nod: float = 0.0
    head_tilt: float = 0.0
    right_arm: Limb = NEUTRAL_ARM
    left_arm: Limb = NEUTRAL_ARM
    right_leg: Limb = NEUTRAL_LEG
    left_leg: Limb = NEUTRAL_LEG
    margin: float = 0.08

    def __post_init__(self) -> None:
        if not 0.0 <= self.margin < 0.45:
            raise ValueError(f"margin must be in [0, 0.45), got {self.margin}")


def solve(params: PoseParams, body: Proportions = BODY) -> list[Keypoint | None]:
    """Pose, project and frame the skeleton: 18 ``[x, y, confidence]`` entries or ``None`` when hidden."""
    points, crown = _pose_points(params, body)
    hidden = _hidden_points(params, body, points)
    visible = {name: point for name, point in points.items() if name not in hidden}
    to_frame = _framing([*visible.values(), crown], params.margin)
    return [_keypoint(*to_frame(visible[name])) if name in visible else None for name in KEYPOINT_NAMES]


def _keypoint(x: float, y: float) -> Keypoint:
    return [round(x, 4), round(y, 4), 1.0]


def _body_rotation(p: PoseParams) -> Mat:
    return _chain(_rot_x(p.pitch), _rot_y(p.yaw), _rot_x(p.tilt), _rot_z(p.roll))


def _torso_rotation(p: PoseParams) -> Mat:
    return _chain(_body_rotation(p), _rot_x(p.lean), _rot_z(p.side_bend), _rot_y(p.twist))


def _head_rotation(p: PoseParams) -> Mat:
    return _chain(_torso_rotation(p), _rot_y(p.head_turn), _rot_x(p.head_nod), _rot_z(p.head_tilt))


def _head_pivot(p: PoseParams, body: Proportions) -> Vec:
    return _apply(_torso_rotation(p), (0.0, body.torso + body.neck, 0.0))


def _pose_points(p: PoseParams, body: Proportions) -> tuple[dict[str, Vec], Vec]:
    """World positions of the 18 keypoints (the hip midpoint at the origin) and of the crown of the head."""
    pelvis, torso, head = _body_rotation(p), _torso_rotation(p), _head_rotation(p)
    neck = _apply(torso, (0.0, body.torso, 0.0))
    pivot = _head_pivot(p, body)
    points: dict[str, Vec] = {"neck": neck, "nose": _add(pivot, _apply(head, _NOSE))}
    for side, sign in _SIDES:
        arm, leg = (p.right_arm, p.right_leg) if side == "right" else (p.left_arm, p.left_leg)
        shoulder = _add(neck, _apply(torso, (sign * body.shoulder_width / 2, 0.0, 0.0)))
        elbow, wrist = _chain_limb(shoulder, torso, arm, sign, body.upper_arm, body.forearm)
        hip = _apply(pelvis, (sign * body.hip_width / 2, 0.0, 0.0))
        knee, ankle = _chain_limb(hip, pelvis, leg, sign, body.thigh, body.shin)
        eye, ear = _mirrored(_EYE, sign), _mirrored(_EAR, sign)
        points.update(
            {
                f"{side}_shoulder": shoulder,
                f"{side}_elbow": elbow,
                f"{side}_wrist": wrist,
                f"{side}_hip": hip,
                f"{side}_knee": knee,
                f"{side}_ankle": ankle,
                f"{side}_eye": _add(pivot, _apply(head, eye)),
                f"{side}_ear": _add(pivot, _apply(head, ear)),
            }
        )
    return points, _add(pivot, _apply(head, _CROWN))


def _chain_limb(root: Vec, frame: Mat, limb: Limb, sign: float, upper: float, lower: float) -> tuple[Vec, Vec]:
    middle = _add(root, _scale(_apply(frame, _direction(limb.upper_raise, limb.upper_swing, sign)), upper))
    end = _add(middle, _scale(_apply(frame, _direction(limb.lower_raise, limb.lower_swing, sign)), lower))
    return middle, end


def _direction(raise_deg: float, swing_deg: float, sign: float) -> Vec:
    elevation, heading = math.radians(raise_deg), math.radians(swing_deg)
    return (
        sign * math.sin(elevation) * math.cos(heading),
        -math.cos(elevation),
        math.sin(elevation) * math.sin(heading),
    )


def _mirrored(offset: Vec, sign: float) -> Vec:
    return (sign * offset[0], offset[1], offset[2])


def _hidden_points(p: PoseParams, body: Proportions, points: dict[str, Vec]) -> set[str]:
    """Face points turned away from the camera, and limb joints behind the torso or the head."""
    head = _head_rotation(p)
    facing = _apply(head, (0.0, 0.0, 1.0))[2]
    left_facing = _apply(head, (1.0, 0.0, 0.0))[2]
    hidden = {"nose"} if facing < _NOSE_HIDDEN_BELOW else set()
    for side, sign in _SIDES:
        if facing + _EYE_SIDE_WEIGHT * sign * left_facing <= 0.0:
            hidden.add(f"{side}_eye")
        if sign * left_facing < _EAR_HIDDEN_BELOW:
            hidden.add(f"{side}_ear")
    torso = _torso_rotation(p)
    head_centre = _add(_head_pivot(p, body), _apply(head, _HEAD_CENTRE))
    for name in ("elbow", "wrist", "knee", "ankle"):
        for side in ("right", "left"):
            point = points[f"{side}_{name}"]
            if _behind_torso(point, torso, body) or _behind_sphere(point, head_centre, body.head_radius):
                hidden.add(f"{side}_{name}")
    return hidden


def _behind_torso(point: Vec, torso: Mat, body: Proportions) -> bool:
    """Whether the ray from ``point`` to the camera crosses the torso, an elliptic cylinder on the spine."""
    local, ray = _apply(_transpose(torso), point), _apply(_transpose(torso), _CAMERA)
    a, b = body.torso_half_breadth, body.torso_half_depth
    qa = (ray[0] / a) ** 2 + (ray[2] / b) ** 2
    qb = 2.0 * (local[0] * ray[0] / a**2 + local[2] * ray[2] / b**2)
    qc = (local[0] / a) ** 2 + (local[2] / b) ** 2 - 1.0
    if qc <= 0.0 or qa < 1e-9:
        return False  # on the torso itself or in line with its axis, or the camera looks along the spine
    discriminant = qb * qb - 4.0 * qa * qc
    if discriminant < 0.0:
        return False
    root = math.sqrt(discriminant)
    enter, leave = (-qb - root) / (2.0 * qa), (-qb + root) / (2.0 * qa)
    if leave <= 0.0:
        return False
    heights = (local[1] + max(enter, 0.0) * ray[1], local[1] + leave * ray[1])
    return max(min(heights), -_TORSO_BELOW_HIPS) <= min(max(heights), body.torso + _TORSO_ABOVE_NECK)


def _behind_sphere(point: Vec, centre: Vec, radius: float) -> bool:
    """Whether a sphere (the head) lies between ``point`` and the camera."""
    dx, dy, dz = _sub(centre, point)
    return dz > 0.0 and dx * dx + dy * dy < radius * radius


def _framing(points: list[Vec], margin: float) -> Callable[[Vec], tuple[float, float]]:
    """A function mapping world points into the square frame, fitting ``points`` inside the margin."""
    xs, ys = [pt[0] for pt in points], [pt[1] for pt in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = (1.0 - 2.0 * margin) / span
    centre_x, centre_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def to_frame(point: Vec) -> tuple[float, float]:
        return 0.5 + (point[0] - centre_x) * scale, 0.5 - (point[1] - centre_y) * scale

    return to_frame


def _rot_x(deg: float) -> Mat:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return ((1.0, 0.0, 0.0), (0.0, c, -s), (0.0, s, c))


def _rot_y(deg: float) -> Mat:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return ((c, 0.0, s), (0.0, 1.0, 0.0), (-s, 0.0, c))


def _rot_z(deg: float) -> Mat:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return ((c, -s, 0.0), (s, c, 0.0), (0.0, 0.0, 1.0))


def _chain(*matrices: Mat) -> Mat:
    return functools.reduce(_matmul, matrices)


def _matmul(a: Mat, b: Mat) -> Mat:
    columns = _transpose(b)
    return (_apply(columns, a[0]), _apply(columns, a[1]), _apply(columns, a[2]))


def _transpose(m: Mat) -> Mat:
    return ((m[0][0], m[1][0], m[2][0]), (m[0][1], m[1][1], m[2][1]), (m[0][2], m[1][2], m[2][2]))


def _apply(m: Mat, v: Vec) -> Vec:
    return tuple(row[0] * v[0] + row[1] * v[1] + row[2] * v[2] for row in m)


def _add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _scale(v: Vec, k: float) -> Vec:
    return (v[0] * k, v[1] * k, v[2] * k)
