"""Charts as server-rendered SVG: bars, a tile-grid map and a choropleth, each with a text alternative."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ureport.web import geo

WIDTH = 320
LABEL_HEIGHT = 16
BAR_HEIGHT = 12
ROW_HEIGHT = 34
VALUE_ROOM = 56  # room at the end of the longest bar for its value
TILE = 40
GAP = 4
# A blue ramp, lightest first; text on the two darkest steps is white so contrast stays above 4.5:1.
RAMP = ("#deebf7", "#9ecae1", "#6baed6", "#2171b5", "#08306b")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    percent: float | None  # None: hidden (suppressed) or no published total
    text: str  # the value as shown: a formatted percentage, or the suppression mark


@dataclass(frozen=True, slots=True)
class Group:
    label: str  # empty for the single overall group
    bars: tuple[Bar, ...]
    note: str = ""  # said instead of bars, e.g. that nobody in the group answered


@dataclass(frozen=True, slots=True)
class Tile:
    name: str
    share: float | None  # percent answering the first category; None when hidden or nobody answered
    text: str  # formatted share, the suppression mark, or a dash for nobody
    hidden: bool


def _x(value: float, rtl: bool) -> float:
    """Right-to-left pages mirror the chart: bars start on the right and grow to the left."""
    return round(WIDTH - value if rtl else value, 1)


def _text(x: float, y: float, content: str, rtl: bool, extra: str = "") -> str:
    # "start" follows the svg's direction: the right edge of the text on a right-to-left chart.
    return f'<text x="{x}" y="{y}" text-anchor="start"{extra}>{escape(content)}</text>'


def _bar_row(bar: Bar, top: float, rtl: bool) -> list[str]:
    parts = [_text(_x(0, rtl), top + LABEL_HEIGHT - 4, bar.label, rtl)]
    length = 0.0 if bar.percent is None else (WIDTH - VALUE_ROOM) * bar.percent / 100
    bar_top = top + LABEL_HEIGHT
    if length > 0:
        start = _x(length, rtl) if rtl else 0
        parts.append(
            f'<rect x="{start}" y="{bar_top}" width="{round(length, 1)}" height="{BAR_HEIGHT}" class="bar"/>'
        )
    value_x = _x(length + 4, rtl)
    parts.append(_text(value_x, bar_top + BAR_HEIGHT - 2, bar.text, rtl, ' class="value"'))
    return parts


def bar_chart(groups: Sequence[Group], *, title: str, chart_id: str, rtl: bool = False) -> Markup:
    """Horizontal bars, a label above each; groups (age bands, sexes) one after the other."""
    parts: list[str] = []
    top = 0.0
    for group in groups:
        if group.label:
            parts.append(_text(_x(0, rtl), top + 14, group.label, rtl, ' class="group"'))
            top += 20
        if group.note and not group.bars:
            parts.append(_text(_x(0, rtl), top + LABEL_HEIGHT - 4, group.note, rtl, ' class="note"'))
            top += LABEL_HEIGHT + 4
        for bar in group.bars:
            parts.extend(_bar_row(bar, top, rtl))
            top += ROW_HEIGHT
    summary = "; ".join(
        f"{group.label + ', ' if group.label else ''}{bar.label}: {bar.text}"
        for group in groups
        for bar in group.bars
    )
    notes = "; ".join(f"{group.label}: {group.note}" for group in groups if group.note and not group.bars)
    summary = "; ".join(part for part in (summary, notes) if part)
    height = max(top, ROW_HEIGHT)
    return _svg(parts, title=title, chart_id=chart_id, width=WIDTH, height=height, desc=summary, rtl=rtl)


def _svg(
    parts: list[str],
    *,
    title: str,
    chart_id: str,
    width: float,
    height: float,
    desc: str = "",
    rtl: bool = False,
) -> Markup:
    """The chart's title names it and its description reads out every value (the table repeats them)."""
    described = f' aria-describedby="{chart_id}-d"' if desc else ""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t"{described} direction="{"rtl" if rtl else "ltr"}" class="chart">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
    )
    if desc:
        head += f'<desc id="{chart_id}-d">{escape(desc)}</desc>'
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704 - every text above went through escape()


