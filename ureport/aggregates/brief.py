"""The ambassador's dialogue brief: a district's results next to the national ones, for one printed page."""

from __future__ import annotations

from collections.abc import Iterable

from ureport.aggregates.exports import (
    BREAKDOWNS,
    BRIEF_AGE,
    Block,
    ExportError,
    Labels,
    Line,
    Report,
    Section,
    answer_dates,
    categorical_questions,
    discussion_prompts,
    labels_for,
    line_at,
    table_name,
)
from ureport.aggregates.results import published_tables
from ureport.aggregates.tables import SUPPRESSED_MARK, PublishedTable
from ureport.aggregates.texts import text
from ureport.models import Location, Poll, Question

Tables = dict[tuple[str, ...], PublishedTable]


def _lines(picks: Iterable[tuple[PublishedTable, str, str]]) -> tuple[Line, ...]:
    found = (line_at(table, row, label) for table, row, label in picks)
    return tuple(line for line in found if line is not None)


def lead_question(questions: list[Question], key: str | None) -> Question:
    if not questions:
        raise ExportError("this poll has no choice or yes/no questions to brief on")
    if key is None:
        return questions[0]
    for question in questions:
        if question.key == key:
            return question
    raise ExportError(f"no choice or yes/no question {key!r}: {[q.key for q in questions]}")


def _groups(tables: Tables, dim: str, district: Location, labels: Labels) -> tuple[Line, ...]:
    """For each group of `dim` (sex or age band): the district's row, then the national one."""
    national, did = text("national", labels.language), str(district.id)
    two_way = tables[("district", "sex")] if dim == "sex" else tables[BRIEF_AGE]
    picks = []
    for group in tables[(dim,)].rows:
        row = f"{did}|{group}" if dim == "sex" else f"{group}|{did}"
        name = labels.part(group)
        picks += [
            (two_way, row, f"{district.name} · {name}"),
            (tables[(dim,)], group, f"{national} · {name}"),
        ]
    return _lines(picks)


async def _tables(poll: Poll, question: Question, k: int) -> Tables:
    """The brief's tables: the very ones results.json publishes, plus age band x district, all
    suppressed together (a brief next to the dashboard gives nothing away)."""
    published = await published_tables(poll.id, question, k)
    return {by: published[table_name(by)] for by in (*BREAKDOWNS, BRIEF_AGE)}


def _versus(tables: Tables, district: Location, labels: Labels) -> tuple[Line, ...]:
    national = text("national", labels.language)
    return _lines([(tables[("district",)], str(district.id), district.name), (tables[()], "all", national)])


def _answered(tables: Tables, district: Location, labels: Labels) -> str:
    """How many answered, from the published totals (hidden ones show as the mark)."""
    lines = _versus(tables, district, labels)
    shown = [f"{line.label} {SUPPRESSED_MARK if line.total is None else line.total}" for line in lines]
    return f"{text('answered', labels.language)}: {', '.join(shown) or 0}"


async def district_brief(
    poll: Poll, district: Location, *, k: int, language: str | None = None, question: str | None = None
) -> Report:
    """The lead question in detail (by sex and age band), the poll's other questions in one line each."""
    labels = await labels_for(poll, language or poll.default_language)
    lang = labels.language
    questions = await categorical_questions(poll)
    lead = lead_question(questions, question)
    tables = await _tables(poll, lead, k)
    columns = labels.columns(lead, tables[()])
    blocks = (
        Block(text("results", lang), columns, _versus(tables, district, labels)),
        Block(text("sex", lang), columns, _groups(tables, "sex", district, labels)),
        Block(text("age_band", lang), columns, _groups(tables, "age_band", district, labels)),
    )
    sections = [Section(lead.key, labels.localise(lead.text), blocks)]
    others = []
    for other in questions:
        if other is not lead:
            other_tables = await _tables(poll, other, k)
            other_columns = labels.columns(other, other_tables[()])
            others.append(
                Block(labels.localise(other.text), other_columns, _versus(other_tables, district, labels))
            )
    if others:
        sections.append(Section("also_asked", text("also_asked", lang), tuple(others)))
    dates = await answer_dates(poll, district.id)
    span = text("dates", lang, first=dates[0], last=dates[1]) if dates else text("no_dates", lang)
    return Report(
        title=f"{labels.localise(poll.title)}: {district.name}",
        language=lang,
        legend=text("legend", lang, k=k),
        facts=(text("brief", lang), _answered(tables, district, labels), span),
        sections=tuple(sections),
        prompts=discussion_prompts(poll, lang),
        is_brief=True,
    )
