"""Published results read from the counters only: one generic breakdown(), suppressed inside it."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ureport.aggregates import counters
from ureport.aggregates.dimensions import registry
from ureport.aggregates.joint import suppress_linked
from ureport.aggregates.linked import Counts, Plan
from ureport.aggregates.tables import PublishedTable, Table
from ureport.models import AggregateCounter, Answer, Location, Poll, Question
from ureport.polls import begun_polls, open_first

log = logging.getLogger(__name__)

ONE_WAY = ("age_band", "sex", "region", "district", "channel", "language", "day")
ALL_ROW = counters.ALL
# Two-way tables published with the results; age x district is published in district briefs only,
# but suppressed with the others: a brief and the dashboard together must not give anything away.
PUBLISHED_PAIRS = (("district", "sex"), ("age_band", "sex"))
PLAN = Plan(one_way=ONE_WAY, pairs=(*PUBLISHED_PAIRS, ("age_band", "district")))
BRIEF_ONLY = ("age_band x district",)


class NotCounted(ValueError):
    """A breakdown asked for a combination of dimensions that no counter keeps."""


def _parse(scope: str) -> dict[str, str]:
    if scope == counters.ALL:
        return {}
    return dict(part.split("=", 1) for part in scope.split("|"))


@dataclass(frozen=True)  # not slotted: cached_property keeps the parsed scopes in the instance dict
class QuestionCounts:
    """Every counter row of one question, read once; breakdowns are computed from it in memory."""

    key: str
    categories: tuple[str, ...]
    rows: Mapping[str, Mapping[str, int]]  # scope -> category -> count
    asked: Mapping[str, int]  # scope -> people asked
    words: Mapping[str, int] = field(default_factory=dict)  # word -> people who used it (free text)

    @functools.cached_property
    def _by_dims(self) -> dict[tuple[str, ...], list[tuple[dict[str, str], Mapping[str, int]]]]:
        """Scopes parsed once and grouped by their dimensions: a breakdown reads only its own group."""
        groups: dict[tuple[str, ...], list[tuple[dict[str, str], Mapping[str, int]]]] = {}
        for scope, counts in self.rows.items():
            parts = _parse(scope)
            groups.setdefault(tuple(sorted(parts)), []).append((parts, counts))
        return groups

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

    def breakdown(
        self,
        by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
        universe: Mapping[str, Sequence[str]] | None = None,
    ) -> Table:
        """The exact table of this question's categories, one row per category of `by` (a tuple of
        dimension keys; none gives one row, "all"), among answers matching `where`. With a `universe`
        (every category of a dimension), rows with no answers are shown as zeros, so a table has the
        same shape however many answers there are."""
        where = dict(where or {})
        dims = tuple(sorted({*by, *where}))
        if dims not in counters.combinations():
            raise NotCounted(f"no counters are kept for {' x '.join(dims)}")
        found: dict[tuple[str, ...], Mapping[str, int]] = {}
        for parts, counts in self._by_dims.get(dims, ()):
            if all(parts[k] == v for k, v in where.items()):
                found[tuple(parts[d] for d in by)] = counts
        row_keys = _row_keys(by, found, universe or {})
        return Table(
            rows=tuple("|".join(key) or counters.ALL for key in row_keys),
            columns=self.categories,
            counts=tuple(tuple(found.get(key, {}).get(c, 0) for c in self.categories) for key in row_keys),
        )


def _row_keys(
    by: Sequence[str], found: Mapping[tuple[str, ...], object], universe: Mapping[str, Sequence[str]]
) -> list[tuple[str, ...]]:
    if not by:
        return [()]
    if not all(d in universe for d in by):
        return sorted(found)
    keys: list[tuple[str, ...]] = [()]  # every combination of categories, then any found outside them
    for dim in by:
        keys = [(*key, category) for key in keys for category in universe[dim]]
    return keys + sorted(set(found) - set(keys))


async def universe() -> dict[str, tuple[str, ...]]:
    """Every category of the dimensions with a fixed set: locations from the database, the rest declared."""
    districts = await Location.filter(level=2).order_by("name").values_list("id", flat=True)
    regions = await Location.filter(level=1).order_by("name").values_list("id", flat=True)
    fixed = {d.key: d.categories for d in registry if d.categories}
    return fixed | {"district": tuple(map(str, districts)), "region": tuple(map(str, regions))}


async def regions() -> dict[str, str]:
    """District -> its region, for the sums that tie the region table to the district table."""
    pairs = await Location.filter(level=2, parent_id__isnull=False).values_list("id", "parent_id")
    return {str(district): str(region) for district, region in pairs}


def _known(counts: QuestionCounts, every: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Each dimension's categories: the fixed ones (so tables keep their shape), then any counted."""
    found: dict[str, set[str]] = {}
    for scope in counts.rows:
        for dim, value in _parse(scope).items():
            found.setdefault(dim, set()).add(value)
    dims = {*PLAN.one_way, *(d for pair in PLAN.pairs for d in pair)}
    known = {}
    for dim in sorted(dims):
        fixed = tuple(every.get(dim, ()))
        known[dim] = fixed + tuple(sorted(found.get(dim, set()) - set(fixed)))
    return known


