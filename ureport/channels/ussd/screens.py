"""USSD screens: a deck (texts, a question, numbered options) laid out in pages within the screen budget."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ureport.channels.segments import is_gsm7, sms_segments
from ureport.channels.ussd.texts import text

MORE, BACK = "98", "0"
PREFIX = "CON "  # or "END ": the same length, and priced with the screen (in UCS-2 it takes more room)
# Telcos cannot be relied on to render anything but GSM-7 ("no special characters", AT's docs), so
# letters with accents lose them when that makes them GSM-7; what remains (Arabic script) stays and is
# counted as UCS-2.
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})


class Option(NamedTuple):
    """A tuple, not a dataclass: a district menu builds 47 of these from the session on every hop, and
    the layout cache hashes and compares them (in C for a tuple, in Python for a dataclass)."""

    number: int
    label: str
    value: str  # what choosing it means to the menu that offered it


@dataclass(frozen=True)
class Deck:
    """What one screen (or its pages) shows, and what an answer to it means (`mode`)."""

    mode: str
    screen_id: str  # for drop-off monitoring: the question's node id or the menu's name; never PII
    texts: tuple[str, ...] = ()
    question: str | None = None
    options: tuple[Option, ...] = ()
    free: bool = False  # typed input is accepted (a number, free text, or letters of a district)
    end: bool = False
    language: str | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Stored with the session on every hop. Written out by hand: dataclasses.asdict walked every
        option of a long menu (47 districts) recursively, a tenth of a hop's CPU; options are
        [number, label, value] triples (from_json reads those and the older dicts)."""
        return {
            "mode": self.mode,
            "screen_id": self.screen_id,
            "texts": list(self.texts),
            "question": self.question,
            "options": [list(option) for option in self.options],
            "free": self.free,
            "end": self.end,
            "language": self.language,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deck:
        items = data["options"]
        if all(type(item) is list for item in items):  # as to_json writes them
            options = tuple(map(Option._make, items))
        else:  # as older sessions stored them
            options = tuple(Option(int(i["number"]), str(i["label"]), str(i["value"])) for i in items)
        return cls(
            mode=str(data["mode"]),
            screen_id=str(data["screen_id"]),
            texts=tuple(str(t) for t in data["texts"]),
            question=data.get("question"),
            options=options,
            free=bool(data["free"]),
            end=bool(data["end"]),
            language=data.get("language"),
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
        )

    def option(self, number: int) -> Option | None:
        return next((o for o in self.options if o.number == number), None)


def for_screen(value: str) -> str:
    """The text as telcos can show it: typographic quotes made plain, accents dropped where that helps."""
    value = value.translate(_TYPOGRAPHY)
    if all(is_gsm7(c) for c in value):
        return value
    out = []
    for char in value:
        if not is_gsm7(char):
            bare = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            char = bare if bare and all(is_gsm7(c) for c in bare) else char
        out.append(char)
    return "".join(out)


def cost(value: str) -> float:
    """Screen characters `value` takes: GSM-7 septets, or UCS-2 units scaled (70 fit where 160 would)."""
    segments = sms_segments(value)
    return segments.units if segments.encoding == "GSM-7" else segments.units * 16 / 7


def _chunks(paragraph: str, fits: Callable[[list[str]], bool]) -> list[str]:
    """A paragraph cut at word boundaries into pieces that each fit a page on their own."""
    pieces: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if fits([candidate]):
            current = candidate
            continue
        if current:
            pieces.append(current)
        while not fits([word]):  # one word longer than a screen: cut it
            cut = len(word) - 1
            while cut > 1 and not fits([word[:cut]]):
                cut = cut * 3 // 4
            pieces.append(word[:cut])
            word = word[cut:]
        current = word
    return [*pieces, current] if current else pieces


def layout(deck: Deck, budget: int) -> tuple[str, ...]:
    """The deck's pages (bodies without prefix or navigation), each fitting with its navigation lines."""
    return _layout(deck, budget)[0]


def prompt_page(deck: Deck, budget: int) -> int:
    """The page where the question (or the first option) shows: answers count from there on."""
    return _layout(deck, budget)[1]


@functools.lru_cache(maxsize=2048)  # every respondent sees the same questions
def _layout(deck: Deck, budget: int) -> tuple[tuple[str, ...], int]:
    error, navigation = _stand_ins(deck.language)
    texts = [for_screen(t) for t in deck.texts]
    question = for_screen(deck.question) if deck.question else None
    lines = [f"{o.number}. {for_screen(o.label)}" for o in deck.options]
    # The worst case a page must hold beside its content: the prefix, an error line and both navigation
    # lines, counted with the content so that one non-GSM character prices the whole screen as UCS-2.
    whole = [*texts, *([question] if question else []), *lines]
    if cost(PREFIX + "\n".join([error, *whole])) <= budget:
        return ("\n".join(whole),), 0

    def fits(page: list[str]) -> bool:
        return cost(PREFIX + "\n".join([error, *page, *navigation])) <= budget

    pages: list[list[str]] = [[]]

    def place(line: str, *, fresh: bool = False) -> None:
        if pages[-1] and (fresh or not fits([*pages[-1], line])):
            pages.append([])
        pages[-1].append(line)

    for paragraph in texts:
        for piece in _chunks(paragraph, fits):
            place(piece)
    block = [*(_chunks(question, fits) if question else []), *lines]
    fresh = bool(pages[-1]) and not fits([*pages[-1], *block])
    first = len(pages) - 1
    for index, line in enumerate(block):
        place(line, fresh=fresh and index == 0)
        first = len(pages) - 1 if index == 0 else first
    return tuple("\n".join(page) for page in pages), first


@functools.lru_cache(maxsize=64)
def _stand_ins(language: str | None) -> tuple[str, tuple[str, str]]:
    """The longest error line and both navigation lines in the deck's language, as `render` writes them:
    a page keeps room for them, priced in their alphabet (an Arabic error line makes a page UCS-2)."""
    error = max((for_screen(text(key, language)) for key in ("invalid", "empty")), key=cost)
    return error, (_navigation(MORE, "more", language), _navigation(BACK, "back", language))


def _navigation(number: str, key: str, language: str | None) -> str:
    return f"{number}. {for_screen(text(key, language))}"


def has_back(deck: Deck, page: int, last: int) -> bool:
    """'0. Back' is offered except on the last page of a question that takes typed input (0 is an answer)."""
    return page > 0 and (page < last or (bool(deck.options) and not deck.free))


def render(deck: Deck, page: int, budget: int, *, error: str | None = None) -> str:
    """The response body for one page: CON or END, an optional error line, the page, its navigation."""
    pages = layout(deck, budget)
    page = min(max(page, 0), len(pages) - 1)
    last = len(pages) - 1
    lines = [for_screen(text(error, deck.language))] if error else []
    lines.append(pages[page])
    if page < last:
        lines.append(_navigation(MORE, "more", deck.language))
    if has_back(deck, page, last):
        lines.append(_navigation(BACK, "back", deck.language))
    prefix = "END" if deck.end and page == last else "CON"
    return f"{prefix} " + "\n".join(line for line in lines if line)
