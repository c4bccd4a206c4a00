"""All of a question's published tables as one system of numbers tied by sums (the linked-table model).

A published number is an *entry*: the count of answers in a group (a pattern of dimension categories)
for a category, or for a sum of categories. The same entry can appear in several tables (the grand
total of the overall table is the total of the response rate table), and entries are tied by exact
sums: a district's row is the sum of its district x sex rows, a region is the sum of its districts,
the overall counts are the sum of any one-way table. Answers whose category of a dimension is unknown
count in no group of it, so each dimension gets an unknown group `?`: never published, and counted in
the sums, which makes every sum exact. `+` stands for "any known category" (a table's column totals).

See docs/aggregates.md, "Linked tables", for what an attacker is assumed to know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ureport.aggregates.tables import Table

UNKNOWN, KNOWN = "?", "+"
ANSWERED, NOT_ANSWERED, ASKED = "*", "~", "@"  # all categories; asked but not answered; asked

Pattern = tuple[tuple[str, str], ...]  # (dimension, category) pairs sorted by dimension
Key = tuple[Pattern, str]  # a group, and a category (or ANSWERED, NOT_ANSWERED, ASKED)


def pattern(**parts: str) -> Pattern:
    return tuple(sorted(parts.items()))


@dataclass(frozen=True, slots=True)
class Plan:
    """Which tables are published together for a question (each is a margin of the counted tables)."""

    one_way: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    response_rate: bool = True  # overall and by district: answered, not answered, asked


@dataclass(frozen=True, slots=True)
class Counts:
    """A question's counters, as plain data: the only input of linked suppression."""

    categories: tuple[str, ...]
    rows: Mapping[str, Mapping[str, int]]  # scope ("district=3|sex=female", "all") -> category -> count
    asked: Mapping[str, int]  # scope -> people asked
    known: Mapping[str, tuple[str, ...]]  # dimension -> its categories, in display order
    regions: Mapping[str, str] = field(default_factory=dict)  # district -> its region


@dataclass(frozen=True, slots=True)
class Layout:
    """A two-way arrangement of entries: a published table, or a view used to protect a sum."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[Key, ...], ...]
    row_totals: tuple[Key, ...]
    column_totals: tuple[Key, ...]
    total: Key

    def keys(self) -> list[Key]:
        """In suppress()'s position order: cells row by row, row totals, column totals, total."""
        return [k for row in self.cells for k in row] + [*self.row_totals, *self.column_totals, self.total]


@dataclass
class Model:
    values: dict[Key, int]
    lines: list[tuple[Key, tuple[Key, ...]]]  # total = sum of parts, all exact
    tables: dict[str, Layout]  # published, by name
    views: list[Layout]  # every published table and every two-way slice of the sums
    published: set[Key]


def _scope(p: Pattern) -> str:
    return "|".join(f"{d}={v}" for d, v in p) or "all"


class _Values:
    """Entry values from the counters: unknown groups and known sums computed from the counted ones."""

    def __init__(self, counts: Counts) -> None:
        self.counts, self.memo = counts, dict[Key, int]()

    def __call__(self, p: Pattern, cat: str) -> int:
        key = (p, cat)
        if key not in self.memo:
            self.memo[key] = self._compute(p, cat)
        return self.memo[key]

    def _compute(self, p: Pattern, cat: str) -> int:
        c = self.counts
        if cat == ASKED:
            return self(p, ANSWERED) + self(p, NOT_ANSWERED)
        if cat == ANSWERED:
            return sum(self(p, x) for x in c.categories)
        parts = dict(p)
        if parts.get("region") not in (None, UNKNOWN, KNOWN) and parts.get("district") == UNKNOWN:
            region = parts["region"]
            inside = [d for d in c.known.get("district", ()) if c.regions.get(d) == region]
            return self(pattern(region=region), cat) - sum(self(pattern(district=d), cat) for d in inside)
        if parts.get("region") == UNKNOWN and parts.get("district") == UNKNOWN:
            regions = c.known.get("region", ())
            return self(pattern(district=UNKNOWN), cat) - sum(
                self(pattern(region=r, district=UNKNOWN), cat) for r in regions
            )
        for dim, value in p:
            if value in (KNOWN, UNKNOWN):
                known = sum(self(_with(p, dim, v), cat) for v in c.known.get(dim, ()))
                if value == KNOWN:
                    return known
                return self(tuple(x for x in p if x[0] != dim), cat) - known
        if cat == NOT_ANSWERED:
            return max(c.asked.get(_scope(p), 0) - self(p, ANSWERED), 0)
        return c.rows.get(_scope(p), {}).get(cat, 0)


