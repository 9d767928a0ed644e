"""One photo in, one pose out: the people in the photo, the largest one's 18 keypoints in the library's
frame (and normalised to the photo, for drawing over it), or :class:`NoPersonFound`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from posegen.extraction.skeleton import Landmark, Person, openpose_keypoints, to_pose_frame

MIN_KEYPOINTS = 4
"""Fewer visible keypoints than this is not a pose (a hand at the border, a face in a poster)."""


class Detector(Protocol):
    def people(self, image: np.ndarray) -> list: ...

    def landmarks(self, image: np.ndarray, found: object) -> list[Landmark] | None: ...


class NoPersonFound(Exception):
    """No person, or none whose pose could be read. ``people`` are the boxes the detector saw, if any."""

    def __init__(self, people: list[Person]) -> None:
        self.people = people
        super().__init__(
            "no person was found in the photo"
            if not people
            else f"{len(people)} person(s) seen, but no body pose could be read; try a photo with the whole body"
        )


@dataclass(frozen=True, slots=True)
class ExtractedPose:
    keypoints: list[list[float] | None]
    """In the library's square frame: what a saved pose stores and a generation draws."""
    image_keypoints: list[list[float] | None]
    """Normalised to the photo: where the skeleton lies over it."""
    people: list[Person]
    """Everyone seen, left to right."""
    chosen: int
    """The index in ``people`` of the person whose pose this is: the largest that has a readable pose."""


def extract_pose(*, detector: Detector, image: np.ndarray) -> ExtractedPose:
    """``image`` is RGB ``uint8`` (height, width, 3)."""
    height, width = image.shape[:2]
    found = detector.people(image)
    people = [f.person for f in found]
    for index in sorted(range(len(people)), key=lambda i: (-people[i].area, i)):
        landmarks = detector.landmarks(image, found[index])
        if landmarks is None:
            continue
        keypoints = openpose_keypoints(landmarks)
        if sum(point is not None for point in keypoints) < MIN_KEYPOINTS:
            continue
        return ExtractedPose(to_pose_frame(keypoints, width, height), keypoints, people, index)
    raise NoPersonFound(people)
