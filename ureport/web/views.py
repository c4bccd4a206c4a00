"""What the public pages show, built from published JSON only (poll_results, engagement): every number
here was suppressed before it arrived, and a hidden one stays the suppression mark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from ureport.models import Poll
from ureport.polls import is_open
from ureport.web import charts, geo, i18n
from ureport.web.i18n import _, number, percent, pick, whole_percent

# Tabs like U-Report's: the tab's key in the URL, and the published table it reads.
TABS = {"all": "all", "age": "age_band", "sex": "sex", "location": "district"}


def tab_label(tab: str) -> str:
    return {"all": _("All"), "age": _("Age"), "sex": _("Sex"), "location": _("Location")}[tab]


def tab_caption(tab: str) -> str:
    return {
        "all": _("All answers"),
        "age": _("Answers by age"),
        "sex": _("Answers by sex"),
        "location": _("Answers by district"),
    }[tab]


def poll_item(poll: Poll) -> dict[str, object]:
    """A poll as the lists show it (public dashboard, ambassador pages): title, open or not, dates."""
    title, title_lang = pick(poll.title, poll.default_language)
    return {
        "slug": poll.slug,
        "title": title,
        "title_lang": title_lang,
        "active": is_open(poll),
        "published": poll.published,
        "started": i18n.day(poll.started_at or poll.created_at),
        "closed": i18n.day(poll.closed_at),
    }


def group_label(dimension: str) -> str:
    names = {"all": _("Group"), "age_band": _("Age"), "sex": _("Sex"), "district": _("District")}
    return names.get(dimension, dimension)


def category_label(key: str) -> str:
    """Labels for the categories the platform itself defines (sex choices, fallbacks)."""
    known = {
        "female": _("Female"),
        "male": _("Male"),
        "other_sex": _("Other"),
        "other": _("Other answers"),
        "answered": _("Answered"),
        "people": _("People"),
        "none": _("Nobody yet"),
    }
    return known.get(key, key)


@dataclass(frozen=True, slots=True)
class Cell:
    count: str
    share: str | None  # a formatted percentage next to the count, when the table has one


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    total: str


@dataclass(frozen=True, slots=True)
class TableView:
    caption: str
    row_header: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def table_view(
    table: Mapping[str, Any],
    *,
    caption: str,
    row_header: str,
    columns: Sequence[str],
    rows: Sequence[str],
    shares: bool = True,
) -> TableView:
    """A published table as text: counts and row percentages, hidden numbers as the mark."""
    body = []
    for i, label in enumerate(rows):
        cells = tuple(
            Cell(number(n), percent(p) if shares and p is not None else None)
            for n, p in zip(table["cells"][i], table["row_percentages"][i], strict=True)
        )
        body.append(Row(label, cells, number(table["row_totals"][i])))
    return TableView(caption, row_header, tuple(columns), tuple(body))


def _group(table: Mapping[str, Any], row: int, label: str, columns: Sequence[str]) -> charts.Group:
    """A group's bars; a group nobody is in (a published zero, say age 35+) is one line, not zero bars."""
    if table["row_totals"][row] == 0:
        return charts.Group(label, (), note=_("No answers"))
    return charts.Group(label, _share_bars(table, row, columns))


def _share_bars(table: Mapping[str, Any], row: int, columns: Sequence[str]) -> tuple[charts.Bar, ...]:
    shares = table["row_percentages"][row]
    cells = table["cells"][row]
    return tuple(
        charts.Bar(label, share, percent(share) if share is not None else number(cells[j]))
        for j, (label, share) in enumerate(zip(columns, shares, strict=True))
    )


@dataclass(frozen=True, slots=True)
class MapChoice:
    label: str
    href: str
    current: bool


@dataclass(frozen=True, slots=True)
class DistrictMap:
    svg: Markup
    choices: tuple[MapChoice, ...]  # one link per category: which share the map is shaded by
    unmapped: tuple[str, ...] = ()  # districts without a loaded boundary (choropleth only)


@dataclass(slots=True)
class MapContext:
    """What the Location tab needs beyond the results: boundaries, the chosen categories, the page."""

    shapes: geo.Shapes = geo.EMPTY
    show: Mapping[str, str] = field(default_factory=dict)  # question key -> category id to shade by
    lang: str = "en"
    outlines_drawn: bool = False  # the first choropleth on the page defines the outlines the others use


@dataclass(frozen=True, slots=True)
class QuestionView:
    key: str
    text: str
    text_lang: str
    chart: Markup | None
    map: DistrictMap | None
    table: TableView | None
    words: tuple[tuple[str, str], ...]
    answered: str
    empty: bool = False  # nobody has answered yet (a published zero): a sentence, not a chart of zeros


def _columns(question: Mapping[str, Any], table: Mapping[str, Any], lang: str) -> list[str]:
    declared = {c["id"]: pick(c["label"], lang)[0] for c in question["categories"]}
    return [declared.get(key) or category_label(key) for key in table["columns"]]


