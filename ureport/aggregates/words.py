"""Free-text answers, published only as the words that at least k different people used."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["LANGUAGES", "WordCount", "stop_words", "tokens", "top_words"]

LANGUAGES = ("en", "fr", "sw")  # the shipped stop-word lists
# Markers privacy.redact() leaves in place of phone numbers and e-mail addresses: dropped whole, so that
# "phone" as a word someone wrote still counts.
_MARKER = re.compile(r"\[(?:phone|email)\]")
# Runs of Unicode letters and digits. Apostrophes and underscores split, which turns French elisions
# ("l'école") into a short fragment and the word.
_WORD = re.compile(r"[^\W_]+")
_MIN_LENGTH = 2  # single letters are elision fragments and initials, never a finding


@dataclass(frozen=True, slots=True)
class WordCount:
    word: str
    people: int  # distinct people who used the word, never how many times it was written


@cache
def stop_words(language: str | None) -> frozenset[str]:
    """A language's stop words; every shipped list together when the language is unknown or not shipped."""
    if language not in LANGUAGES:
        return frozenset().union(*(stop_words(code) for code in LANGUAGES))
    text = resources.files("ureport.aggregates").joinpath("stopwords", f"{language}.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(_fold(line) for line in lines if line and not line.startswith("#"))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str, language: str | None) -> set[str]:
    """The countable words of one answer: folded, without stop words, redaction markers or digits."""
    words = _WORD.findall(_fold(_MARKER.sub(" ", text)))
    stop = stop_words(language)
    # Any digit drops the token: a fragment of a number (a year of birth, a partial phone number) is
    # closer to an identifier than to an opinion.
    return {
        word
        for word in words
        if len(word) >= _MIN_LENGTH and not any(c.isdigit() for c in word) and word not in stop
    }


def top_words(
    texts_by_person: Iterable[tuple[str, str]],
    *,
    language_of: Callable[[str], str | None],
    k: int,
    limit: int = 30,
) -> tuple[WordCount, ...]:
    """The words used by at least k different people, most people first (ties alphabetical), at most
    `limit`. `texts_by_person` yields (person, text); `language_of(person)` picks the stop words."""
    if type(k) is not int or k < 1:
        raise ValueError(f"the minimum number of people k must be a positive integer, not {k!r}")
    people: dict[str, set[str]] = {}
    for person, text in texts_by_person:
        for word in tokens(text, language_of(person)):
            people.setdefault(word, set()).add(person)
    counts = [WordCount(word, len(who)) for word, who in people.items() if len(who) >= k]
    counts.sort(key=lambda count: (-count.people, count.word))
    return tuple(counts[: max(limit, 0)])
