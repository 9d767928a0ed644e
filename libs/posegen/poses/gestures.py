"""Named limb positions, the vocabulary the catalogue's poses are written in.

Each is a :class:`~posegen.poses.kinematics.Limb` and mirrors itself: the same value works for the right
or the left side. Hand positions were fitted to landmarks of the skeleton (chin, ear, hip, the other
elbow) and checked on rendered skeletons.
"""

from __future__ import annotations

from posegen.poses.kinematics import NEUTRAL_LEG, Limb

# Arms, in the torso's frame.
HELD_AWAY = Limb(18.0, 0.0, 22.0, 10.0)
HAND_ON_HIP = Limb(40.0, -25.0, 45.0, 175.0)
IN_POCKET = Limb(15.0, -20.0, 25.0, 150.0)
CROSSED_OVER = Limb(35.0, 110.0, 85.0, 175.0)  # the wrist rests by the other elbow
CROSSED_UNDER = Limb(35.0, 110.0, 95.0, 170.0)
ACROSS_WAIST = Limb(18.0, 94.0, 61.0, 151.0)  # the forearm across the stomach, the wrist at the midline
CLASPED_LOW = Limb(15.0, 80.0, 35.0, 150.0)
HOLD_AT_CHEST = Limb(25.0, 80.0, 119.0, 134.0)
HAND_ON_CHEST = Limb(33.0, 90.0, 127.0, 171.0)
SHOW_BESIDE_FACE = Limb(30.0, 40.0, 150.0, 170.0)
OPEN_PALM = Limb(25.0, 60.0, 80.0, 40.0)
OFFER_FORWARD = Limb(60.0, 80.0, 80.0, 100.0)
POINT_OUT = Limb(80.0, 20.0, 85.0, 20.0)
HAND_TO_CHIN = Limb(64.0, 125.0, 156.0, -109.0)
PHONE_TO_EAR = Limb(76.0, 86.0, 122.0, -118.0)
HAND_TO_TEMPLE = Limb(86.0, 30.0, 121.0, -179.0)
HAIR_TUCK = Limb(148.0, 40.0, 68.0, -166.0)
HAND_ON_HEAD = Limb(149.0, 20.0, 91.0, -175.0)
BEHIND_HEAD = Limb(123.0, -20.0, 102.0, -173.0)
AT_COLLAR = Limb(59.0, 92.0, 137.0, -127.0)
HOLD_STRAP = Limb(34.0, 40.0, 152.0, 169.0)
CARRY_CUP = Limb(10.0, 60.0, 95.0, 90.0)
CHECK_WATCH = Limb(60.0, 78.0, 80.0, 154.0)
CURL = Limb(5.0, 20.0, 160.0, 90.0)
SIDEWAYS = Limb(90.0, 0.0, 90.0, 0.0)
OVERHEAD = Limb(165.0, 10.0, 170.0, 10.0)
VICTORY = Limb(145.0, 15.0, 160.0, 15.0)
BEHIND_BACK = Limb(20.0, -95.0, 45.0, -160.0)
SWING_FORWARD = Limb(20.0, 90.0, 35.0, 90.0)
SWING_BACK = Limb(20.0, -90.0, 15.0, -60.0)
DRIVE_FORWARD = Limb(45.0, 90.0, 125.0, 90.0)
DRIVE_BACK = Limb(50.0, -90.0, 45.0, 90.0)
TYPING = Limb(15.0, 85.0, 88.0, 92.0)
HANDS_ON_LEDGE = Limb(12.0, -40.0, 10.0, -40.0)
OVER_SHOULDER = Limb(142.0, 70.0, 64.0, -105.0)
TUCK_UNDER_ARM = Limb(8.0, -60.0, 80.0, 100.0)
CARRY_BAG = Limb(12.0, 0.0, 10.0, 20.0)
BAG_ON_FOREARM = Limb(10.0, 30.0, 100.0, 80.0)
GRIP_BEHIND = Limb(25.0, -100.0, 20.0, -100.0)
ON_THIGH = Limb(45.0, 60.0, 37.0, 156.0)  # seated, upright
IN_LAP = Limb(14.0, 80.0, 67.0, 134.0)  # seated, upright
FOREARMS_ON_KNEES = Limb(40.0, 80.0, 90.0, 96.0)  # crouched, torso leaning 25 degrees
BETWEEN_KNEES = Limb(30.0, 80.0, 76.0, 130.0)  # knees up, torso leaning 25 degrees
PROP_BEHIND = Limb(8.0, -60.0, 61.0, -80.0)  # sitting on the floor, torso leaning back 20 degrees
READ_BOOK = Limb(21.0, 80.0, 92.0, 113.0)
READ_PHONE = Limb(36.0, 82.0, 103.0, 140.0)
ON_KNEE_CROSS_LEGGED = Limb(43.0, 40.0, 21.0, 45.0)  # torso leaning 8 degrees
HUG_KNEES = Limb(40.0, 90.0, 88.0, 141.0)  # knees drawn up, torso leaning 15 degrees
PALMS_OVERHEAD = Limb(165.0, 170.0, 156.0, 169.0)
HOLD_FOOT_BEHIND = Limb(7.0, -90.0, 45.0, -107.0)  # the foot drawn up by FOOT_TO_SEAT

# Legs, in the pelvis's frame.
STRAIGHT = NEUTRAL_LEG
TOGETHER = Limb(1.0, 0.0, 1.0, 0.0)
APART = Limb(8.0, 0.0, 7.0, 0.0)
WIDE = Limb(20.0, 0.0, 20.0, 0.0)
RELAXED_KNEE = Limb(10.0, 140.0, 8.0, -60.0)
CROSSING = Limb(10.0, 150.0, 6.0, 170.0)
STEP_FORWARD = Limb(25.0, 90.0, 8.0, -90.0)
STEP_BACK = Limb(20.0, -90.0, 30.0, -90.0)
SEATED = Limb(88.0, 92.0, 4.0, 0.0)
SEATED_APART = Limb(85.0, 75.0, 8.0, 10.0)
ON_HEELS = Limb(88.0, 90.0, 88.0, -90.0)
DEEP_SQUAT = Limb(100.0, 60.0, 20.0, -90.0)
KNEES_UP = Limb(125.0, 85.0, 15.0, 90.0)
LEG_CROSSED_OVER = Limb(100.0, 110.0, 25.0, -80.0)
CROSS_LEGGED = Limb(80.0, 30.0, 85.0, 170.0)
FOOT_TO_SEAT = Limb(10.0, -90.0, 165.0, -90.0)
