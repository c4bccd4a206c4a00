"""Tables: validation, totals, percentages from published numbers only, and the JSON shape."""

from __future__ import annotations

import json

import pytest

from ureport.aggregates import PercentOf, PublishedTable, Table, suppress

SEX_BY_ANSWER = Table(rows=("female", "male"), columns=("yes", "no"), counts=((30, 10), (0, 25)))


def test_totals() -> None:
    assert SEX_BY_ANSWER.row_totals == (40, 25)
    assert SEX_BY_ANSWER.column_totals == (30, 35)
    assert SEX_BY_ANSWER.total == 65


def test_one_way() -> None:
    table = Table.one_way(("yes", "no"), [3, 4])
    assert (table.rows, table.counts, table.total) == (("all",), ((3, 4),), 7)


def test_an_empty_table_has_zero_totals() -> None:
    table = Table(rows=(), columns=("yes",), counts=())
    assert (table.column_totals, table.total) == ((0,), 0)


@pytest.mark.parametrize(
    ("rows", "columns", "counts", "message"),
    [
        (("a",), ("x",), ((1,), (2,)), "1 row labels for 2 rows"),
        (("a",), ("x", "y"), ((1,),), "row 'a' has 1 counts for 2 columns"),
        (("a",), ("x",), ((-1,),), "non-negative integers, not -1"),
        (("a",), ("x",), ((True,),), "non-negative integers, not True"),
        (("a",), ("x",), ((1.0,),), "non-negative integers, not 1.0"),
        (("a", "a"), ("x",), ((1,), (2,)), "row labels repeat"),
    ],
)
def test_malformed_tables(
    rows: tuple[str, ...], columns: tuple[str, ...], counts: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Table(rows=rows, columns=columns, counts=counts)  # type: ignore[arg-type]


def hidden_corner() -> PublishedTable:
    return PublishedTable(
        rows=("female", "male"),
        columns=("yes", "no"),
        cells=((None, 10), (None, 25)),
        row_totals=(None, 40),
        column_totals=(30, 35),
        total=None,
        min_cell=5,
    )


def test_percentages_only_from_published_numbers() -> None:
    published = hidden_corner()
    assert published.percentages() == ((None, None), (None, 62.5))
    assert published.percentages(PercentOf.COLUMN) == ((None, 28.6), (None, 71.4))
    assert published.percent(1, 1, PercentOf.TOTAL) is None


def test_a_zero_total_gives_no_percentage() -> None:
    published = suppress(Table.one_way(("yes", "no"), (0, 0)), 5)
    assert published.percentages() == ((None, None),)


def test_display_uses_one_mark_for_every_hidden_number() -> None:
    published = hidden_corner()
    assert [published.display(n) for n in published.cells[1]] == ["x", "25"]
    assert published.display(0) == "0"
    assert published.suppressed == 4


def test_json_shape() -> None:
    document = suppress(SEX_BY_ANSWER, 5).to_json()
    assert document == {
        "min_cell": 5,
        "rows": ["female", "male"],
        "columns": ["yes", "no"],
        "cells": [[30, 10], [0, 25]],
        "row_totals": [40, 25],
        "column_totals": [30, 35],
        "total": 65,
        "row_percentages": [[75.0, 25.0], [0.0, 100.0]],
    }
    hidden = hidden_corner().to_json()
    assert json.loads(json.dumps(hidden))["cells"] == [[None, 10], [None, 25]]
    assert hidden["total"] is None