def question_tables(
    counts: QuestionCounts, every: Mapping[str, Sequence[str]], parents: Mapping[str, str], k: int
) -> dict[str, PublishedTable]:
    """Every table published for a question (results.json, the dashboard, exports, briefs, shared
    results), suppressed together by the one linked-table suppression: the single way they are made."""
    frozen = (
        counts.categories,
        tuple(sorted((scope, tuple(sorted(row.items()))) for scope, row in counts.rows.items())),
        tuple(sorted(counts.asked.items())),
        tuple(sorted(_known(counts, every).items())),
        tuple(sorted(parents.items())),
        k,
    )
    return dict(_suppressed(frozen))


Frozen = tuple[Any, ...]


@functools.lru_cache(maxsize=256)
def _suppressed(frozen: Frozen) -> dict[str, PublishedTable]:
    """Remembered: the tables change only when an answer arrives, and are read far more often."""
    categories, rows, asked, known, parents, k = frozen
    data = Counts(
        categories=categories,
        rows={scope: dict(row) for scope, row in rows},
        asked=dict(asked),
        known=dict(known),
        regions=dict(parents),
    )
    return suppress_linked(data, PLAN, k)


async def published_tables(poll_id: int, question: Question, k: int) -> dict[str, PublishedTable]:
    """A question's published tables, read from the counters."""
    counts = await question_counts(poll_id, question)
    every, parents = await universe(), await regions()
    return await asyncio.to_thread(question_tables, counts, every, parents, k)


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


@dataclass(frozen=True, slots=True)
class _Cached:
    """A poll's published results, as computed at one moment."""

    stamp: tuple[Any, ...]  # the poll's overall counters then: a new answer changes them
    at: float  # monotonic time
    took: float  # seconds the computation took
    data: dict[str, Any]

    def fresh(self, stamp: tuple[Any, ...], now: float) -> bool:
        """Served as they are: nothing has changed (for up to a minute, which covers the moves the stamp
        cannot see), or they were slow to compute and are younger than SPACING times that. A live poll
        gets answers all the time; recomputing after each would keep a core busy with suppression."""
        if now - self.at >= CACHE_SECONDS:
            return False
        return self.stamp == stamp or (self.took >= SLOW and now - self.at < SPACING * self.took)


# (poll id, k) -> results: a dashboard reads the same results many times between two answers.
_CACHE: dict[tuple[int, int], _Cached] = {}
CACHE_SECONDS = 60.0
SLOW, SPACING = 1.0, 4.0  # a recomputation of s >= SLOW seconds waits SPACING * s: at most 1/4 of a core
_COMPUTING: dict[tuple[int, int], asyncio.Lock] = {}


def forget_cached_results() -> None:
    _CACHE.clear()
    _COMPUTING.clear()
    _suppressed.cache_clear()


async def poll_results(poll: Poll, *, k: int) -> dict[str, Any]:
    """The published results, recomputed when an answer has arrived since (see _Cached.fresh).

    One recomputation per poll at a time, and readers wait only for quick ones: joint suppression of a
    thinly spread poll takes seconds of CPU, so when results were slow to compute, readers get the
    previous ones (already suppressed) while one background task brings them up to date, instead of
    each waiting seconds and piling up on a live poll's dashboard."""
    stamp = tuple(
        await AggregateCounter.filter(poll_id=poll.id, scope=counters.ALL)
        .order_by("question_key", "category")
        .values_list("question_key", "category", "count")
    )
    key = (poll.id, k)
    cached = _CACHE.get(key)
    if cached is not None and cached.fresh(stamp, time.monotonic()):
        return cached.data
    lock = _COMPUTING.setdefault(key, asyncio.Lock())
    if cached is not None and (lock.locked() or cached.took >= SLOW):
        if not lock.locked():
            _in_background(_recompute(poll, k, stamp, lock))
        return cached.data
    return await _recompute(poll, k, stamp, lock)


async def _recompute(poll: Poll, k: int, stamp: tuple[Any, ...], lock: asyncio.Lock) -> dict[str, Any]:
    async with lock:
        latest = _CACHE.get((poll.id, k))
        if latest is not None and latest.stamp == stamp and latest.fresh(stamp, time.monotonic()):
            return latest.data  # computed by the reader (or task) this one waited for
        began = time.monotonic()
        data = await compute_poll_results(poll, k=k)
        now = time.monotonic()
        _CACHE[(poll.id, k)] = _Cached(stamp, now, now - began, data)
    return data


_TASKS: set[asyncio.Task[Any]] = set()  # background recomputations, kept until done


def _in_background(work: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.create_task(work)
    _TASKS.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[Any]) -> None:
    _TASKS.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("recomputing results failed", exc_info=task.exception())


async def warm_up(k: int) -> int:
    """Compute the results of every public poll, open ones first, so that the first reader after a
    start does not wait for seconds of suppression. Returns how many polls were computed."""
    polls = open_first(await begun_polls().filter(published=True))
    for poll in polls:
        await poll_results(poll, k=k)
    return len(polls)


async def compute_poll_results(poll: Poll, *, k: int) -> dict[str, Any]:
    """Everything published for a poll: per question, overall, one-way and two-way tables, suppressed."""
    labels = await _labels()
    every, parents = await universe(), await regions()
    questions = []
    for question in await Question.filter(poll=poll).order_by("position"):
        counts = await question_counts(poll.id, question)
        # Pure CPU work, seconds for a thinly spread poll: in a thread, so other requests are served.
        published = await asyncio.to_thread(question_tables, counts, every, parents, k)
        tables = {name: _published_json(t, labels) for name, t in published.items() if name not in BRIEF_ONLY}
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
