"""The three OpenCV drawing calls controlnet-aux's ``draw_bodypose`` makes, re-implemented with numpy.

``ellipse2Poly`` (integer version, whole ellipse), ``fillConvexPoly`` (8-connected, no sub-pixel shift) and
``circle`` (filled, 8-connected) set exactly the pixels OpenCV sets: the same sine table, the same
half-to-even rounding, the same 16-bit fixed-point edge walk, the same Bresenham outline and the same
midpoint circle. ``tests/poses/test_raster.py`` compares every primitive and whole skeletons with OpenCV
pixel for pixel, so the gateway can draw control images without installing OpenCV (see docs/decisions.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

_SHIFT = 16
_ONE = 1 << _SHIFT
_HALF = _ONE >> 1

# OpenCV's table: sin of every whole degree from 0 to 450, rounded to 7 decimals, stored as float32.
_SIN_TABLE = np.array([round(math.sin(math.radians(d)), 7) for d in range(451)], dtype=np.float32).astype(np.float64)

Color = tuple[int, int, int]


def ellipse_polygon(center: tuple[int, int], axes: tuple[int, int], angle: int) -> np.ndarray:
    """The vertices (``int64``, shape ``(n, 2)``) of a whole ellipse, one per degree, rounded half to even and
    without consecutive repeats; a degenerate ellipse is its centre twice."""
    while angle < 0:
        angle += 360
    while angle > 360:
        angle -= 360
    cos_a, sin_a = _SIN_TABLE[450 - angle], _SIN_TABLE[angle]
    degrees = np.arange(361)
    x = float(axes[0]) * _SIN_TABLE[450 - degrees]
    y = float(axes[1]) * _SIN_TABLE[degrees]
    px = np.rint(float(center[0]) + x * cos_a - y * sin_a).astype(np.int64)
    py = np.rint(float(center[1]) + x * sin_a + y * cos_a).astype(np.int64)
    keep = np.ones(len(px), dtype=bool)
    keep[1:] = (px[1:] != px[:-1]) | (py[1:] != py[:-1])
    points = np.stack([px[keep], py[keep]], axis=1)
    if len(points) == 1:
        return np.array([center, center], dtype=np.int64)
    return points


def fill_convex_polygon(canvas: np.ndarray, points: np.ndarray, color: Color) -> None:
    """Fill a convex polygon in place: its outline as 8-connected lines, then one span per row."""
    count = len(points)
    if count == 0:
        return
    vertices = [(int(x), int(y)) for x, y in np.asarray(points).tolist()]
    _outline(canvas, vertices, color)
    height, width = canvas.shape[:2]
    xs, ys = zip(*vertices, strict=True)
    ymin, ymax = min(ys), max(ys)
    if count < 3 or max(xs) < 0 or ymax < 0 or min(xs) >= width or ymin >= height:
        return
    for y, left, right in _convex_spans(vertices, ys.index(ymin), ymin, min(ymax, height - 1)):
        if y >= 0 and right >= 0 and left < width:
            canvas[y, max(left, 0) : min(right, width - 1) + 1] = color


def _outline(canvas: np.ndarray, vertices: list[tuple[int, int]], color: Color) -> None:
    """Every edge (last vertex to first, then in order) as a line; the edges inside the canvas at once."""
    height, width = canvas.shape[:2]
    edges = np.array([(*a, *b) for a, b in zip([vertices[-1], *vertices[:-1]], vertices, strict=True)])
    inside = (edges[:, 0::2] >= 0).all(1) & (edges[:, 0::2] < width).all(1)
    inside &= (edges[:, 1::2] >= 0).all(1) & (edges[:, 1::2] < height).all(1)
    for x1, y1, x2, y2 in edges[~inside].tolist():
        draw_line(canvas, (x1, y1), (x2, y2), color)
    edges = edges[inside]
    if len(edges):
        ys, xs = _line_pixels(*edges.T)
        canvas[ys, xs] = color


def _line_pixels(x1, y1, x2, y2) -> tuple[np.ndarray, np.ndarray]:
    """The pixels (rows, columns) of lines inside the canvas, as OpenCV's 8-connected iterator visits them
    going left to right: on step k of the major axis the minor axis has moved ceil((2*minor*k - major) /
    (2*major)) times."""
    x1, y1, x2, y2 = (np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in (x1, y1, x2, y2))
    flip = x2 < x1
    x1, x2 = np.where(flip, x2, x1), np.where(flip, x1, x2)
    y1, y2 = np.where(flip, y2, y1), np.where(flip, y1, y2)
    dx, dy = x2 - x1, y2 - y1
    step_y = np.where(dy < 0, -1, 1)
    dy = np.abs(dy)
    vertical = dy > dx
    major, minor = np.where(vertical, dy, dx), np.where(vertical, dx, dy)
    counts = major + 1
    line = np.repeat(np.arange(len(x1)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    major_l, minor_l = major[line], minor[line]
    offsets = np.maximum(0, -((major_l - 2 * minor_l * k) // np.maximum(2 * major_l, 1)))
    vertical_l = vertical[line]
    xs = x1[line] + np.where(vertical_l, offsets, k)
    ys = y1[line] + step_y[line] * np.where(vertical_l, k, offsets)
    return ys, xs


def _convex_spans(vertices: Sequence[tuple[int, int]], top: int, ymin: int, ymax: int):
    """Yield ``(y, left, right)`` for each row, walking the two chains down from the top vertex with
    16-bit fixed-point x (as OpenCV's convex filler does, including its rounding of the slope)."""
    count = len(vertices)
    index = [top, top]
    direction = (1, count - 1)
    x = [-_ONE, -_ONE]
    dx = [0, 0]
    end_y = [ymin, ymin]
    edges_left = count
    y = ymin
    while True:
        for side in (0, 1):
            if y < end_y[side]:
                continue
            start = index[side]
            current = (start + direction[side]) % count
            while edges_left > 0:
                edges_left -= 1
                next_y = vertices[current][1]
                if next_y > y:
                    xs, xe = vertices[start][0] << _SHIFT, vertices[current][0] << _SHIFT
                    rows = next_y - y
                    end_y[side] = next_y
                    dx[side] = _trunc_div((xe - xs) * 2 + rows, 2 * rows)
                    x[side] = xs
                    index[side] = current
                    break
                start, current = current, (current + direction[side]) % count
            else:
                edges_left -= 1
        if edges_left < 0:
            return
        left, right = (x[0], x[1]) if x[0] <= x[1] else (x[1], x[0])
        yield y, (left + _HALF) >> _SHIFT, (right + _HALF) >> _SHIFT
        x[0] += dx[0]
        x[1] += dx[1]
        y += 1
        if y > ymax:
            return


def _trunc_div(a: int, b: int) -> int:
    """C's integer division (towards zero)."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def draw_line(canvas: np.ndarray, start: tuple[int, int], end: tuple[int, int], color: Color) -> None:
    """An 8-connected line, clipped to the canvas the way OpenCV clips it (endpoints moved onto the border
    with truncating integer division), then drawn left to right."""
    height, width = canvas.shape[:2]
    (x1, y1), (x2, y2) = start, end
    if not (0 <= x1 < width and 0 <= x2 < width and 0 <= y1 < height and 0 <= y2 < height):
        clipped = _clip_line(width, height, x1, y1, x2, y2)
        if clipped is None:
            return
        x1, y1, x2, y2 = clipped
    ys, xs = _line_pixels(x1, y1, x2, y2)
    canvas[ys, xs] = color


def _clip_line(width: int, height: int, x1: int, y1: int, x2: int, y2: int) -> tuple[int, int, int, int] | None:
    right, bottom = width - 1, height - 1

    def code(x: int, y: int) -> int:
        return (x < 0) + (x > right) * 2 + (y < 0) * 4 + (y > bottom) * 8

    c1, c2 = code(x1, y1), code(x2, y2)
    if (c1 & c2) == 0 and (c1 | c2) != 0:
        if c1 & 12:
            x1, y1 = _slide(x1, y1, x2, y2, 0 if c1 < 8 else bottom)
            c1 = (x1 < 0) + (x1 > right) * 2
        if c2 & 12:
            x2, y2 = _slide(x2, y2, x1, y1, 0 if c2 < 8 else bottom)
            c2 = (x2 < 0) + (x2 > right) * 2
        if (c1 & c2) == 0 and (c1 | c2) != 0:
            if c1:
                y1, x1 = _slide(y1, x1, y2, x2, 0 if c1 == 1 else right)
                c1 = 0
            if c2:
                y2, x2 = _slide(y2, x2, y1, x1, 0 if c2 == 1 else right)
                c2 = 0
    if c1 | c2:
        return None
    return x1, y1, x2, y2


def _slide(a: int, b: int, other_a: int, other_b: int, edge: int) -> tuple[int, int]:
    """An endpoint ``(a, b)`` moved along the line to the other endpoint until ``b`` is ``edge``, with OpenCV's
    truncating division (the same result whichever endpoint is called the first)."""
    return a + _trunc_div((edge - b) * (other_a - a), other_b - b), edge


def fill_circle(canvas: np.ndarray, center: tuple[int, int], radius: int, color: Color) -> None:
    """A filled 8-connected circle (the midpoint circle's spans), clipped to the canvas."""
    height, width = canvas.shape[:2]
    cx, cy = center
    for dy, half_width in _circle_spans(radius):
        for y in (cy - dy, cy + dy):
            left, right = max(cx - half_width, 0), min(cx + half_width, width - 1)
            if 0 <= y < height and left <= right:
                canvas[y, left : right + 1] = color


@functools.cache
def _circle_spans(radius: int) -> list[tuple[int, int]]:
    """``(row offset, half width)`` pairs covering the filled circle."""
    spans, err, dx, dy, plus, minus = [], 0, radius, 0, 1, 2 * radius - 1
    while dx >= dy:
        spans += [(dy, dx), (dx, dy)]
        dy += 1
        err += plus
        plus += 2
        if err > 0:
            err -= minus
            dx -= 1
            minus -= 2
    return spans
