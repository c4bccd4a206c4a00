"""An exact attacker for linked tables, independent of ureport.aggregates.linked and joint.

The world is a count of people per (district, sex, answer), where district and sex may be unknown (`?`);
people asked who did not answer (`~`) are counted per district only (sex `-`), the finest table the
response rates are published from. Every published number is a sum of such counts,
worked out here from the table's name, row and column alone. The attacker knows every published number,
and, to be generous to them, which unpublished counts are zero; a hidden count is at least 1. A hidden
number is safe when two worlds that agree with everything published give it different values: the
audit enumerates integer worlds exhaustively (with pruning), so it is exact for the sizes tested.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ureport.aggregates.linked import Counts
from ureport.aggregates.tables import PublishedTable

UNKNOWN, SILENT, NO_SEX = "?", "~", "-"
Cell = tuple[str, str, str]  # district, sex, answer


@dataclass(frozen=True)
class World:
    districts: tuple[str, ...]
    sexes: tuple[str, ...]
    answers: tuple[str, ...]
    regions: Mapping[str, str]  # district -> region
    people: Mapping[Cell, int]

    def cells(self) -> list[Cell]:
        answered = itertools.product((*self.districts, UNKNOWN), (*self.sexes, UNKNOWN), self.answers)
        return [*answered, *((d, NO_SEX, SILENT) for d in (*self.districts, UNKNOWN))]

    def counts(self) -> Counts:
        """The counters the live path would keep for these people."""
        rows: dict[str, Counter[str]] = {}
        asked: Counter[str] = Counter()
        for (d, s, a), n in self.people.items():
            if not n:
                continue
            scopes = ["all"]
            if d != UNKNOWN:
                scopes += [f"district={d}", f"region={self.regions[d]}"]
            if s not in (UNKNOWN, NO_SEX):
                scopes.append(f"sex={s}")
            if d != UNKNOWN and s not in (UNKNOWN, NO_SEX):
                scopes.append(f"district={d}|sex={s}")
            for scope in scopes:
                asked[scope] += n
                if a != SILENT:
                    rows.setdefault(scope, Counter())[a] += n
        return Counts(
            categories=self.answers,
            rows={scope: dict(row) for scope, row in rows.items()},
            asked=dict(asked),
            known={
                "district": self.districts,
                "sex": self.sexes,
                "region": tuple(sorted(set(self.regions.values()))),
            },
            regions=self.regions,
        )


def members(world: World, table: str, row: str | None, column: str | None) -> set[Cell]:
    """The world's cells a published number adds up (row or column None: the total over it)."""
    out = set()
    for d, s, a in world.cells():
        if table.startswith("response_rate"):
            in_column = {"answered": a != SILENT, "not_answered": a == SILENT, None: True}[column]
        else:
            in_column = a != SILENT and column in (None, a)
        group = {
            "all": True,
            "response_rate": True,
            "district": d == row if row else d != UNKNOWN,
            "response_rate x district": d == row if row else d != UNKNOWN,
            "sex": s == row if row else s != UNKNOWN,
            "region": d != UNKNOWN and (world.regions[d] == row if row else True),
            "district x sex": f"{d}|{s}" == row if row else UNKNOWN not in (d, s),
        }[table]
        if in_column and group:
            out.add((d, s, a))
    return out


Number = tuple[str, str | None, str | None]  # table, row (None: column total), column (None: row total)


def numbers(tables: Mapping[str, PublishedTable]) -> Iterator[tuple[Number, int | None]]:
    """Every published position with what it shows."""
    for name, t in tables.items():
        for i, row in enumerate(t.rows):
            for j, column in enumerate(t.columns):
                yield (name, row, column), t.cells[i][j]
            yield (name, row, None), t.row_totals[i]
        for j, column in enumerate(t.columns):
            yield (name, None, column), t.column_totals[j]
        yield (name, None, None), t.total


def value(world: World, cells: set[Cell]) -> int:
    return sum(world.people.get(c, 0) for c in cells)


