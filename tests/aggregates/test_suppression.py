"""Suppression: examples, and properties checked against an attacker who solves for hidden numbers."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ureport.aggregates.suppression import suppress
from ureport.aggregates.tables import PublishedTable, Table

# --- the attacker ----------------------------------------------------------------------------------
# Independent of the implementation: a feasibility check by max flow (Edmonds-Karp) with lower bounds.
# The attacker knows every published number and that a hidden number is at least 1 (zeros are always
# published). A hidden number is safe when some other value, one up or one down, is also consistent.

Entry = tuple[str, int, int]  # ("cell", i, j), ("row", i, 0), ("column", j, 0), ("total", 0, 0)
BIG = 10**6


def entries(table: Table, published: PublishedTable) -> Iterator[tuple[Entry, int, int | None]]:
    """Every entry with its true value and its published value."""
    for i, j in itertools.product(range(len(table.rows)), range(len(table.columns))):
        yield ("cell", i, j), table.counts[i][j], published.cells[i][j]
    for i, n in enumerate(table.row_totals):
        yield ("row", i, 0), n, published.row_totals[i]
    for j, n in enumerate(table.column_totals):
        yield ("column", j, 0), n, published.column_totals[j]
    yield ("total", 0, 0), table.total, published.total


def arc_of(entry: Entry, m: int) -> tuple[int, int]:
    kind, a, b = entry  # nodes: 0 = row totals' line, 1 = column totals' line, rows, then columns
    return {
        "cell": (2 + a, 2 + m + b),
        "row": (0, 2 + a),
        "column": (2 + m + a, 1),
        "total": (1, 0),
    }[kind]


def max_flow(capacity: dict[int, dict[int, int]], source: int, sink: int) -> int:
    flow = 0
    while True:
        parent = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            node = queue.popleft()
            for nxt, cap in capacity[node].items():
                if cap > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            return flow
        path, node = [], sink
        while node != source:
            path.append((parent[node], node))
            node = parent[node]
        push = min(capacity[u][v] for u, v in path)
        for u, v in path:
            capacity[u][v] -= push
            capacity[v][u] = capacity[v].get(u, 0) + push
        flow += push


def consistent(table: Table, published: PublishedTable, fixed: Entry, value: int) -> bool:
    """Is there a table of non-negative integers matching everything published, with `fixed` = value?"""
    m, n = len(table.rows), len(table.columns)
    nodes = 2 + m + n
    source, sink = nodes, nodes + 1
    capacity: dict[int, dict[int, int]] = {v: {} for v in range(nodes + 2)}
    excess = [0] * nodes
    for entry, _, shown in entries(table, published):
        low, high = (value, value) if entry == fixed else (1, BIG) if shown is None else (shown, shown)
        u, v = arc_of(entry, m)
        capacity[u][v] = capacity[u].get(v, 0) + high - low
        excess[v] += low
        excess[u] -= low
    for v, e in enumerate(excess):
        if e > 0:
            capacity[source][v] = e
        elif e < 0:
            capacity[v][sink] = -e
    return max_flow(capacity, source, sink) == sum(e for e in excess if e > 0)


def pinned(table: Table, published: PublishedTable) -> list[Entry]:
    """Hidden entries that only one value fits."""
    return [
        entry
        for entry, true, shown in entries(table, published)
        if shown is None
        and not any(consistent(table, published, entry, v) for v in (true - 1, true + 1) if v >= 1)
    ]


def brute_force_pinned(table: Table, published: PublishedTable) -> list[Entry]:
    """The same question by enumeration, for tiny tables: checks the max-flow attacker above."""
    hidden = [(i, j) for i, row in enumerate(published.cells) for j, n in enumerate(row) if n is None]
    top = max(max(row) for row in table.counts) + 1  # a cycle of +-1 steps stays within this bound
    seen: dict[Entry, set[int]] = {}
    for values in itertools.product(range(1, top + 1), repeat=len(hidden)):
        counts = [list(row) for row in table.counts]
        for (i, j), v in zip(hidden, values, strict=True):
            counts[i][j] = v
        candidate = Table(rows=table.rows, columns=table.columns, counts=tuple(map(tuple, counts)))
        fits = all(shown is None or shown == value for _, value, shown in entries(candidate, published))
        if fits:
            for (entry, _, shown), (_, value, _) in zip(
                entries(table, published), entries(candidate, published), strict=True
            ):
                if shown is None:
                    seen.setdefault(entry, set()).add(value)
    return [entry for entry, values in seen.items() if len(values) == 1]


# --- strategies ------------------------------------------------------------------------------------

counts = st.one_of(st.integers(0, 4), st.integers(0, 30))  # many small counts: suppression's hard case


@st.composite
def tables(draw: st.DrawFn, max_side: int = 6, count: st.SearchStrategy[int] = counts) -> Table:
    m, n = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    rows = draw(st.lists(st.lists(count, min_size=n, max_size=n), min_size=m, max_size=m))
    return Table(
        rows=tuple(f"r{i}" for i in range(m)),
        columns=tuple(f"c{j}" for j in range(n)),
        counts=tuple(map(tuple, rows)),
    )


# --- properties ------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(table=tables(), k=st.integers(2, 10))
def test_no_small_count_is_published_and_no_hidden_one_can_be_worked_out(table: Table, k: int) -> None:
    published = suppress(table, k)
    shown = [value for _, _, value in entries(table, published) if value is not None]
    assert not [n for n in shown if 0 < n < k]
    assert pinned(table, published) == []


@settings(deadline=None, max_examples=200)
@given(table=tables(), k=st.integers(2, 10))
def test_published_numbers_are_the_true_ones(table: Table, k: int) -> None:
    published = suppress(table, k)
    for _, true, shown in entries(table, published):
        assert shown in (None, true)
    # Zeros reveal nobody and are always published.
    assert all(shown == 0 for _, true, shown in entries(table, published) if true == 0)


@settings(deadline=None, max_examples=100)
@given(data=st.data(), k=st.integers(2, 10))
def test_a_table_with_no_small_counts_is_published_whole(data: st.DataObject, k: int) -> None:
    table = data.draw(tables(count=st.one_of(st.just(0), st.integers(k, 40))))
    published = suppress(table, k)
    assert published.suppressed == 0
    assert published.cells == table.counts
    assert (published.row_totals, published.column_totals) == (table.row_totals, table.column_totals)
    assert published.total == table.total


@settings(deadline=None, max_examples=60)
@given(table=tables(max_side=2, count=st.integers(0, 6)), k=st.integers(2, 5))
def test_the_attacker_agrees_with_brute_force(table: Table, k: int) -> None:
    # Publish carelessly (primary suppression only), so that there is something to find.
    careless = PublishedTable(
        rows=table.rows,
        columns=table.columns,
        cells=tuple(tuple(None if 0 < n < k else n for n in row) for row in table.counts),
        row_totals=table.row_totals,
        column_totals=table.column_totals,
        total=table.total,
        min_cell=k,
    )
    assert sorted(pinned(table, careless)) == sorted(brute_force_pinned(table, careless))
    published = suppress(table, k)
    assert brute_force_pinned(table, published) == []


@settings(deadline=None, max_examples=50)
@given(table=tables(), k=st.integers(2, 10))
def test_deterministic(table: Table, k: int) -> None:
    assert suppress(table, k) == suppress(table, k)


# --- examples --------------------------------------------------------------------------------------


def grid(*rows: tuple[int, ...]) -> Table:
    return Table(
        rows=tuple(f"r{i}" for i in range(len(rows))),
        columns=tuple(f"c{j}" for j in range(len(rows[0]))),
        counts=rows,
    )


def test_primary_and_complements_form_a_rectangle() -> None:
    published = suppress(grid((1, 20, 30), (12, 15, 2), (40, 50, 60)), 5)
    assert published.cells == ((None, 20, None), (None, 15, None), (40, 50, 60))
    assert published.row_totals == (51, 29, 150)
    assert published.column_totals == (53, 85, 92)
    assert published.total == 230


def test_one_way_table_hides_a_second_category_and_the_duplicate_column_totals() -> None:
    published = suppress(Table.one_way(("yes", "no", "unsure"), (3, 40, 50)), 5)
    assert published.cells == ((None, None, 50),)
    assert published.column_totals == (None, None, 50)
    assert (published.row_totals, published.total) == ((93,), 93)


def test_two_ones_with_their_total_are_hidden_together() -> None:
    # Published 2 = a + b with a, b >= 1 would give a = b = 1 away: the total goes too.
    published = suppress(Table.one_way(("yes", "no", "unsure"), (1, 1, 0)), 5)
    assert published.cells == ((None, None, 0),)
    assert published.total is None


def test_a_small_total_is_hidden_like_any_small_count() -> None:
    published = suppress(grid((2, 2), (30, 40)), 5)
    assert published.row_totals[0] is None
    assert not pinned(grid((2, 2), (30, 40)), published)


def test_a_zero_is_never_a_complement() -> None:
    published = suppress(grid((3, 0, 40), (0, 0, 50)), 5)
    assert published.cells[0][1] == 0 and published.cells[1][0:2] == (0, 0)


def test_nothing_to_hide_when_k_is_one() -> None:
    table = grid((1, 2), (3, 0))
    assert suppress(table, 1).suppressed == 0


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_k_must_be_a_positive_integer(k: object) -> None:
    with pytest.raises(ValueError, match="minimum cell size"):
        suppress(grid((1,)), k)  # type: ignore[arg-type]
