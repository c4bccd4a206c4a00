"""Reports for export, built only from suppressed tables: a poll's full results and a district's brief."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tortoise.functions import Max, Min

from ureport.aggregates.results import published_tables
from ureport.aggregates.tables import PublishedTable
from ureport.aggregates.texts import TEXTS, text
from ureport.flows.loader import load_flow_text
from ureport.flows.model import localise
from ureport.locations import fold
from ureport.models import Answer, Location, Poll, Question

# The breakdowns exported, by the dimensions of their rows. Every table comes from published_tables(),
# the same linked suppression as results.json, so an export never shows a number the JSON hides.
BREAKDOWNS: tuple[tuple[str, ...], ...] = (
    (),
    ("age_band",),
    ("sex",),
    ("region",),
    ("district",),
    ("district", "sex"),
    ("age_band", "sex"),
)
BRIEF_AGE = ("age_band", "district")
CATEGORICAL = ("choice", "yes_no")  # free text is never exported; numbers have no categories to compare


class ExportError(ValueError):
    """An export that cannot be made: unknown poll, district or question."""


@dataclass(frozen=True, slots=True)
class Line:
    """One row of a rendered table: counts (None = hidden), the row total and percentages of it."""

    label: str
    cells: tuple[int | None, ...]
    total: int | None
    percents: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Block:
    title: str
    columns: tuple[str, ...]
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything an export shows, in one language; every number comes from a PublishedTable."""

    title: str
    language: str
    legend: str
    facts: tuple[str, ...]
    sections: tuple[Section, ...]
    prompts: tuple[str, ...] = ()
    is_brief: bool = False

    def label(self, key: str) -> str:
        return text(key, self.language)


def table_name(by: tuple[str, ...]) -> str:
    """The name of a breakdown's table in published_tables() and results.json."""
    return " x ".join(by) or "all"


def line_at(table: PublishedTable, row: str, label: str) -> Line | None:
    """The published row `row` of `table`, or None when nobody answered in that group (a published
    zero: leaving the row out says no more than the zero)."""
    if row not in table.rows:
        return None
    i = table.rows.index(row)
    if table.row_totals[i] == 0:
        return None
    percents = tuple(table.percent(i, j) for j in range(len(table.columns)))
    return Line(label, table.cells[i], table.row_totals[i], percents)


def total_line(table: PublishedTable, label: str) -> Line:
    """The column totals, as shares of the grand total (only when both are published)."""
    whole = table.total
    shares = tuple(None if n is None or not whole else round(100 * n / whole, 1) for n in table.column_totals)
    return Line(label, table.column_totals, whole, shares)


class Labels:
    """Readable names for row keys and categories, in one language."""

    def __init__(self, language: str, default: str, locations: dict[str, str]) -> None:
        self.language, self.default, self.locations = language, default, locations

    def row(self, key: str) -> str:
        parts = key.split("|")
        return " · ".join(self.part(part) for part in parts)

    def part(self, key: str) -> str:
        if key == "all":
            return text("overall", self.language)
        if key in TEXTS:
            return text(key, self.language)
        return self.locations.get(key, key)

    def localise(self, texts: dict[str, str]) -> str:
        return localise(texts, self.language, self.default)

    def columns(self, question: Question, table: PublishedTable) -> tuple[str, ...]:
        names = {c["id"]: self.localise(c["label"]) for c in question.categories}
        return tuple(names.get(c, c) for c in table.columns)


async def labels_for(poll: Poll, language: str) -> Labels:
    locations = {str(i): name for i, name in await Location.all().values_list("id", "name")}
    return Labels(language, poll.default_language, locations)


async def categorical_questions(poll: Poll) -> list[Question]:
    return await Question.filter(poll=poll, type__in=CATEGORICAL).order_by("position")


def table_block(table: PublishedTable, title: str, columns: Sequence[str], labels: Labels) -> Block:
    lines = [line_at(table, row, labels.row(row)) for row in table.rows]
    if len(table.rows) > 1:
        lines.append(total_line(table, text("total", labels.language)))
    return Block(title, tuple(columns), tuple(line for line in lines if line is not None))


async def poll_report(poll: Poll, *, k: int, language: str | None = None) -> Report:
    """Every categorical question, overall and by each exported breakdown, suppressed as in the JSON."""
    labels = await labels_for(poll, language or poll.default_language)
    sections = []
    for question in await categorical_questions(poll):
        tables = await published_tables(poll.id, question, k)
        blocks = []
        for by in BREAKDOWNS:
            table = tables[table_name(by)]
            name = " x ".join(by) or "overall"
            if all(total == 0 for total in table.row_totals):  # nobody in any group (no regions loaded)
                continue
            blocks.append(
                table_block(table, text(name, labels.language), labels.columns(question, table), labels)
            )
        sections.append(Section(question.key, labels.localise(question.text), tuple(blocks)))
    return Report(
        title=labels.localise(poll.title),
        language=labels.language,
        legend=text("legend", labels.language, k=k),
        facts=(),
        sections=tuple(sections),
    )


async def find_poll(slug: str) -> Poll:
    poll = await Poll.get_or_none(slug=slug, kind="poll")
    if poll is None:
        raise ExportError(f"no poll named {slug!r} (see `ureport polls list`)")
    return poll


async def find_district(name: str) -> Location:
    """A location by name, code or alias, whatever the case or accents."""
    wanted = fold(name)
    for location in await Location.all().order_by("-level", "id"):
        if wanted in {fold(location.name), fold(location.code), *(fold(a) for a in location.aliases)}:
            return location
    raise ExportError(f"no district named {name!r}")


async def answer_dates(poll: Poll, district_id: int) -> tuple[date, date] | None:
    """The first and last day anyone in the district answered the poll: dates only, never times."""
    row = (
        await Answer.filter(poll=poll, district_id=district_id)
        .annotate(first=Min("created_at"), last=Max("created_at"))
        .first()
        .values("first", "last")
    )
    if not row or row["first"] is None:
        return None
    return row["first"].date(), row["last"].date()


def discussion_prompts(poll: Poll, language: str) -> tuple[str, ...]:
    flow = load_flow_text(poll.source, source=poll.slug)
    return tuple(localise(prompt, language, flow.default_language) for prompt in flow.discussion)
