"""Answer matching: tokenising replies and turning a reply into the answer a question accepts."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from ureport.flows.model import ANSWERED, FieldValue, Question, QuestionType

# A reply may pick a choice by its position: "1", "1.", "1)" or a letter "a", "B)", "c.".
_POSITION = re.compile(r"(\d{1,3})\s*[.)]?", re.ASCII)
_LETTER = re.compile(r"([a-zA-Z])\s*[.)]?", re.ASCII)
# "2,008" is not 2008 and not 2 either: a digit group touching a comma or a decimal point is refused.
_NUMBER = re.compile(r"(?<![\d,.])\d+(?:\.\d+)?(?![\d,]|\.\d)", re.ASCII)
_MAX_LETTERS = 26


def tokenize(text: str) -> list[str]:
    """Words (runs of letters, marks, digits, `_` and `'`) and single symbols, as goflow splits them."""
    tokens: list[str] = []
    word: list[str] = []
    for char in text:
        kind = unicodedata.category(char)[0]
        if kind in "LMN" or char in "_'":
            word.append(char)
            continue
        if word:
            tokens.append("".join(word))
            word = []
        if kind == "S":
            tokens.append(char)
    if word:
        tokens.append("".join(word))
    return tokens


def ascii_digits(text: str) -> str:
    """Any decimal digit (Arabic-Indic, Devanagari, full-width...) as its ASCII digit."""
    return "".join(_ascii_digit(char) for char in text)


def _ascii_digit(char: str) -> str:
    digit = unicodedata.decimal(char, None) if not char.isascii() else None
    return char if digit is None else str(digit)


def match_choice(text: str, options: Sequence[Sequence[str]]) -> int | None:
    """The index of the option a reply picks, or None.

    `options[i]` holds the phrases (labels and synonyms, any language) of choice i. A reply picks by
    number, then by letter (26 choices at most), then by containing one of the phrases as consecutive
    words; the earliest-listed choice wins when several phrases occur.
    """
    reply = ascii_digits(text).strip()
    count = len(options)
    if position := _POSITION.fullmatch(reply):
        index = int(position[1]) - 1
        if 0 <= index < count:
            return index
    if (letter := _LETTER.fullmatch(reply)) and count <= _MAX_LETTERS:
        index = ord(letter[1].lower()) - ord("a")
        if index < count:
            return index
    words = tuple(token.lower() for token in tokenize(reply))
    for index, phrases in enumerate(options):
        if any(_contains(words, _phrase_words(phrase)) for phrase in phrases):
            return index
    return None


@lru_cache(maxsize=8192)
def _phrase_words(phrase: str) -> tuple[str, ...]:
    """A label's or synonym's words, lowercased. Phrases are the polls' own texts, a few hundred, and
    every reply to a choice question is checked against all of its phrases: tokenising them again for
    each reply was most of matching one."""
    return tuple(token.lower() for token in tokenize(phrase))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    if size <= 1:  # a phrase of only punctuation (no words) must not match every reply
        return size == 1 and phrase[0] in words
    return any(words[start : start + size] == phrase for start in range(len(words) - size + 1))


def numbers(text: str) -> Iterator[float]:
    """Every finite number in a reply, in order."""
    for found in _NUMBER.finditer(ascii_digits(text)):
        value = float(found.group())
        if math.isfinite(value):
            yield value


def match_number(text: str, *, minimum: float | None = None, maximum: float | None = None) -> float | None:
    """The first number in the reply within [minimum, maximum], or None."""
    for value in numbers(text):
        if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
            return value
    return None


def match_birth_year(text: str, *, this_year: int, min_age: int, max_age: int) -> int | None:
    """A birth year from a reply holding a four-digit year or an age, or None outside the ages."""
    for value in numbers(text):
        if not value.is_integer():
            continue
        number = int(value)
        year = number if 1000 <= number <= 9999 else this_year - number
        if min_age <= this_year - year <= max_age:
            return year
    return None


def match_text(text: str) -> str | None:
    """Any reply with something in it, stripped."""
    stripped = text.strip()
    return stripped or None


def format_number(value: float) -> str:
    """A number as a person would write it: 17, not 17.0."""
    return str(int(value)) if value.is_integer() else repr(value)


class LocationHit(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...


class LocationLookup(Protocol):
    """The host's location index (districts, counties): a reply -> the place it names, if any."""

    def match(self, text: str) -> LocationHit | None: ...


