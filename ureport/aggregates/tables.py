"""Count tables: the exact `Table` kept inside, and the `PublishedTable`, the only form shown outside."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["PercentOf", "PublishedTable", "SUPPRESSED_MARK", "Table"]

# One mark for every suppressed cell, whatever the reason. A complementary cell can hold 40 people, so
# "<5" would be false for it; and a mark that told small cells from complementary ones would hand an
# attacker tighter bounds than the ones suppression was computed against.
SUPPRESSED_MARK = "x"


def _labels(values: Sequence[str], what: str) -> tuple[str, ...]:
    labels = tuple(values)
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} labels repeat: {list(labels)}")
    return labels


@dataclass(frozen=True, slots=True)
class Table:
    """Exact counts: rows are groups (districts...), columns are categories (answers...). Never published."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", _labels(self.rows, "row"))
        object.__setattr__(self, "columns", _labels(self.columns, "column"))
        object.__setattr__(self, "counts", tuple(tuple(row) for row in self.counts))
        if len(self.counts) != len(self.rows):
            raise ValueError(f"{len(self.rows)} row labels for {len(self.counts)} rows of counts")
        for label, row in zip(self.rows, self.counts, strict=True):
            if len(row) != len(self.columns):
                raise ValueError(f"row {label!r} has {len(row)} counts for {len(self.columns)} columns")
            for n in row:
                # bool is an int subclass: a True slipping in is a bug upstream, not a count of one.
                if type(n) is not int or n < 0:
                    raise ValueError(f"row {label!r}: counts are non-negative integers, not {n!r}")

    @classmethod
    def one_way(cls, columns: Sequence[str], counts: Sequence[int], *, row: str = "all") -> Table:
        """A single row: the overall counts per category."""
        return cls(rows=(row,), columns=tuple(columns), counts=(tuple(counts),))

    @property
    def row_totals(self) -> tuple[int, ...]:
        return tuple(sum(row) for row in self.counts)

    @property
    def column_totals(self) -> tuple[int, ...]:
        return tuple(sum(row[j] for row in self.counts) for j in range(len(self.columns)))

    @property
    def total(self) -> int:
        return sum(self.row_totals)


class PercentOf(StrEnum):
    """What a percentage is a share of."""

    ROW = "row"
    COLUMN = "column"
    TOTAL = "total"


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or whole is None or whole == 0:
        return None
    return round(100 * part / whole, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedTable:
    """A table safe to show anyone: None marks a suppressed cell or total (see docs/aggregates.md)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    total: int | None
    min_cell: int

    @property
    def suppressed(self) -> int:
        """How many cells and totals are hidden."""
        values = [n for row in self.cells for n in row] + [*self.row_totals, *self.column_totals, self.total]
        return sum(n is None for n in values)

    def percent(self, row: int, column: int, of: PercentOf = PercentOf.ROW) -> float | None:
        """A cell as a share (0-100, one decimal) of a published total; None unless both are published."""
        whole = {
            PercentOf.ROW: self.row_totals[row],
            PercentOf.COLUMN: self.column_totals[column],
            PercentOf.TOTAL: self.total,
        }[of]
        return _share(self.cells[row][column], whole)

    def percentages(self, of: PercentOf = PercentOf.ROW) -> tuple[tuple[float | None, ...], ...]:
        return tuple(
            tuple(self.percent(i, j, of) for j in range(len(self.columns))) for i in range(len(self.rows))
        )

    def display(self, value: int | None) -> str:
        """The text for a cell or total in a rendered table: the number, or the suppression mark."""
        return SUPPRESSED_MARK if value is None else str(value)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (docs/aggregates.md): suppressed numbers are null."""
        return {
            "min_cell": self.min_cell,
            "rows": list(self.rows),
            "columns": list(self.columns),
            "cells": [list(row) for row in self.cells],
            "row_totals": list(self.row_totals),
            "column_totals": list(self.column_totals),
            "total": self.total,
            "row_percentages": [list(row) for row in self.percentages(PercentOf.ROW)],
        }