def question_view(
    question: Mapping[str, Any], tab: str, *, lang: str, rtl: bool, maps: MapContext | None = None
) -> QuestionView:
    """One question on one tab: a chart (bars, or the district map) and the table it is drawn from."""
    text, text_lang = pick(question["text"], lang)
    overall = question["tables"]["all"]
    answered = number(overall["total"])
    if overall["total"] == 0:
        return QuestionView(question["key"], text, text_lang, None, None, None, (), answered, empty=True)
    if question["type"] == "text":
        words = tuple((w["word"], number(w["people"])) for w in question["words"])
        return QuestionView(question["key"], text, text_lang, None, None, None, words, answered)
    dimension = TABS[tab]
    table = question["tables"][dimension]
    columns = _columns(question, table, lang)
    chart_id = f"q-{question['key']}-{tab}"
    rows = [_("Everyone")] if dimension == "all" else [category_label(r) for r in table["row_labels"]]
    chart: Markup | None = None
    district_map: DistrictMap | None = None
    if dimension == "district":  # 47 groups of bars would be a wall: the map and the table say it better
        context = maps or MapContext(lang=lang)
        district_map = map_view(question, table, rows, columns, chart_id=chart_id, rtl=rtl, maps=context)
    else:
        labels = [""] if dimension == "all" else rows
        groups = [_group(table, i, labels[i], columns) for i in range(len(rows))]
        chart = charts.bar_chart(groups, title=text, chart_id=chart_id, rtl=rtl)
    view = table_view(
        table, caption=tab_caption(tab), row_header=group_label(dimension), columns=columns, rows=rows
    )
    return QuestionView(question["key"], text, text_lang, chart, district_map, view, (), answered)


def leading(question: Mapping[str, Any], columns: Sequence[str]) -> int:
    """The category most people chose nationally, by the published overall counts (hidden ones lose)."""
    cells = question["tables"]["all"]["cells"][0]
    counts = [-1 if n is None else n for n in cells[: len(columns)]]
    return counts.index(max(counts)) if counts else 0


def _choices(
    question: Mapping[str, Any], table: Mapping[str, Any], columns: Sequence[str], chosen: int, lang: str
) -> tuple[MapChoice, ...]:
    key = question["key"]
    return tuple(
        MapChoice(
            label, f"?tab=location&lang={lang}&show={quote(key)}:{quote(category)}#h-{key}", j == chosen
        )
        for j, (label, category) in enumerate(zip(columns, table["columns"], strict=True))
    )


def map_view(
    question: Mapping[str, Any],
    table: Mapping[str, Any],
    names: Sequence[str],
    columns: Sequence[str],
    *,
    chart_id: str,
    rtl: bool,
    maps: MapContext,
) -> DistrictMap | None:
    """Each district's share answering the chosen category (the leading one unless the visitor picked
    another): a choropleth when boundaries are loaded, else a tile grid."""
    if not names or not columns:
        return None
    picked = maps.show.get(question["key"])
    chosen = table["columns"].index(picked) if picked in table["columns"] else leading(question, columns)
    tiles = {}
    for i, name in enumerate(names):
        share = table["row_percentages"][i][chosen]
        hidden = table["cells"][i][chosen] is None or table["row_totals"][i] is None
        text = percent(share) if share is not None else ("x" if hidden else "–")
        tiles[table["rows"][i]] = charts.Tile(name, share, text, hidden)
    title = _("Share answering “%(answer)s”, by district") % {"answer": columns[chosen]}
    choices = _choices(question, table, columns, chosen, maps.lang)
    if not maps.shapes.paths:
        svg = charts.tile_map(list(tiles.values()), title=title, chart_id=f"{chart_id}-map", rtl=rtl)
        return DistrictMap(svg, choices)
    first, maps.outlines_drawn = not maps.outlines_drawn, True
    svg = charts.choropleth(
        tiles, maps.shapes, title=title, chart_id=f"{chart_id}-map", outlines=first, rtl=rtl
    )
    unmapped = tuple(tile.name for key, tile in tiles.items() if key not in maps.shapes.paths)
    return DistrictMap(svg, choices, unmapped)


@dataclass(frozen=True, slots=True)
class EngagementView:
    opted_in: str
    tables: tuple[tuple[TableView, Markup | None], ...]


def engagement_view(
    data: Mapping[str, Any], district_names: Mapping[str, str], *, rtl: bool
) -> EngagementView:
    """Who takes part, by sex, age band and district: bars for the short tables, a table for all."""
    views = []
    for dimension in ("sex", "age_band", "district"):
        table = data["tables"][dimension]
        labels = [district_names.get(r) or category_label(r) for r in table["rows"]]
        caption = {
            "sex": _("Young people taking part, by sex"),
            "age_band": _("Young people taking part, by age"),
            "district": _("Young people taking part, by district"),
        }[dimension]
        view = table_view(
            table,
            caption=caption,
            row_header=group_label(dimension),
            columns=[_("People")],
            rows=labels,
            shares=False,
        )
        chart = None
        if dimension != "district":
            bars = tuple(
                charts.Bar(label, percent_of(table, i), number(table["cells"][i][0]))
                for i, label in enumerate(labels)
            )
            chart = charts.bar_chart(
                [charts.Group("", bars)], title=caption, chart_id=f"e-{dimension}", rtl=rtl
            )
        views.append((view, chart))
    return EngagementView(number(data["opted_in"]), tuple(views))


def percent_of(table: Mapping[str, Any], row: int) -> float | None:
    """A one-column table's row as a share of its published grand total (bar length only)."""
    cell, total = table["cells"][row][0], table["total"]
    if cell is None or not total:
        return None
    return float(100 * cell / total)


def map_legend(k: int) -> list[tuple[str, str, bool]]:
    """The map's colours in words: one step per 20 points, hidden districts (and why), no answers."""
    steps = [
        (colour, f"{whole_percent(20.0 * i)}–{whole_percent(20.0 * (i + 1))}")
        for i, colour in enumerate(charts.RAMP)
    ]
    hatch = "repeating-linear-gradient(45deg, #d9d9d9 0 3px, #767676 3px 5px)"
    why = _(
        "hatched: hidden to protect privacy, because fewer than %(k)s people answered there "
        "or because such a number could otherwise be worked out"
    ) % {"k": number(k)}
    keys = [(colour, label, False) for colour, label in steps]
    return [*keys, (hatch, why, True), ("#f2f2f2", _("no answers"), False)]
