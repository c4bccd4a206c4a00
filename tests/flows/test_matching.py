"""Answer matching: table-driven cases and Hypothesis properties (matching never raises)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ureport.flows.matching import (
    match_birth_year,
    match_choice,
    match_number,
    match_text,
    numbers,
    tokenize,
)
from ureport.flows.model import YES_NO_CATEGORIES

EN_SW_FR = ("en", "sw", "fr")
YES_NO = [category.phrases(EN_SW_FR) for category in YES_NO_CATEGORIES]
SAFE = [["Always", "Kila mara", "daima"], ["Sometimes", "Wakati mwingine"], ["Never", "Kamwe"]]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Yes please!", ["Yes", "please"]),
        ("  i'm  17 ", ["i'm", "17"]),
        ("1) kila_mara", ["1", "kila_mara"]),
        ("€5+2", ["€", "5", "+", "2"]),
        ("née, l'école", ["née", "l'école"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0),
        ("2", 1),
        (" 1 ", 0),
        ("1.", 0),
        ("2)", 1),
        ("١", 0),  # Arabic-Indic one
        ("a", 0),
        ("A)", 0),
        ("b.", 1),
        ("yes", 0),
        (" YES ", 0),
        ("Yes please", 0),
        ("y", 0),
        ("ok", 0),
        ("ndiyo", 0),
        ("Ndio!", 0),
        ("oui", 0),
        ("no", 1),
        ("N", 1),
        ("hapana", 1),
        ("non merci", 1),
        ("3", None),
        ("c", None),
        ("maybe", None),
        ("yesterday", None),  # whole words only
        ("", None),
        ("!!!", None),
    ],
)
def test_yes_no(text: str, expected: int | None) -> None:
    assert match_choice(text, YES_NO) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("نعم", 0), ("ايوه", 0), ("لا شكرا", 1), ("1", 0), ("ربما", None)]
)
def test_yes_no_in_an_arabic_poll(text: str, expected: int | None) -> None:
    assert match_choice(text, [category.phrases(("ar",)) for category in YES_NO_CATEGORIES]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kila mara", 0),
        ("Mimi: KILA MARA.", 0),
        ("kila", None),  # a phrase needs all its words, in order
        ("mara kila", None),
        ("wakati mwingine", 1),
        ("never", 2),
        ("never, not always", 0),  # the earliest-listed choice wins
        ("3)", 2),
        ("C", 2),
        ("d", None),
    ],
)
def test_choice_phrases(text: str, expected: int | None) -> None:
    assert match_choice(text, SAFE) == expected


def test_letters_only_when_at_most_26_choices() -> None:
    many = [[f"option {i}"] for i in range(27)]
    assert match_choice("a", many) is None
    assert match_choice("27", many) == 26


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ("17", 0, 100, 17.0),
        ("17 years", 0, 100, 17.0),
        ("I am 17", 0, 100, 17.0),
        ("2008.", 0, 3000, 2008.0),
        ("2,008", 0, 3000, None),
        ("1.5 hours", 0, 10, 1.5),
        ("500 then 20", 0, 300, 20.0),  # the first number within range
        ("301", 0, 300, None),
        ("0", 0, 300, 0.0),
        ("forty", 0, 100, None),
        ("", 0, 100, None),
    ],
)
def test_numbers(text: str, low: float, high: float, expected: float | None) -> None:
    assert match_number(text, minimum=low, maximum=high) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2008", 2008),
        ("I was born in 2008", 2008),
        ("17", 2008),
        ("I am 17 years old", 2008),
        ("1925", 1925),
        ("1924", None),  # 101 years old
        ("2016", 2016),
        ("2017", None),  # 8 years old
        ("8", None),
        ("kumi na saba", None),
    ],
)
def test_birth_year(text: str, expected: int | None) -> None:
    assert match_birth_year(text, this_year=2025, min_age=9, max_age=100) == expected


def test_text() -> None:
    assert match_text("  more street lights ") == "more street lights"
    assert match_text(" \n ") is None


@given(st.text(), st.lists(st.lists(st.text(), max_size=4), max_size=30))
def test_choice_matching_is_total(text: str, options: list[list[str]]) -> None:
    index = match_choice(text, options)
    assert index is None or 0 <= index < len(options)


@given(st.text())
def test_yes_no_matching_never_raises(text: str) -> None:
    assert match_choice(text, YES_NO) in (None, 0, 1)


@given(st.text(), st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_number_matching_is_total(text: str, low: float, high: float) -> None:
    value = match_number(text, minimum=low, maximum=high)
    assert value is None or low <= value <= high
    assert all(number >= 0 for number in numbers(text))


@given(st.text(), st.integers(1900, 2100), st.integers(0, 50), st.integers(0, 120))
def test_birth_year_is_total_and_within_the_ages(text: str, year: int, min_age: int, max_age: int) -> None:
    born = match_birth_year(text, this_year=year, min_age=min_age, max_age=max_age)
    assert born is None or min_age <= year - born <= max_age


@given(st.integers(1, 40), st.data())
def test_a_position_always_picks_that_choice(count: int, data: st.DataObject) -> None:
    position = data.draw(st.integers(1, count))
    suffix = data.draw(st.sampled_from(["", ".", ")", " "]))
    options = [[f"label {i}"] for i in range(count)]
    assert match_choice(f" {position}{suffix}", options) == position - 1


@given(st.sampled_from([p for phrases in YES_NO for p in phrases]), st.text(alphabet=" .,!?", max_size=3))
def test_every_builtin_yes_no_word_matches_its_own_choice(word: str, around: str) -> None:
    expected = next(i for i, phrases in enumerate(YES_NO) if word in phrases)
    assert match_choice(f"{around}{word.upper()}{around}", YES_NO) == expected