def _with(p: Pattern, dim: str, value: str) -> Pattern:
    return tuple(sorted([*(x for x in p if x[0] != dim), (dim, value)]))


class _Builder:
    def __init__(self, counts: Counts, plan: Plan) -> None:
        self.counts, self.plan, self.value = counts, plan, _Values(counts)
        self.lines: list[tuple[Key, tuple[Key, ...]]] = []
        self.views: list[Layout] = []
        self.tables: dict[str, Layout] = {}
        self.cats = counts.categories

    def groups(self, dim: str) -> tuple[str, ...]:
        return (*self.counts.known.get(dim, ()), UNKNOWN)

    def sums_of(self, p: Pattern) -> tuple[str, ...]:
        """The categories an entry of this group exists for: counts, their sum, and for the groups of
        the response rate tables, people not answering and asked."""
        rr = self.plan.response_rate and dict(p).keys() <= {"district"}
        return (*self.cats, ANSWERED, *((NOT_ANSWERED, ASKED) if rr else ()))

    def line(self, total: Key, parts: Sequence[Key]) -> None:
        self.lines.append((total, tuple(parts)))

    def group(self, p: Pattern) -> None:
        """The sum over categories of a group (and asked = answered + not answered)."""
        self.line((p, ANSWERED), [(p, c) for c in self.cats])
        if ASKED in self.sums_of(p):
            self.line((p, ASKED), [(p, ANSWERED), (p, NOT_ANSWERED)])

    def view(
        self, rows: Sequence[Pattern], columns: Sequence[str], top: Pattern, names: Sequence[str]
    ) -> None:
        """Groups `rows` (summing to `top`) by `columns`: a two-way table whose sums all hold."""
        total = ASKED if columns and columns[0] == ANSWERED else ANSWERED
        self.views.append(
            Layout(
                rows=tuple(names),
                columns=tuple(columns),
                cells=tuple(tuple((r, c) for c in columns) for r in rows),
                row_totals=tuple((r, total) for r in rows),
                column_totals=tuple((top, c) for c in columns),
                total=(top, total),
            )
        )

    def margin(self, rows: Sequence[Pattern], top: Pattern, names: Sequence[str]) -> None:
        """`top` is the sum of the groups `rows`, for every category and sum of categories."""
        for cat in self.sums_of(top):
            if all(cat in self.sums_of(r) for r in rows):
                self.line((top, cat), [(r, cat) for r in rows])
        self.view(rows, self.cats, top, names)
        if NOT_ANSWERED in self.sums_of(top) and all(NOT_ANSWERED in self.sums_of(r) for r in rows):
            self.view(rows, (ANSWERED, NOT_ANSWERED), top, names)

    def build(self) -> Model:
        dims = list(dict.fromkeys([*self.plan.one_way, *(d for pair in self.plan.pairs for d in pair)]))
        self.tables["all"] = _table(
            ("all",), [()], self.cats, (), ANSWERED, column_totals=[((), c) for c in self.cats]
        )
        self.group(())
        for dim in dims:
            groups = [pattern(**{dim: v}) for v in self.groups(dim)]
            for g in groups:
                self.group(g)
            self.margin(groups, (), self.groups(dim))
            self.published_margin([pattern(**{dim: v}) for v in self.counts.known.get(dim, ())], dim)
        for x, y in self.plan.pairs:
            self.pair(x, y)
        if "region" in dims and "district" in dims:
            self.hierarchy()
        self.response_rates()
        values = {}
        for total, parts in self.lines:
            for p, cat in (total, *parts):
                values[(p, cat)] = self.value(p, cat)
        published = {k for t in self.tables.values() for k in t.keys()}
        values |= {k: self.value(*k) for k in published}
        views = [*self.tables.values(), *self.views]
        return Model(values, self.lines, self.tables, views, published)

    def published_margin(self, rows: list[Pattern], dim: str) -> None:
        """A one-way table: its column totals are the groups with a known category (`+`)."""
        top = pattern(**{dim: KNOWN})
        for cat in self.sums_of(top):
            self.line((top, cat), [(r, cat) for r in rows])
        self.group(top)
        names = tuple(self.counts.known.get(dim, ()))
        self.tables[dim] = _table(names, rows, self.cats, top, ANSWERED)

    def pair(self, x: str, y: str) -> None:
        """A two-way table over a third dimension, the categories: every slice of it is a sum."""
        cells = {(v, w): pattern(**{x: v, y: w}) for v in self.groups(x) for w in self.groups(y)}
        for p in cells.values():
            self.group(p)
        for v in self.groups(x):
            self.margin([cells[v, w] for w in self.groups(y)], pattern(**{x: v}), self.groups(y))
        for w in self.groups(y):
            self.margin([cells[v, w] for v in self.groups(x)], pattern(**{y: w}), self.groups(x))
        for cat in (*self.cats, ANSWERED):  # a category's layer: districts by sexes, say
            self.views.append(
                Layout(
                    rows=self.groups(x),
                    columns=self.groups(y),
                    cells=tuple(tuple((cells[v, w], cat) for w in self.groups(y)) for v in self.groups(x)),
                    row_totals=tuple((pattern(**{x: v}), cat) for v in self.groups(x)),
                    column_totals=tuple((pattern(**{y: w}), cat) for w in self.groups(y)),
                    total=((), cat),
                )
            )
        known = [(v, w) for v in self.counts.known.get(x, ()) for w in self.counts.known.get(y, ())]
        top = pattern(**{x: KNOWN, y: KNOWN})
        rows = [cells[vw] for vw in known]
        for cat in (*self.cats, ANSWERED):
            self.line((top, cat), [(r, cat) for r in rows])
        self.group(top)
        names = tuple("|".join(vw) for vw in known)
        self.tables[f"{x} x {y}"] = _table(names, rows, self.cats, top, ANSWERED)

    def hierarchy(self) -> None:
        """A region is the sum of its districts and of its answers with an unknown district; left out
        when the counts say otherwise (answers whose region was not derived from their district)."""
        regions = self.counts.known.get("region", ())
        by_region = {
            r: [d for d in self.counts.known.get("district", ()) if self.counts.regions.get(d) == r]
            for r in regions
        }
        loose = [
            d for d in self.counts.known.get("district", ()) if self.counts.regions.get(d) not in by_region
        ]
        rest = {r: pattern(region=r, district=UNKNOWN) for r in regions}
        both = pattern(region=UNKNOWN, district=UNKNOWN)
        plans = [
            *((pattern(region=r), [*(pattern(district=d) for d in by_region[r]), rest[r]]) for r in regions),
            (pattern(region=UNKNOWN), [*(pattern(district=d) for d in loose), both]),
            (pattern(district=UNKNOWN), [*rest.values(), both]),
        ]
        if any(self.value(p, cat) < 0 for _, rows in plans for p in rows for cat in self.cats):
            return
        for top, rows in plans:
            for p in rows:
                self.group(p)
            self.margin(rows, top, [_scope(p) for p in rows])

    def response_rates(self) -> None:
        if not self.plan.response_rate:
            return
        columns = ("answered", "not_answered")
        self.tables["response_rate"] = Layout(
            rows=("all",),
            columns=columns,
            cells=((((), ANSWERED), ((), NOT_ANSWERED)),),
            row_totals=(((), ASKED),),
            column_totals=(((), ANSWERED), ((), NOT_ANSWERED)),
            total=((), ASKED),
        )
        districts = self.counts.known.get("district", ())
        rows = [pattern(district=d) for d in districts]
        top = pattern(district=KNOWN)
        self.tables["response_rate x district"] = Layout(
            rows=tuple(districts),
            columns=columns,
            cells=tuple(((r, ANSWERED), (r, NOT_ANSWERED)) for r in rows),
            row_totals=tuple((r, ASKED) for r in rows),
            column_totals=((top, ANSWERED), (top, NOT_ANSWERED)),
            total=(top, ASKED),
        )


