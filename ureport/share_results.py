"""Results back to participants: one SMS each, in their language, their district next to the nation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from ureport.aggregates.brief import lead_question
from ureport.aggregates.exports import (
    ExportError,
    Labels,
    Line,
    categorical_questions,
    find_poll,
    line_at,
)
from ureport.aggregates.results import published_tables
from ureport.aggregates.tables import PublishedTable
from ureport.aggregates.texts import text
from ureport.clock import utcnow
from ureport.models import Contact, ContactStatus, Location, Poll, Question, ResultShare
from ureport.outbox import new_message, queue

BATCH = 500  # people per transaction: a failure part-way leaves whole batches recorded, never half of one


@dataclass(frozen=True, slots=True)
class Shared:
    """What share_results did (or, in a dry run, would do)."""

    people: int
    sample: str | None
    dry_run: bool


@dataclass(frozen=True, slots=True)
class _Figures:
    """The lead question's published tables, and labels for every language the poll speaks."""

    poll: Poll
    question: Question
    overall: PublishedTable
    by_district: PublishedTable
    locations: dict[str, str]

    def labels(self, language: str) -> Labels:
        return Labels(language, self.poll.default_language, self.locations)

    def sms(self, language: str | None, district_id: int | None) -> str:
        labels = self.labels(language or self.poll.default_language)
        lang = labels.language
        title, question = labels.localise(self.poll.title), labels.localise(self.question.text)
        columns = labels.columns(self.question, self.overall)
        national = line_at(self.overall, "all", text("national", lang))
        if national is None or not _shown(national):  # _figures_for() refuses such a poll up front
            raise ExportError("the national figures are hidden")
        parts = [text("share", lang, title=title, question=question)]
        name = self.locations.get(str(district_id), "") if district_id is not None else ""
        if name:
            mine = line_at(self.by_district, str(district_id), name)
            parts.append(
                _figures(mine, columns)
                if mine and _shown(mine)
                else text("hidden_district", lang, district=name)
            )
        parts.append(_figures(national, columns))
        return " ".join(parts)


def _shown(line: Line) -> bool:
    """Every share of the line is published: otherwise the line is not quoted at all."""
    return bool(line.total) and all(share is not None for share in line.percents)


def _figures(line: Line, columns: tuple[str, ...]) -> str:
    shares = ", ".join(
        f"{name} {round(share or 0)}%" for name, share in zip(columns, line.percents, strict=True)
    )
    return f"{line.label}: {shares}."


async def _figures_for(slug: str, question_key: str | None, k: int) -> _Figures:
    poll = await find_poll(slug)
    question = lead_question(await categorical_questions(poll), question_key)
    # The very tables the JSON publishes: an SMS never quotes a number the results page hides.
    tables = await published_tables(poll.id, question, k)
    overall, by_district = tables["all"], tables["district"]
    national = line_at(overall, "all", "")
    if national is None or not _shown(national):
        raise ExportError(f"too few answers to {question.key!r} to share: the national figures are hidden")
    locations = {str(i): name for i, name in await Location.all().values_list("id", "name")}
    return _Figures(poll, question, overall, by_district, locations)


async def participants(poll: Poll) -> list[Contact]:
    """People with a run of the poll who are still opted in and were not yet sent its results."""
    shared = ResultShare.filter(poll_id=poll.id).values("contact_id")
    query = Contact.filter(status=ContactStatus.ACTIVE, urn_cipher__isnull=False, runs__poll_id=poll.id)
    # First to join first: the dry run's sample is then the same every time.
    return await query.exclude(id__in=Subquery(shared)).distinct().order_by("created_at", "id")


async def share_results(
    slug: str, *, k: int, question: str | None = None, dry_run: bool = False, now: datetime | None = None
) -> Shared:
    """Queue one results SMS per participant through the outbox, recording each so nobody gets two."""
    figures = await _figures_for(slug, question, k)
    people = await participants(figures.poll)
    sample = figures.sms(people[0].language, people[0].district_id) if people else None  # type: ignore[attr-defined]
    if dry_run:
        return Shared(len(people), sample, dry_run=True)
    now = now or utcnow()
    for start in range(0, len(people), BATCH):
        chunk = people[start : start + BATCH]
        async with in_transaction() as conn:
            # The unique (poll, contact) row fails the batch if another run got there first: no SMS twice.
            shares = [
                ResultShare(
                    poll_id=figures.poll.id, contact_id=c.id, question_key=figures.question.key, shared_at=now
                )
                for c in chunk
            ]
            await ResultShare.bulk_create(shares, using_db=conn)
            messages = [new_message(c, figures.sms(c.language, c.district_id), now=now) for c in chunk]  # type: ignore[attr-defined]
            await queue(messages, conn)
    return Shared(len(people), sample, dry_run=False)
