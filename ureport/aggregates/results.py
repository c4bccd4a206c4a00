"""Published results read from the counters only: one generic breakdown(), suppressed inside it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ureport.aggregates import counters
from ureport.aggregates.suppression import suppress
from ureport.aggregates.tables import PublishedTable, Table
from ureport.models import AggregateCounter, Answer, Location, Poll, Question

ONE_WAY = ("age_band", "sex", "region", "district", "channel", "language", "day")
ALL_ROW = counters.ALL


class NotCounted(ValueError):
    """A breakdown asked for a combination of dimensions that no counter keeps."""


def _parse(scope: str) -> dict[str, str]:
    if scope == counters.ALL:
        return {}
    return dict(part.split("=", 1) for part in scope.split("|"))


@dataclass(frozen=True)
class QuestionCounts:
    """Every counter row of one question, read once; breakdowns are computed from it in memory."""

    key: str
    categories: tuple[str, ...]
    rows: Mapping[str, Mapping[str, int]]  # scope -> category -> count
    asked: Mapping[str, int]  # scope -> people asked
    words: Mapping[str, int] = field(default_factory=dict)  # word -> people who used it (free text)

    def top_words(self, k: int, limit: int = 30) -> list[tuple[str, int]]:
        """Words used by at least k different people, most used first: the only trace of free text."""
        kept = [(word, n) for word, n in self.words.items() if n >= k]
        return sorted(kept, key=lambda item: (-item[1], item[0]))[:limit]

    def response_rate(self, by: Sequence[str] = (), where: Mapping[str, str] | None = None) -> Table:
        """Answered and not (yet) answered among those asked: rows total to the people asked, so the
        same suppression protects it as any other table."""
        answers = self.breakdown(by, where)
        asked = QuestionCounts(self.key, ("asked",), {s: {"asked": n} for s, n in self.asked.items()}, {})
        asked_table = asked.breakdown(by, where)
        by_row = dict(zip(asked_table.rows, (row[0] for row in asked_table.counts), strict=True))
        rows = sorted(set(answers.rows) | set(by_row)) if by else [ALL_ROW]
        answered = dict(zip(answers.rows, answers.row_totals, strict=True))
        counts = tuple((answered.get(r, 0), max(by_row.get(r, 0) - answered.get(r, 0), 0)) for r in rows)
        return Table(rows=tuple(rows), columns=("answered", "not_answered"), counts=counts)

    def breakdown(self, by: Sequence[str] = (), where: Mapping[str, str] | None = None) -> Table:
        """The exact table of this question's categories, one row per category of `by` (a tuple of
        dimension keys; none gives one row, "all"), among answers matching `where`."""
        where = dict(where or {})
        dims = tuple(sorted({*by, *where}))
        if dims not in counters.combinations():
            raise NotCounted(f"no counters are kept for {' x '.join(dims)}")
        found: dict[tuple[str, ...], dict[str, int]] = {}
        for scope, counts in self.rows.items():
            parts = _parse(scope)
            if set(parts) != set(dims) or any(parts[k] != v for k, v in where.items()):
                continue
            found[tuple(parts[d] for d in by)] = dict(counts)
        row_keys = sorted(found) if by else [()]
        return Table(
            rows=tuple("|".join(key) or counters.ALL for key in row_keys),
            columns=self.categories,
            counts=tuple(tuple(found.get(key, {}).get(c, 0) for c in self.categories) for key in row_keys),
        )


async def question_counts(poll_id: int, question: Question) -> QuestionCounts:
    rows: dict[str, dict[str, int]] = {}
    query = AggregateCounter.filter(poll_id=poll_id, question_key=question.key).values_list(
        "scope", "category", "count"
    )
    seen: list[str] = []
    asked: dict[str, int] = {}
    words: dict[str, int] = {}
    for scope, category, count in await query:
        if category == counters.ASKED:
            asked[scope] = count
            continue
        if category.startswith(counters.WORD):
            words[category.removeprefix(counters.WORD)] = count
            continue
        rows.setdefault(scope, {})[category] = count
        seen.append(category)
    declared = [c["id"] for c in question.categories]
    extra = sorted(set(seen) - set(declared))  # "other", "answered", location codes
    return QuestionCounts(question.key, tuple(declared + extra), rows, asked, words)


def _published_json(table: PublishedTable, labels: Mapping[str, str]) -> dict[str, Any]:
    data = table.to_json()
    data["row_labels"] = [labels.get(row, row) for row in table.rows]
    return data


async def poll_results(poll: Poll, *, k: int) -> dict[str, Any]:
    """Everything published for a poll: per question, overall, one-way and two-way tables, suppressed."""
    labels = await _labels()
    questions = []
    for question in await Question.filter(poll=poll).order_by("position"):
        counts = await question_counts(poll.id, question)
        tables = {"all": _published_json(suppress(counts.breakdown(), k), labels)}
        for dims in [(d,) for d in ONE_WAY] + [tuple(p) for p in counters.PAIRS]:
            name = " x ".join(dims)
            tables[name] = _published_json(suppress(counts.breakdown(dims), k), labels)
        for dims in [(), ("district",)]:
            name = " x ".join(("response_rate", *dims))
            tables[name] = _published_json(suppress(counts.response_rate(dims), k), labels)
        questions.append(
            {
                "key": question.key,
                "type": question.type,
                "text": question.text,
                "categories": [{"id": c["id"], "label": c["label"]} for c in question.categories],
                "tables": tables,
                "words": [{"word": w, "people": n} for w, n in counts.top_words(k)]
                if question.type == "text"
                else [],
            }
        )
    return {"poll": poll.slug, "title": poll.title, "min_cell": k, "questions": questions}


async def _labels() -> dict[str, str]:
    """Row keys to readable labels: location ids become names; other keys read as they are."""
    return {str(i): name for i, name in await Location.all().values_list("id", "name")}


async def recount(poll_ids: Iterable[int] | None = None, batch: int = 5000) -> dict[counters.Key, int]:
    """The counters as they should be, recomputed from the answers (streamed in id order)."""
    from ureport.workspace import counted  # the same snapshot the live path counts

    total: dict[counters.Key, int] = {}
    last = 0
    while True:
        query = Answer.filter(id__gt=last).order_by("id").limit(batch)
        if poll_ids is not None:
            query = query.filter(poll_id__in=list(poll_ids))
        answers = await query
        if not answers:
            return total
        for key, n in counters.deltas(c for a in answers for c in counted(a)).items():
            total[key] = total.get(key, 0) + n
        last = answers[-1].id


async def stored_counts(poll_ids: Iterable[int] | None = None) -> dict[counters.Key, int]:
    """The stored answer counters (people asked are counted as they are asked and cannot be recounted)."""
    query = AggregateCounter.exclude(category=counters.ASKED)
    if poll_ids is not None:
        query = query.filter(poll_id__in=list(poll_ids))
    rows = await query.values_list("poll_id", "question_key", "scope", "category", "count")
    return {(p, q, s, c): n for p, q, s, c, n in rows if n}


@dataclass(frozen=True)
class Drift:
    keys: int  # counters that differed from the recount
    answers: int  # the sum of the differences


async def rebuild() -> Drift:
    """Recompute every counter from the answers, report how far the stored ones had drifted, replace them."""
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        expected = await recount()
        stored = await stored_counts()
        differing = {k for k in expected.keys() | stored.keys() if expected.get(k, 0) != stored.get(k, 0)}
        drift = Drift(len(differing), sum(abs(expected.get(k, 0) - stored.get(k, 0)) for k in differing))
        await AggregateCounter.exclude(category=counters.ASKED).using_db(conn).delete()
        await counters.apply(Counter(expected), conn)
    return drift
