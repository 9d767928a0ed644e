"""The pose library: a kinematic skeleton, the seed catalogue and OpenPose control-image rendering.

``kinematics`` and ``catalog`` are pure Python; ``render`` needs the ``render`` extra (numpy, OpenCV, Pillow).
"""
