"""Places people answer with (districts): loading from pycountry or files, and matching free-text replies."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Any

import pycountry
from rapidfuzz import fuzz, process

__all__ = ["LocationIndex", "LocationsFileError", "Place", "country_districts", "fold", "read_locations_file"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Place:
    """A named area; `number` is what people may reply with instead of the name."""

    code: str
    name: str
    level: int
    parent_code: str | None
    number: int | None
    aliases: tuple[str, ...] = ()
    # Excluded from hashing: GeoJSON mappings are unhashable and a place is identified by its code anyway.
    geometry: Mapping[str, Any] | None = field(default=None, hash=False)


class LocationsFileError(ValueError):
    """A locations file is malformed; the message names the file, the line or feature, and the field."""

    def __init__(self, path: str | Path, where: str, fieldname: str, reason: str) -> None:
        super().__init__(f"{path}: {where}: field {fieldname!r}: {reason}")
        self.path, self.where, self.field = str(path), where, fieldname


# Kenya's county numbers from the First Schedule of the Constitution (Mombasa 001 ... Nairobi 047), which
# is what people know. ISO 3166-2:KE numbers the counties alphabetically instead (KE-30 is Nairobi), so the
# order is listed here as ISO codes; pycountry has no such table.
_OFFICIAL_ORDER: dict[str, tuple[str, ...]] = {
    "KE": tuple(
        f"KE-{n}"
        for n in "28 19 14 40 21 39 07 46 24 25 09 26 41 06 18 22 23 35 36 15 29 13 43 47 37 42 44 05 32 01 "
        "20 31 33 10 12 02 11 45 03 04 38 17 08 27 16 34 30".split()
    ),
}
# Trailing words that designate the kind of unit rather than name it ("Nairobi City" is called "Nairobi").
_DESIGNATORS = ("city", "county", "district", "province", "region", "municipality")
_APOSTROPHES = re.compile(r"['\u2019\u02bc`\u00b4]")
_NUMBER_REPLY = re.compile(r"(?:no|nr|num|number|namba|nambari)?\s*(\d+)")
_MAX_TEXT = 500  # an SMS reply; longer input is cut rather than scanned word by word
_FUZZY_CUTOFF = 80.0
_FUZZY_MARGIN = 8.0
_FUZZY_MIN_CHARS = 5  # short words ("kitu" = "thing") are too often near a short name


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used for every comparison."""
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", bare).split())


def _common_name(name: str, taken: set[str]) -> str:
    words = name.split()
    if len(words) > 1 and words[-1].casefold() in _DESIGNATORS:
        short = " ".join(words[:-1])
        if fold(short) not in taken:
            name = short
    return name.replace("/", "-")


def _spelling_variants(*names: str) -> tuple[str, ...]:
    variants: list[str] = []
    for name in names:
        variants += [name, _APOSTROPHES.sub("", name), re.sub(r"\s*[/-]\s*", " ", name)]
        variants.append(re.sub(r"\s*[/-]\s*", "-", name))
    return tuple(dict.fromkeys(variants))


def country_districts(country: str) -> list[Place]:
    """The lowest-level ISO 3166-2 subdivisions of `country` (Kenya: the 47 counties), as level-2 places."""
    subdivisions = pycountry.subdivisions.get(country_code=country.upper())  # type: ignore[no-untyped-call]
    if not subdivisions:
        raise LookupError(f"no ISO 3166-2 subdivisions for country {country!r}")
    parents = {s.parent_code for s in subdivisions}
    leaves = sorted((s for s in subdivisions if s.code not in parents), key=lambda s: str(s.code))
    order = _OFFICIAL_ORDER.get(country.upper(), ())
    taken = {fold(s.name) for s in leaves}
    places = []
    for sub in leaves:
        name = _common_name(sub.name, taken)
        aliases = tuple(a for a in _spelling_variants(sub.name, name) if a != name)
        number = order.index(sub.code) + 1 if sub.code in order else None
        parent = sub.parent_code
        places.append(
            Place(code=sub.code, name=name, level=2, parent_code=parent, number=number, aliases=aliases)
        )
    return places


