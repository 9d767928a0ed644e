"""Poses from photographs: mediapipe's offline BlazePose (the ``extract`` extra, installed as
requirements/no-deps.txt says) finds the people in a photo, the largest one's 33 landmarks become the 18
OpenPose keypoints of the pose library. Only the extractor process (``posegen extractor``) imports
:mod:`posegen.extraction.detector`; :mod:`posegen.extraction.skeleton` is pure numpy.
"""
