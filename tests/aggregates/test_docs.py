"""docs/aggregates.md keeps up with the code: dimensions, default age bands, the JSON keys, the mark."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ureport.aggregates import DEFAULT_AGE_BANDS, SUPPRESSED_MARK, Table, dimensions, suppress

DOC = (Path(__file__).parents[2] / "docs" / "aggregates.md").read_text("utf-8")


@pytest.mark.parametrize("key", [d.key for d in dimensions.registry])
def test_every_built_in_dimension_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC


def test_default_age_bands_are_documented() -> None:
    assert DEFAULT_AGE_BANDS in DOC


def test_the_json_example_is_what_suppress_returns() -> None:
    example = json.loads(re.findall(r"```json\n(.*?)```", DOC, re.DOTALL)[0])
    table = Table(rows=("female", "male"), columns=("yes", "no", "unsure"), counts=((30, 2, 12), (0, 9, 25)))
    assert suppress(table, 5).to_json() == example
    for key in example:
        assert f"`{key}`" in DOC


def test_the_suppression_mark_is_documented() -> None:
    assert f"same mark, `{SUPPRESSED_MARK}`" in DOC