def _table(
    names: Sequence[str],
    rows: Sequence[Pattern],
    cats: Sequence[str],
    top: Pattern,
    total: str,
    column_totals: Sequence[Key] | None = None,
) -> Layout:
    return Layout(
        rows=tuple(names),
        columns=tuple(cats),
        cells=tuple(tuple((r, c) for c in cats) for r in rows),
        row_totals=tuple((r, total) for r in rows),
        column_totals=tuple(column_totals or [(top, c) for c in cats]),
        total=(top, total),
    )


def build(counts: Counts, plan: Plan) -> Model:
    """The linked-table model of one question: entries, exact sums, published tables, views."""
    return _Builder(counts, plan).build()


def view_table(model: Model, layout: Layout) -> Table | None:
    """A layout as a Table of exact counts, or None when its sums do not hold as non-negative counts
    (a view through a signed difference): such a view is left to the joint check."""
    counts = tuple(tuple(model.values[k] for k in row) for row in layout.cells)
    if any(n < 0 for row in counts for n in row):
        return None
    table = Table(rows=layout.rows, columns=layout.columns, counts=counts)
    expected = [*table.row_totals, *table.column_totals, table.total]
    actual = [model.values[k] for k in (*layout.row_totals, *layout.column_totals, layout.total)]
    return table if expected == actual else None