def unsafe(world: World, tables: Mapping[str, PublishedTable]) -> list[Number]:
    """Hidden numbers that every world consistent with the published ones gives the same value."""
    shown: list[tuple[set[Cell], int]] = []
    hidden: dict[Number, set[Cell]] = {}
    for number, published in numbers(tables):
        cells = members(world, *number)
        true = value(world, cells)
        if published is None:
            hidden[number] = cells
        else:
            assert published == true, f"{number} is published as {published}, but is {true}"
            shown.append((cells, published))
    search = _Search(world, shown)
    return sorted((n for n, cells in hidden.items() if not search.moves(cells)), key=str)


class _Search:
    """Integer worlds by depth-first search: free cells (not zero, not published alone) are at least 1,
    and every published number must come out exactly; values near the true ones are tried first."""

    def __init__(self, world: World, shown: list[tuple[set[Cell], int]]) -> None:
        alone = {next(iter(cells)) for cells, _ in shown if len(cells) == 1}
        self.free = [c for c in world.cells() if world.people.get(c, 0) and c not in alone]
        self.true = [world.people[c] for c in self.free]
        base = {c: n for c, n in world.people.items() if c not in self.free}
        self.equal = []
        for cells, target in shown:
            members_ = [i for i, c in enumerate(self.free) if c in cells]
            if members_:
                self.equal.append((members_, target - sum(base.get(c, 0) for c in cells)))
        self.cap = []
        for i, true in enumerate(self.true):
            bounds = [t - (len(m) - 1) for m, t in self.equal if i in m]
            self.cap.append(min(bounds) if bounds else true + 1)
        self.base = base

    def moves(self, cells: set[Cell]) -> bool:
        """Is there a world where the sum over `cells` differs from the true one?"""
        members_ = [i for i, c in enumerate(self.free) if c in cells]
        if not members_:
            return False  # made of published or zero cells only: it is what it is
        true = sum(self.true[i] for i in members_)
        near = (
            [max(1, t - 1) for t in self.true],
            [min(c, t + 1) for t, c in zip(self.true, self.cap, strict=True)],
        )
        anywhere = ([1] * len(self.free), self.cap)
        # Worlds within one of the true one in every cell first (fast), then all of them (exact).
        return any(
            self._walk([(m, t, t) for m, t in self.equal] + [(members_, low, high)], list(lo), list(hi))
            for lo, hi in (near, anywhere)
            for low, high in ((0, true - 1), (true + 1, 10**9))
        )

    def _walk(self, rules: list[tuple[list[int], int, int]], lo: list[int], hi: list[int]) -> bool:
        """Bounds narrowed by every rule until stable, then a branch on the least settled cell."""
        if not _narrow(rules, lo, hi):
            return False
        open_ = [i for i in range(len(lo)) if lo[i] < hi[i]]
        if not open_:
            return True  # every cell settled and every rule holds
        v = min(open_, key=lambda i: (hi[i] - lo[i], i))
        for x in _near(self.true[v], lo[v], hi[v]):
            lo2, hi2 = list(lo), list(hi)
            lo2[v] = hi2[v] = x
            if self._walk(rules, lo2, hi2):
                return True
        return False


def _narrow(rules: list[tuple[list[int], int, int]], lo: list[int], hi: list[int]) -> bool:
    """Interval propagation of sum rules (low <= sum <= high): False when they cannot all hold."""
    changed = True
    while changed:
        changed = False
        for members_, low, high in rules:
            least, most = sum(lo[i] for i in members_), sum(hi[i] for i in members_)
            if least > high or most < low:
                return False
            for i in members_:
                new_lo, new_hi = max(lo[i], low - (most - hi[i])), min(hi[i], high - (least - lo[i]))
                if new_lo > new_hi:
                    return False
                if (new_lo, new_hi) != (lo[i], hi[i]):
                    least += new_lo - lo[i]
                    most += new_hi - hi[i]
                    lo[i], hi[i] = new_lo, new_hi
                    changed = True
    return True


def _near(true: int, low: int, high: int) -> Iterator[int]:
    """low..high, nearest to the true value first."""
    for step in range(max(high - low, abs(true - low), abs(true - high)) + 1):
        for x in (true - step, true + step) if step else (true,):
            if low <= x <= high:
                yield x