@dataclass(frozen=True, kw_only=True)
class Answer:
    category: str
    value: str
    kept: str  # what the session keeps for branches; free text stays out of it
    exit: str = ANSWERED
    number: float | None = None
    field_value: FieldValue = None


@dataclass(frozen=True, kw_only=True)
class _Context:
    languages: Collection[str]
    this_year: int
    locations: LocationLookup | None


def match_answer(
    question: Question,
    text: str,
    *,
    languages: Collection[str],
    this_year: int,
    locations: LocationLookup | None = None,
) -> Answer | None:
    """The answer a reply gives to a question, or None when it is not understood."""
    context = _Context(languages=languages, this_year=this_year, locations=locations)
    return _MATCHERS[question.type](question, text, context)


def _choice(question: Question, text: str, context: _Context) -> Answer | None:
    index = match_choice(text, _options(question, context.languages))
    if index is None:
        return None
    chosen = question.categories[index].id
    return Answer(category=chosen, value=chosen, kept=chosen, exit=chosen, field_value=chosen)


# Each choice question's phrases by language set, kept with the question itself: an entry whose question
# is not the one asked about (a reloaded catalog, an id reused) is worked out again.
_OPTIONS: dict[tuple[int, Collection[str]], tuple[Question, list[tuple[str, ...]]]] = {}
_OPTIONS_KEPT = 4096


def _options(question: Question, languages: Collection[str]) -> list[tuple[str, ...]]:
    """Every category's phrases in `languages`: the same for every reply to a question in a poll."""
    try:
        key = (id(question), languages)
        kept = _OPTIONS.get(key)
    except TypeError:  # a language set that cannot be a key (a list): work them out
        return [category.phrases(languages) for category in question.categories]
    if kept is not None and kept[0] is question:
        return kept[1]
    if len(_OPTIONS) >= _OPTIONS_KEPT:
        _OPTIONS.clear()
    options = [category.phrases(languages) for category in question.categories]
    _OPTIONS[key] = (question, options)
    return options


def _number(question: Question, text: str, context: _Context) -> Answer | None:
    value = match_number(text, minimum=question.minimum, maximum=question.maximum)
    if value is None:
        return None
    shown = format_number(value)
    field_value = int(value) if value.is_integer() else shown
    return Answer(category=ANSWERED, value=shown, kept=shown, number=value, field_value=field_value)


def _birth_year(question: Question, text: str, context: _Context) -> Answer | None:
    year = match_birth_year(
        text, this_year=context.this_year, min_age=question.min_age, max_age=question.max_age
    )
    if year is None:
        return None
    return Answer(category=ANSWERED, value=str(year), kept=str(year), number=float(year), field_value=year)


def _text(question: Question, text: str, context: _Context) -> Answer | None:
    value = match_text(text)
    return None if value is None else Answer(category=ANSWERED, value=value, kept=ANSWERED, field_value=value)


def _location(question: Question, text: str, context: _Context) -> Answer | None:
    hit = context.locations.match(text) if context.locations is not None else None
    if hit is None:
        return None
    return Answer(category=hit.code, value=hit.code, kept=hit.code, field_value=hit.code)


_MATCHERS: dict[QuestionType, Callable[[Question, str, _Context], Answer | None]] = {
    QuestionType.CHOICE: _choice,
    QuestionType.YES_NO: _choice,
    QuestionType.NUMBER: _number,
    QuestionType.BIRTH_YEAR: _birth_year,
    QuestionType.TEXT: _text,
    QuestionType.LOCATION: _location,
}
