"""Word counts of free-text answers: tokens, stop words, redaction markers, and the k-people threshold."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ureport.aggregates.words import LANGUAGES, WordCount, stop_words, tokens, top_words

LANGUAGE = {"amina": "sw", "brian": "en", "chantal": "fr", "dan": "en", "esther": "sw", "faith": None}


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("The ROADS are not safe at night", "en", {"roads", "safe", "night"}),
        ("Barabara si salama usiku na mchana", "sw", {"barabara", "salama", "usiku", "mchana"}),
        ("L'école n'est pas sûre", "fr", {"école", "sûre"}),
        ("call me on [phone] or [email]", "en", {"call"}),
        ("my phone was stolen", "en", {"phone", "stolen"}),
        ("born 2008, class 4b, age 17", "en", {"born", "class", "age"}),
        ("ＳＡＦＥ safe Safe", "en", {"safe"}),  # full-width letters fold to the same word
        ("Straße STRASSE", "en", {"strasse"}),
        ("I don't feel safe", "en", {"feel", "safe"}),
        ("", "en", set()),
        ("na the et", None, set()),  # unknown language: every shipped list applies
    ],
)
def test_tokens(text: str, language: str | None, expected: set[str]) -> None:
    assert tokens(text, language) == expected


def test_words_count_people_not_repetitions() -> None:
    answers = [("brian", "Police police police!"), ("dan", "the police"), ("amina", "polisi")]
    assert top_words(answers, language_of=LANGUAGE.get, k=2) == (WordCount("police", 2),)


def test_only_words_used_by_at_least_k_people_are_published() -> None:
    answers = [
        ("amina", "Usalama barabarani ni muhimu"),
        ("esther", "usalama wa wasichana"),
        ("brian", "Safety on roads; lighting"),
        ("dan", "more lighting on the roads"),
        ("chantal", "La sécurité et l'éclairage"),
        ("faith", "lighting"),
    ]
    result = top_words(answers, language_of=LANGUAGE.get, k=2)
    assert result == (WordCount("lighting", 3), WordCount("roads", 2), WordCount("usalama", 2))
    assert top_words(answers, language_of=LANGUAGE.get, k=3) == (WordCount("lighting", 3),)
    assert top_words(answers, language_of=LANGUAGE.get, k=2, limit=1) == (WordCount("lighting", 3),)


def test_a_person_with_several_answers_counts_once() -> None:
    answers = [("brian", "lighting"), ("brian", "lighting please"), ("dan", "please")]
    assert top_words(answers, language_of=LANGUAGE.get, k=2) == (WordCount("please", 2),)


@pytest.mark.parametrize("k", [0, -1, 1.0])
def test_k_must_be_a_positive_integer(k: object) -> None:
    with pytest.raises(ValueError, match="minimum number of people"):
        top_words([], language_of=LANGUAGE.get, k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_stop_word_lists_are_short_folded_and_unique(language: str) -> None:
    text = resources.files("ureport.aggregates").joinpath("stopwords", f"{language}.txt").read_text("utf-8")
    words = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert 90 <= len(words) <= 200
    assert len(set(words)) == len(words)
    assert all(word == word.strip().casefold() for word in words)
    assert stop_words(language) == frozenset(words)


people = st.sampled_from(sorted(LANGUAGE))
texts = st.text(st.characters(codec="utf-8"), max_size=40)


@given(st.lists(st.tuples(people, texts), max_size=30), st.integers(1, 4), st.integers(0, 40))
def test_every_published_word_has_k_people_behind_it(
    answers: list[tuple[str, str]], k: int, limit: int
) -> None:
    result = top_words(answers, language_of=LANGUAGE.get, k=k, limit=limit)
    assert len(result) <= limit
    for count in result:
        who = {person for person, text in answers if count.word in tokens(text, LANGUAGE[person])}
        assert count.people == len(who) >= k
    assert [(-c.people, c.word) for c in result] == sorted((-c.people, c.word) for c in result)