def read_locations_file(path: str | Path) -> list[Place]:
    """Places from a CSV (code,name[,level][,parent][,number][,aliases]) or a GeoJSON FeatureCollection."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocationsFileError(path, "file", "-", f"cannot read: {exc}") from exc
    geojson = path.suffix.lower() in {".geojson", ".json"} or text.lstrip().startswith("{")
    rows = _geojson_rows(path, text) if geojson else _csv_rows(path, text)
    return _build_places(path, rows)


_Row = tuple[str, Mapping[str, Any]]
_CSV_COLUMNS = ("code", "name", "level", "parent", "number", "aliases")


def _csv_rows(path: Path, text: str) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    for required in ("code", "name"):
        if required not in header:
            raise LocationsFileError(path, "line 1", required, "missing column")
    for column in header:
        if column not in _CSV_COLUMNS:
            raise LocationsFileError(path, "line 1", column, "unknown column")
    reader.fieldnames = header
    rows: list[_Row] = []
    for record in reader:
        if None in record:
            raise LocationsFileError(path, f"line {reader.line_num}", "-", "more values than columns")
        if any((v or "").strip() for v in record.values()):
            values = {k: (v or "").strip() for k, v in record.items()}
            values["aliases"] = [a.strip() for a in values.get("aliases", "").split("|") if a.strip()]
            rows.append((f"line {reader.line_num}", values))
    return rows


def _geojson_rows(path: Path, text: str) -> list[_Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocationsFileError(path, f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise LocationsFileError(path, "top level", "type", "not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise LocationsFileError(path, "top level", "features", "missing or not a list")
    rows: list[_Row] = []
    for index, feature in enumerate(features):
        where = f"feature {index}"
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise LocationsFileError(path, where, "properties", "missing or not an object")
        geometry = feature.get("geometry")
        if geometry is not None and not (isinstance(geometry, dict) and "type" in geometry):
            raise LocationsFileError(path, where, "geometry", "not a GeoJSON geometry")
        aliases = props.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [a.strip() for a in aliases.split("|") if a.strip()]
        rows.append((where, {**props, "aliases": aliases, "geometry": geometry}))
    return rows


def _text_field(path: Path, where: str, row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise LocationsFileError(path, where, name, "must be text or a whole number")
    return str(value).strip() or None


def _int_field(path: Path, where: str, row: Mapping[str, Any], name: str) -> int | None:
    text = _text_field(path, where, row, name)
    if text is None:
        return None
    if not text.isdecimal() or len(text) > 9 or int(text) < 1:
        raise LocationsFileError(path, where, name, f"must be a positive whole number, got {text[:20]!r}")
    return int(text)


def _depth(codes: Mapping[str, str | None], code: str) -> int:
    depth, seen = 1, {code}
    parent = codes[code]
    while parent is not None:
        if parent in seen:
            return -1
        seen.add(parent)
        depth, parent = depth + 1, codes[parent]
    return depth


def _parse_row(path: Path, where: str, row: Mapping[str, Any]) -> Place:
    code, name = _text_field(path, where, row, "code"), _text_field(path, where, row, "name")
    if code is None or name is None:
        raise LocationsFileError(path, where, "code" if code is None else "name", "missing")
    aliases = row.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise LocationsFileError(path, where, "aliases", "must be a list of text")
    return Place(
        code=code,
        name=name,
        level=_int_field(path, where, row, "level") or 0,  # 0: inferred once the whole tree is known
        parent_code=_text_field(path, where, row, "parent"),
        number=_int_field(path, where, row, "number"),
        aliases=tuple(aliases),
        geometry=row.get("geometry"),
    )


def _build_places(path: Path, rows: list[_Row]) -> list[Place]:
    parsed = [(where, _parse_row(path, where, row)) for where, row in rows]
    parents: dict[str, str | None] = {}
    for where, place in parsed:
        if place.code in parents:
            raise LocationsFileError(path, where, "code", f"duplicate code {place.code!r}")
        parents[place.code] = place.parent_code
    flat = all(parent is None for parent in parents.values())
    numbers: set[int] = set()
    places = []
    for where, place in parsed:
        if place.parent_code is not None and place.parent_code not in parents:
            raise LocationsFileError(path, where, "parent", f"unknown parent code {place.parent_code!r}")
        depth = _depth(parents, place.code)
        if depth < 0:
            raise LocationsFileError(path, where, "parent", "parent codes form a cycle")
        if place.number is not None:
            if place.number in numbers:
                raise LocationsFileError(path, where, "number", f"duplicate number {place.number}")
            numbers.add(place.number)
        # A flat list is a list of districts (level 2); otherwise the level is the depth in the tree.
        places.append(replace(place, level=place.level or (2 if flat else depth)))
    return places


def _menu_order(place: Place) -> tuple[bool, int, str]:
    """By number (the order people know), then by name."""
    return (place.number is None, place.number or 0, fold(place.name))


class LocationIndex:
    """Matches a free-text reply to one leaf place (district) by number, name, word or fuzzy spelling."""

    def __init__(self, places: Iterable[Place]) -> None:
        all_places = list(places)
        parents = {p.parent_code for p in all_places}
        self._places = {p.code: p for p in all_places if p.code not in parents}
        self._numbers = {p.number: p for p in self._places.values() if p.number is not None}
        self._keys: dict[str, set[str]] = {}
        for place in self._places.values():
            for label in chain([place.name, place.code], place.aliases):
                folded = fold(label)
                for key in {folded, folded.replace(" ", "")} - {""}:
                    self._keys.setdefault(key, set()).add(place.code)
        self._max_words = max((k.count(" ") + 1 for k in self._keys), default=1)
        self._choices = list(self._keys)
        # A menu lists them, and a typed prefix is looked up, on many USSD hops: sorted and folded once.
        self._leaves = sorted(self._places.values(), key=_menu_order)
        self._folded_names = [(fold(p.name), p) for p in self._leaves]

    def __len__(self) -> int:
        return len(self._places)

    def leaves(self) -> list[Place]:
        """Every place people answer with, by number (the order people know), then by name."""
        return list(self._leaves)

    def starting_with(self, text: str) -> list[Place]:
        """The places whose name begins with `text` (folded), in leaves() order; none for an empty text."""
        prefix = fold(text)
        return [place for name, place in self._folded_names if prefix and name.startswith(prefix)]

    def by_code(self, code: str) -> Place | None:
        return self._places.get(code)

    def match(self, text: str) -> Place | None:
        """The place `text` names, or None when nothing matches or the reply is ambiguous; never raises."""
        folded = fold(text[:_MAX_TEXT])
        if not folded:
            return None
        number = _NUMBER_REPLY.fullmatch(folded)
        if number is not None:
            digits = number.group(1)
            return self._numbers.get(int(digits)) if len(digits) <= 6 else None
        exact = self._keys.get(folded) or self._keys.get(folded.replace(" ", ""))
        if exact is not None:
            return self._only(exact)
        grams = self._ngrams(folded.split())
        in_words = set().union(*(self._keys.get(g, set()) for g in grams))
        if in_words:
            return self._only(in_words)
        return self._fuzzy([folded, *grams])

    def _ngrams(self, words: list[str]) -> list[str]:
        grams = []
        for size in range(1, min(self._max_words, len(words)) + 1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                grams += [" ".join(gram), "".join(gram)] if size > 1 else gram
        return grams

    def _only(self, codes: set[str]) -> Place | None:
        # Two places with the same name (or a reply naming two) cannot be resolved without asking again.
        return self._places[next(iter(codes))] if len(codes) == 1 else None

    def _fuzzy(self, queries: list[str]) -> Place | None:
        best: dict[str, float] = {}
        for query in dict.fromkeys(q for q in queries if len(q.replace(" ", "")) >= _FUZZY_MIN_CHARS):
            # Plain ratio, not WRatio: partial matching lets "city" or "river" pass for a whole name.
            found = process.extract(
                query, self._choices, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF, limit=None
            )
            for key, score, _ in found:
                for code in self._keys[key]:
                    best[code] = max(best.get(code, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[1][1] > ranked[0][1] - _FUZZY_MARGIN):
            return None
        return self._places[ranked[0][0]]
