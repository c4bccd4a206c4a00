"""Tests for ureport.locations: Kenyan counties, locations files and free-text matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ureport.locations import LocationIndex, LocationsFileError, Place, country_districts, read_locations_file

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def kenya() -> LocationIndex:
    return LocationIndex(country_districts("KE"))


def test_kenya_has_47_counties_with_unique_numbers_and_codes() -> None:
    counties = country_districts("KE")
    assert len(counties) == 47
    assert sorted(c.number for c in counties if c.number is not None) == list(range(1, 48))
    assert len({c.code for c in counties}) == 47
    assert all(c.level == 2 and c.parent_code is None for c in counties)


@pytest.mark.parametrize(
    ("code", "name", "number"),
    [
        # Constitutional numbering, which differs from the alphabetical ISO codes.
        ("KE-28", "Mombasa", 1),
        ("KE-30", "Nairobi", 47),
        ("KE-17", "Kisumu", 42),
        ("KE-01", "Baringo", 30),
        ("KE-47", "West Pokot", 24),
        ("KE-05", "Elgeyo-Marakwet", 28),
    ],
)
def test_kenya_official_county_numbers(kenya: LocationIndex, code: str, name: str, number: int) -> None:
    place = kenya.by_code(code)
    assert place is not None
    assert (place.name, place.number) == (name, number)


def test_kenya_aliases_are_derived_spelling_variants(kenya: LocationIndex) -> None:
    def aliases(code: str) -> tuple[str, ...]:
        place = kenya.by_code(code)
        assert place is not None
        return place.aliases

    assert "Nairobi City" in aliases("KE-30")
    assert "Muranga" in aliases("KE-29")
    assert "Tharaka Nithi" in aliases("KE-41")
    assert {"Elgeyo/Marakwet", "Elgeyo Marakwet"} <= set(aliases("KE-05"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("47", "KE-30"),
        ("047", "KE-30"),
        ("47.", "KE-30"),
        ("no 47", "KE-30"),
        ("No. 1", "KE-28"),
        ("Nairobi", "KE-30"),
        ("nairobi city", "KE-30"),
        ("NAIROBI", "KE-30"),
        ("Nairobbi", "KE-30"),
        ("kisumo", "KE-17"),
        ("I stay in Kisumu", "KE-17"),
        ("Naishi Kisumu", "KE-17"),
        ("muranga", "KE-29"),
        ("Murang’a", "KE-29"),
        ("Tharaka Nithi", "KE-41"),
        ("tharaka-nithi", "KE-41"),
        ("mombasa town", "KE-28"),
        ("homabay", "KE-08"),
        ("Elgeyo Marakwet", "KE-05"),
        ("west pokott", "KE-47"),
        ("Nakru", "KE-31"),
        ("  Kákamega!! ", "KE-11"),
    ],
)
def test_match_finds_county(kenya: LocationIndex, text: str, code: str) -> None:
    place = kenya.match(text)
    assert place is not None
    assert place.code == code


@pytest.mark.parametrize(
    "text",
    [
        "xyz",
        "",
        "   ",
        "999",
        "0",
        "hello world",
        "eldoret",
        "yes",
        "STOP",
        "city",
        "river",
        "Nairobi na Kisumu",
    ],
)
def test_match_returns_none(kenya: LocationIndex, text: str) -> None:
    assert kenya.match(text) is None


def test_match_refuses_ambiguous_names() -> None:
    places = [
        Place(code="A", name="Central", level=2, parent_code=None, number=None),
        Place(code="B", name="Central", level=2, parent_code=None, number=None),
        Place(code="C", name="Eastern", level=2, parent_code=None, number=None),
    ]
    index = LocationIndex(places)
    assert index.match("central") is None
    assert index.match("Eastern") is places[2]


@pytest.mark.parametrize("name", ["zembla_districts.csv", "zembla_districts.geojson"])
def test_fixture_files_load_with_hierarchy(name: str) -> None:
    places = read_locations_file(DATA / name)
    by_code = {p.code: p for p in places}
    assert len(places) == 7
    assert [p.level for p in places] == [1, 1, 2, 2, 2, 2, 2]
    assert by_code["ZZ-S3"].parent_code == "ZZ-S"
    assert by_code["ZZ-N1"].aliases == ("Onhava Town", "Onhawa")
    assert by_code["ZZ-S1"].aliases[0] == "Blenda"
    index = LocationIndex(places)
    assert len(index) == 5
    assert index.by_code("ZZ-N") is None  # regions are not answers
    assert index.match("3") is by_code["ZZ-S1"]
    assert index.match("I live in Gradus") is by_code["ZZ-S3"]
    assert index.match("kinbotte") is by_code["ZZ-N2"]


def test_geojson_keeps_geometry() -> None:
    places = {p.code: p for p in read_locations_file(DATA / "zembla_districts.geojson")}
    assert places["ZZ-N"].geometry is None
    polygon = places["ZZ-N1"].geometry
    assert polygon is not None and polygon["type"] == "Polygon"
    assert polygon["coordinates"][0][0] == [0, 0]
    multi = places["ZZ-S3"].geometry
    assert multi is not None and multi["type"] == "MultiPolygon"
    assert hash(places["ZZ-N1"])  # geometry is excluded from the hash


def test_csv_without_hierarchy_is_a_list_of_districts(tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text("\ufeffcode,name\nX1,Alpha\nX2,Beta\n", encoding="utf-8")
    places = read_locations_file(path)
    assert [(p.code, p.level, p.number) for p in places] == [("X1", 2, None), ("X2", 2, None)]


@pytest.mark.parametrize(
    ("content", "where", "field"),
    [
        ("code,name,colour\nX1,Alpha,red\n", "line 1", "colour"),
        ("code,label\nX1,Alpha\n", "line 1", "name"),
        ("code,name\nX1,Alpha\nX2,\n", "line 3", "name"),
        ("code,name\nX1,Alpha\n,Beta\n", "line 3", "code"),
        ("code,name,number\nX1,Alpha,one\n", "line 2", "number"),
        ("code,name,number\nX1,Alpha,1\nX2,Beta,1\n", "line 3", "number"),
        ("code,name\nX1,Alpha\nX1,Beta\n", "line 3", "code"),
        ("code,name,parent\nX1,Alpha,\nX2,Beta,NOPE\n", "line 3", "parent"),
        ("code,name,parent\nX1,Alpha,X2\nX2,Beta,X1\n", "line 2", "parent"),
        ("code,name,level\nX1,Alpha,-1\n", "line 2", "level"),
    ],
)
def test_bad_csv_names_file_line_and_field(tmp_path: Path, content: str, where: str, field: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LocationsFileError) as caught:
        read_locations_file(path)
    assert (caught.value.where, caught.value.field) == (where, field)
    assert str(path) in str(caught.value) and where in str(caught.value)


@pytest.mark.parametrize(
    ("features", "where", "field"),
    [
        ('[{"type": "Feature", "properties": {"name": "A"}, "geometry": null}]', "feature 0", "code"),
        (
            '[{"type": "Feature", "properties": {"code": "A", "name": "A"}, "geometry": null}, 3]',
            "feature 1",
            "properties",
        ),
        (
            '[{"type": "Feature", "properties": {"code": "A", "name": "A"}, "geometry": [1]}]',
            "feature 0",
            "geometry",
        ),
        (
            '[{"type": "Feature", "properties": {"code": "A", "name": "A", "number": 1.5}}]',
            "feature 0",
            "number",
        ),
        (
            '[{"type": "Feature", "properties": {"code": "A", "name": "A", "aliases": [1]}}]',
            "feature 0",
            "aliases",
        ),
    ],
)
def test_bad_geojson_names_file_feature_and_field(
    tmp_path: Path, features: str, where: str, field: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text('{"type": "FeatureCollection", "features": ' + features + "}", encoding="utf-8")
    with pytest.raises(LocationsFileError) as caught:
        read_locations_file(path)
    assert (caught.value.where, caught.value.field) == (where, field)
    assert str(path) in str(caught.value)


def test_not_a_feature_collection(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(LocationsFileError, match="FeatureCollection"):
        read_locations_file(path)


def test_unknown_country() -> None:
    with pytest.raises(LookupError):
        country_districts("XX")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_match_never_raises(text: str) -> None:
    index = LocationIndex(country_districts("KE"))
    result = index.match(text)
    assert result is None or isinstance(result, Place)
