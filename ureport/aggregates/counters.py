"""Scoped answer counters: which scopes an answer counts in, deltas for new and changed answers, upserts.

A scope is a set of dimension categories, written `district=12|sex=female` (`all` for none). Each answer
counts once in every counted combination of dimensions for which its snapshot has a category, so any
published table is a handful of counter rows, whatever the number of answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from ureport.aggregates.dimensions import Dimension, Snapshot, register, registry
from ureport.db import execute_statements

ALL = "all"
ASKED = "@asked"  # the category under which people asked a question are counted (never a choice id)
WORD = "#w:"  # categories of words used in free-text answers, counted in `all` only (one per person)
MAX_WORD = 48
# Two-way tables worth keeping ready: results by district and sex, by age and sex, and a district's
# results by age (the ambassador's brief). Every one-way table is kept for every registered dimension.
PAIRS: tuple[tuple[str, ...], ...] = (("district", "sex"), ("age_band", "sex"), ("age_band", "district"))
TABLE = "aggregate_counter"


def _day(snapshot: Snapshot) -> str | None:
    day = snapshot.get("day")
    return day if isinstance(day, str) and day else None


# Responses over time: the UTC day of each answer, registered like any other dimension.
register(Dimension(key="day", label="Day", category_of=_day))


def combinations() -> tuple[tuple[str, ...], ...]:
    """The dimension combinations counted: none, each dimension, and the pairs above (keys sorted)."""
    singles = tuple((d.key,) for d in registry)
    return ((), *singles, *(tuple(sorted(pair)) for pair in PAIRS))


def scope_key(categories: Mapping[str, str]) -> str:
    return "|".join(f"{key}={categories[key]}" for key in sorted(categories)) or ALL


_SCOPES: dict[tuple[object, ...], tuple[str, ...]] = {}
_SCOPES_KEPT = 10_000


def scopes(snapshot: Snapshot) -> tuple[str, ...]:
    """Every scope an answer with this snapshot counts in (unknown categories count only in `all`).

    Remembered by snapshot: a person's answers, and a batch's people, share a few snapshots, and
    working the scopes out again cost a sizeable part of every answer."""
    try:
        key = (registry.version, *snapshot.items())
        found = _SCOPES.get(key)
    except TypeError:  # a value that cannot be a key (an extension's list, say): work it out
        return _scopes(snapshot)
    if found is None:
        if len(_SCOPES) >= _SCOPES_KEPT:
            _SCOPES.clear()
        found = _SCOPES[key] = _scopes(snapshot)
    return found


def _scopes(snapshot: Snapshot) -> tuple[str, ...]:
    known = {d.key: cat for d in registry if (cat := d.category_of(snapshot)) is not None}
    out = []
    for combo in combinations():
        if all(key in known for key in combo):
            out.append(scope_key({key: known[key] for key in combo}))
    return tuple(out)


def word_counts(poll_id: int, question_key: str, text: str, language: str | None) -> list[Counted]:
    """One count per distinct word of a free-text answer: its people, never its text, are published."""
    from ureport.aggregates.words import tokens

    return [
        Counted(poll_id, question_key, WORD + word[:MAX_WORD], {}) for word in sorted(tokens(text, language))
    ]


@dataclass(frozen=True, slots=True)
class Counted:
    """One answer as the counters see it."""

    poll_id: int
    question_key: str
    category: str
    snapshot: Snapshot


Key = tuple[int, str, str, str]  # poll id, question key, scope, category


def deltas(added: Iterable[Counted], removed: Iterable[Counted] = ()) -> Counter[Key]:
    """Counter changes for answers added and answers replaced (a question asked again in a loop)."""
    change: dict[Key, int] = {}
    accumulate(change, added, removed)
    return Counter(change)


def accumulate(into: dict[Key, int], added: Iterable[Counted], removed: Iterable[Counted] = ()) -> None:
    """Add deltas() to `into` in place; a key whose total comes to zero is dropped, a negative one
    stays (the -1 for a stored answer replaced later). A dict's get, not Counter's __missing__ per
    new key, and no change set built per answer: this runs for every answer and question asked."""
    for sign, answers in ((1, added), (-1, removed)):
        for answer in answers:
            poll_id, question_key, category = answer.poll_id, answer.question_key, answer.category
            for scope in scopes(answer.snapshot):
                key = (poll_id, question_key, scope, category)
                total = into.get(key, 0) + sign
                if total:
                    into[key] = total
                else:
                    del into[key]


async def apply(change: Counter[Key], conn: BaseDBAsyncClient) -> None:
    """Add the deltas in one prepared upsert (SQLite and PostgreSQL both speak ON CONFLICT)."""
    await execute_statements(conn, [upsert_statement(change, conn.capabilities.dialect)])


def upsert_statement(change: Counter[Key], dialect: str) -> tuple[str, list[list[Any]]]:
    """apply()'s upsert and its rows, in key order (two writers lock counter rows in the same order)."""
    marks = ", ".join(f"${i}" if dialect == "postgres" else "?" for i in range(1, 6))
    sql = (
        f'INSERT INTO "{TABLE}" ("poll_id", "question_key", "scope", "category", "count") VALUES ({marks}) '  # noqa: S608
        'ON CONFLICT ("poll_id", "question_key", "scope", "category") '
        f'DO UPDATE SET "count" = "{TABLE}"."count" + excluded."count"'
    )
    return sql, [[*key, n] for key, n in sorted(change.items())]
