"""Dimensions: the age-band table and its errors, the registry, and the built-in dimensions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ureport.aggregates import dimensions
from ureport.aggregates.dimensions import (
    DEFAULT_AGE_BANDS,
    AgeBandError,
    AgeBands,
    Dimension,
    Registry,
    UnknownDimension,
    age_band,
)

DEFAULT = AgeBands.parse(DEFAULT_AGE_BANDS)


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "0-14"), (14, "0-14"), (15, "15-19"), (24, "20-24"), (25, "25-30"), (30, "25-30"), (31, "31-34")]
    + [(35, "35+"), (99, "35+")],
)
def test_default_bands_are_u_reports(age: int, band: str) -> None:
    assert DEFAULT.band_of(age) == band


def test_bands_round_trip_and_tolerate_spaces() -> None:
    assert str(DEFAULT) == DEFAULT_AGE_BANDS
    assert AgeBands.parse(" 10-17 , 18-24,25+ ").keys == ("10-17", "18-24", "25+")


def test_a_closed_last_band_leaves_older_ages_unknown() -> None:
    bands = AgeBands.parse("10-17,18-24")
    assert (bands.band_of(9), bands.band_of(24), bands.band_of(25)) == (None, "18-24", None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no age bands"),
        ("0-14,,20+", 'age band 2 "": write it as'),
        ("0-14,15-nineteen", 'age band 2 "15-nineteen": write it as'),
        ("0-14,19-15,20+", 'age band 2 "19-15": it starts after it ends'),
        ("0-14,14-19", 'age band 2 "14-19" overlaps "0-14": it should start at 15'),
        ("0-14,16-19", 'age band 2 "16-19" leaves a gap after "0-14": it should start at 15'),
        ("15-19,0-14", 'age band 2 "0-14" overlaps "15-19": it should start at 20'),
        ("0-14,15+,20-24", 'age band 2 "15+": only the last band can be open-ended'),
        ("-3-14", 'age band 1 "-3-14": write it as'),
    ],
)
def test_malformed_bands_say_which_band_and_why(spec: str, message: str) -> None:
    with pytest.raises(AgeBandError, match="^" + message.replace("+", r"\+")):
        AgeBands.parse(spec)


@given(st.lists(st.integers(1, 12), min_size=1, max_size=8), st.booleans(), st.integers(0, 150))
def test_every_age_from_the_first_start_falls_in_exactly_one_band(
    widths: list[int], open_end: bool, age: int
) -> None:
    starts = [sum(widths[:i]) for i in range(len(widths))]
    items = [f"{s}-{s + w - 1}" for s, w in zip(starts, widths, strict=True)]
    if open_end:
        items[-1] = f"{starts[-1]}+"
    bands = AgeBands.parse(",".join(items))
    hits = [band.key for band in bands.bands if age in band]
    assert len(hits) == (1 if open_end or age < sum(widths) else 0)
    assert bands.band_of(age) == (hits[0] if hits else None)


SNAPSHOT = {
    "age": 17,
    "sex": "female",
    "district_id": 47,
    "region_id": 3,
    "channel": "ussd",
    "language": "sw",
}


@pytest.mark.parametrize(
    ("key", "category"),
    [
        ("age_band", "15-19"),
        ("sex", "female"),
        ("district", "47"),
        ("region", "3"),
        ("channel", "ussd"),
        ("language", "sw"),
    ],
)
def test_built_in_dimensions(key: str, category: str) -> None:
    assert dimensions.get(key).category_of(SNAPSHOT) == category


@pytest.mark.parametrize("key", ["age_band", "sex", "district", "region", "channel", "language"])
@pytest.mark.parametrize("value", [None, "", True, -1, 1.5, [1]])
def test_missing_or_odd_values_are_unknown_not_errors(key: str, value: object) -> None:
    field = {"age_band": "age", "district": "district_id", "region": "region_id"}.get(key, key)
    assert dimensions.get(key).category_of({**SNAPSHOT, field: value}) is None
    assert dimensions.get(key).category_of({}) is None


def test_unknown_dimension_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDimension, match="no dimension 'school'; known: age_band, sex, region"):
        dimensions.get("school")


@pytest.fixture
def restore_registry() -> Iterator[None]:
    saved = list(dimensions.registry)
    yield
    dimensions.registry = Registry()
    for dim in saved:
        dimensions.registry.register(dim)


@pytest.mark.usefixtures("restore_registry")
def test_an_extension_registers_like_a_built_in() -> None:
    @dimensions.dimension("school_type", "School type", categories=("day", "boarding"))
    def school_type(snapshot: dimensions.Snapshot) -> str | None:
        value = snapshot.get("school_type")
        return value if isinstance(value, str) else None

    assert isinstance(school_type, Dimension)
    assert dimensions.get("school_type").category_of({"school_type": "day"}) == "day"
    assert "school_type" in dimensions.registry
    with pytest.raises(ValueError, match="'school_type' is already registered"):
        dimensions.register(school_type)


@pytest.mark.usefixtures("restore_registry")
def test_configured_age_bands_replace_the_default() -> None:
    dimensions.use_age_bands(AgeBands.parse("10-17,18-24,25+"))
    band = dimensions.get("age_band")
    assert band.categories == ("10-17", "18-24", "25+")
    assert band.category_of({"age": 17}) == "10-17"


def test_a_private_registry_is_independent() -> None:
    mine = Registry()
    mine.register(age_band(AgeBands.parse("0-17,18+")))
    assert [d.key for d in mine] == ["age_band"]
    assert dimensions.get("age_band").categories == DEFAULT.keys