def shade(share: float) -> str:
    """The ramp step for a share: five even steps of 20 points."""
    return RAMP[min(int(share // 20), len(RAMP) - 1)]


def abbreviations(names: Sequence[str]) -> list[str]:
    """Three letters per district, unique on the map (Kisii and Kisumu: "Kis" and "Kiu")."""
    taken: set[str] = set()
    result = []
    for name in names:
        letters = [c for c in name if c.isalpha()] or ["?"]
        short = "".join(letters[:3])
        for later in letters[3:]:
            if short not in taken:
                break
            short = "".join(letters[:2]) + later
        taken.add(short)
        result.append(short)
    return result


def _fill(tile: Tile, chart_id: str) -> tuple[str, str]:
    """The district's colour and the colour of text on it."""
    if tile.hidden:
        return f"url(#{chart_id}-hatch)", "#1a1a1a"
    if tile.share is None:
        return "#f2f2f2", "#1a1a1a"
    fill = shade(tile.share)
    return fill, "#fff" if fill in RAMP[3:] else "#1a1a1a"


def _hatch(chart_id: str) -> str:
    return (
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#d9d9d9"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#767676" stroke-width="2"/></pattern>'
    )


def _tile(tile: Tile, abbreviation: str, x: float, y: float, chart_id: str) -> str:
    fill, ink = _fill(tile, chart_id)
    return (
        f"<g><title>{escape(tile.name)}: {escape(tile.text)}</title>"
        f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" fill="{fill}" stroke="#767676"/>'
        f'<text x="{x + TILE / 2}" y="{y + TILE / 2 + 4}" text-anchor="middle" fill="{ink}" '
        f'class="tile">{escape(abbreviation)}</text></g>'
    )


def tile_map(tiles: Sequence[Tile], *, title: str, chart_id: str, rtl: bool = False) -> Markup:
    """Districts as equal squares in a grid (no boundaries needed), shaded by the share answering the
    first category; hidden districts are hatched grey so they never read as a low share."""
    columns = max(1, math.ceil(math.sqrt(len(tiles))))
    rows = max(1, math.ceil(len(tiles) / columns))
    step = TILE + GAP
    width, height = columns * step, rows * step
    parts = [f"<defs>{_hatch(chart_id)}</defs>"]
    shorts = abbreviations([tile.name for tile in tiles])
    for index, tile in enumerate(tiles):
        column, row = index % columns, index // columns
        if rtl:
            column = columns - 1 - column
        parts.append(_tile(tile, shorts[index], column * step + GAP / 2, row * step + GAP / 2, chart_id))
    return _svg(parts, title=title, chart_id=chart_id, width=width, height=height, rtl=rtl)


OUTLINE = "geo-"  # ids of the shared district outlines: the first map on a page defines them


def choropleth(
    tiles: Mapping[str, Tile],
    shapes: geo.Shapes,
    *,
    title: str,
    chart_id: str,
    outlines: bool,
    rtl: bool = False,
) -> Markup:
    """Districts drawn from their boundaries, shaded like the tiles. The outlines are written once per
    page (`outlines=True` on the first map) and every map reuses them with <use>, so a page with several
    questions does not repeat the heaviest part. Geography is never mirrored, even right to left."""
    defs = [_hatch(chart_id)]
    if outlines:
        defs += [f'<path id="{OUTLINE}{key}" d="{path}"/>' for key, path in shapes.paths.items()]
    group = '<g stroke="#8c8c8c" stroke-width=".6" stroke-linejoin="round" fill-rule="evenodd">'
    parts = [f"<defs>{''.join(defs)}</defs>", group]
    for key, tile in tiles.items():
        if key in shapes.paths:
            fill, _ink = _fill(tile, chart_id)
            parts.append(
                f"<g><title>{escape(tile.name)}: {escape(tile.text)}</title>"
                f'<use href="#{OUTLINE}{key}" fill="{fill}"/></g>'
            )
    parts.append("</g>")
    return _svg(parts, title=title, chart_id=chart_id, width=shapes.width, height=shapes.height, rtl=rtl)
