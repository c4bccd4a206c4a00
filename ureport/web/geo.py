"""District boundaries as SVG path data: projected, simplified to the pixel, and cached per process.

Operators load boundaries with `ureport locations load FILE.geojson` (Location.geometry). A real
country's file weighs megabytes; a phone on a 2G link gets a few kilobytes of paths instead, because
detail finer than a pixel of the drawn map is invisible anyway.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from ureport.models import Location

log = logging.getLogger(__name__)

MAP_WIDTH = 400  # the SVG's own units; CSS scales it to the screen
MAX_HEIGHT = 480  # a tall country is scaled down to this height instead
PAD = 2
TOLERANCE = 0.7  # pixels: Douglas-Peucker keeps any point farther than this from the simplified line
CACHE_SECONDS = 600.0  # boundaries reloaded by another process are picked up within this time

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Shapes:
    """Every district's outline in one shared pixel space, keyed like the published tables' rows."""

    width: int
    height: int
    paths: Mapping[str, str] = field(default_factory=dict)  # str(location id) -> SVG path data


EMPTY = Shapes(0, 0, {})


def _polygons(geometry: Mapping[str, Any]) -> Iterator[Sequence[Any]]:
    kind = geometry.get("type")
    if kind == "Polygon":
        yield geometry["coordinates"]
    elif kind == "MultiPolygon":
        yield from geometry["coordinates"]
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries") or ():
            yield from _polygons(part)


def rings(geometry: Mapping[str, Any]) -> list[list[Point]]:
    """Outer rings and holes of a (Multi)Polygon as lon/lat points; other geometry types draw nothing."""
    found = []
    for polygon in _polygons(geometry):
        for ring in polygon:
            found.append([(float(p[0]), float(p[1])) for p in ring])
    return found


def _distance(p: Point, a: Point, b: Point) -> float:
    """From p to the segment a-b (to a itself when a and b coincide: closed rings start where they end)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def simplify(points: Sequence[Point], tolerance: float = TOLERANCE) -> list[Point]:
    """Douglas-Peucker, iterative (a real boundary has far more points than Python's recursion limit)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        farthest, index = 0.0, 0
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > farthest:
                farthest, index = d, i
        if farthest > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, kept in zip(points, keep, strict=True) if kept]


def thin(points: Sequence[Point], step: float = TOLERANCE / 2) -> list[Point]:
    """Drops points closer than `step` to the last one kept: a surveyed boundary has thousands per
    pixel, and one cheap pass leaves Douglas-Peucker a few per pixel to look at."""
    if len(points) < 3:
        return list(points)
    kept = [points[0]]
    x0, y0 = points[0]
    limit = step * step
    for x, y in points[1:-1]:
        if (x - x0) * (x - x0) + (y - y0) * (y - y0) >= limit:
            kept.append((x, y))
            x0, y0 = x, y
    kept.append(points[-1])
    return kept


def _numbers(values: Sequence[int]) -> str:
    """SVG's shortest number list: a minus sign separates as well as a space does."""
    out = str(values[0])
    for value in values[1:]:
        out += str(value) if value < 0 else f" {value}"
    return out


def ring_path(points: Sequence[Point]) -> str:
    """One closed ring in whole pixels with relative moves, or "" when it is smaller than a pixel."""
    whole: list[tuple[int, int]] = []
    for x, y in simplify(thin(points)):
        p = (round(x), round(y))
        if not whole or p != whole[-1]:
            whole.append(p)
    if len(whole) > 1 and whole[-1] == whole[0]:
        whole.pop()
    if len(set(whole)) < 3:
        return ""
    deltas: list[int] = []
    for (x0, y0), (x1, y1) in zip(whole, whole[1:], strict=False):
        deltas += [x1 - x0, y1 - y0]
    return f"M{_numbers(list(whole[0]))}l{_numbers(deltas)}z"


def project(geometries: Mapping[str, Mapping[str, Any]]) -> Shapes:
    """Equirectangular, x scaled by the cosine of the middle latitude: true enough shapes for one
    country, and no projection library to ship."""
    by_key: dict[str, list[list[Point]]] = {}
    for key, geometry in geometries.items():
        try:
            by_key[key] = [ring for ring in rings(geometry) if len(ring) >= 3]
        except (KeyError, TypeError, ValueError, IndexError):
            log.warning("location %s: boundary is not a readable GeoJSON polygon; not drawn", key)
    points = [p for found in by_key.values() for ring in found for p in ring]
    if not points:
        return EMPTY
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x, span_y = max((east - west) * squeeze, 1e-9), max(north - south, 1e-9)
    scale = min((MAP_WIDTH - 2 * PAD) / span_x, (MAX_HEIGHT - 2 * PAD) / span_y)
    paths = {}
    for key, found in by_key.items():
        pixels = [
            [(PAD + (x - west) * squeeze * scale, PAD + (north - y) * scale) for x, y in r] for r in found
        ]
        path = "".join(ring_path(ring) for ring in pixels)
        if path:
            paths[key] = path
    return Shapes(math.ceil(span_x * scale + 2 * PAD), math.ceil(span_y * scale + 2 * PAD), paths)


_cache: dict[str, tuple[tuple[Any, ...], float, Shapes]] = {}


def forget_cached_shapes() -> None:
    _cache.clear()


async def district_shapes() -> Shapes:
    """The districts' outlines (EMPTY when no boundary was loaded), projected once per process."""
    query = Location.filter(level=2, geometry__isnull=False)
    stamp = tuple(await query.order_by("id").values_list("id", "code"))
    cached = _cache.get("districts")
    if cached is not None and cached[0] == stamp and time.monotonic() - cached[1] < CACHE_SECONDS:
        return cached[2]
    shapes = EMPTY
    if stamp:  # two first requests may both project: harmless, and no lock to share between loops
        geometries = {str(i): g for i, g in await query.values_list("id", "geometry") if g}
        shapes = await anyio.to_thread.run_sync(project, geometries)  # megabytes of JSON: off the loop
    _cache["districts"] = (stamp, time.monotonic(), shapes)
    return shapes
