"""Dimensions results are broken down by: the age-band table, the registry, and the built-in dimensions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_AGE_BANDS",
    "AgeBand",
    "AgeBandError",
    "AgeBands",
    "Dimension",
    "Registry",
    "Snapshot",
    "UnknownDimension",
    "age_band",
    "dimension",
    "get",
    "register",
    "registry",
    "use_age_bands",
]

# An answer's demographics when it was given: age, sex, district_id, region_id, channel, language.
Snapshot = Mapping[str, object]
CategoryOf = Callable[[Snapshot], str | None]

DEFAULT_AGE_BANDS = "0-14,15-19,20-24,25-30,31-34,35+"  # U-Report's bands
_BAND = re.compile(r"^(\d+)-(\d+)$|^(\d+)\+$")


class AgeBandError(ValueError):
    """An age-band table is malformed; the message names the band and what is wrong."""


@dataclass(frozen=True, slots=True)
class AgeBand:
    start: int
    end: int | None  # None: open-ended, the last band only

    @property
    def key(self) -> str:
        return f"{self.start}+" if self.end is None else f"{self.start}-{self.end}"

    def __contains__(self, age: int) -> bool:
        return self.start <= age and (self.end is None or age <= self.end)


def _parse_band(position: int, text: str) -> AgeBand:
    match = _BAND.match(text)
    if match is None:
        raise AgeBandError(f'age band {position} "{text}": write it as "15-19", or "35+" for the last band')
    low, high, open_start = match.groups()
    if open_start is not None:
        return AgeBand(int(open_start), None)
    band = AgeBand(int(low), int(high))
    if band.start > int(high):
        raise AgeBandError(f'age band {position} "{text}": it starts after it ends')
    return band


@dataclass(frozen=True, slots=True)
class AgeBands:
    """The one age-band table: contiguous, non-overlapping, ascending; only the last may be open-ended."""

    bands: tuple[AgeBand, ...]

    @classmethod
    def parse(cls, spec: str) -> AgeBands:
        """Parse e.g. "0-14,15-19,20-24,25-30,31-34,35+" (the UREPORT_AGE_BANDS setting)."""
        items = [item.strip() for item in spec.split(",")]
        if items == [""]:
            raise AgeBandError("no age bands: give at least one, e.g. 0-14,15-19,20+")
        bands = tuple(_parse_band(position, item) for position, item in enumerate(items, start=1))
        for position, (band, after) in enumerate(zip(bands, bands[1:], strict=False), start=1):
            if band.end is None:
                raise AgeBandError(f'age band {position} "{band.key}": only the last band can be open-ended')
            if after.start != band.end + 1:
                gap = "overlaps" if after.start <= band.end else "leaves a gap after"
                raise AgeBandError(
                    f'age band {position + 1} "{after.key}" {gap} "{band.key}": '
                    f"it should start at {band.end + 1}"
                )
        return cls(bands)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(band.key for band in self.bands)

    def band_of(self, age: int) -> str | None:
        """The band's key, or None for an age outside every band."""
        return next((band.key for band in self.bands if age in band), None)

    def __str__(self) -> str:
        return ",".join(self.keys)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dimension:
    """A way to group answers: `category_of` maps a snapshot to a category key, or None when unknown."""

    key: str
    label: str
    category_of: CategoryOf
    categories: tuple[str, ...] = ()  # the known categories in display order; () when they come from data


class UnknownDimension(KeyError):
    def __init__(self, key: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no dimension {key!r}; known: {', '.join(known)}")


class Registry:
    """Dimensions by key. Built-ins register here exactly as an extension would."""

    def __init__(self) -> None:
        self._dimensions: dict[str, Dimension] = {}
        self.version = 0  # moves on every registration: what was worked out from the dimensions is stale

    def register(self, dimension: Dimension, *, replace: bool = False) -> Dimension:
        if dimension.key in self._dimensions and not replace:
            raise ValueError(f"dimension {dimension.key!r} is already registered")
        self._dimensions[dimension.key] = dimension
        self.version += 1
        return dimension

    def get(self, key: str) -> Dimension:
        try:
            return self._dimensions[key]
        except KeyError:
            raise UnknownDimension(key, tuple(self._dimensions)) from None

    def __iter__(self) -> Iterator[Dimension]:
        return iter(tuple(self._dimensions.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._dimensions


registry = Registry()


def register(dimension: Dimension, *, replace: bool = False) -> Dimension:
    return registry.register(dimension, replace=replace)


def get(key: str) -> Dimension:
    return registry.get(key)


def dimension(key: str, label: str, *, categories: tuple[str, ...] = ()) -> Callable[[CategoryOf], Dimension]:
    """Register a function from snapshot to category as a dimension: `@dimension("school", "School")`."""

    def decorate(category_of: CategoryOf) -> Dimension:
        return register(Dimension(key=key, label=label, category_of=category_of, categories=categories))

    return decorate


def _text(snapshot: Snapshot, field: str) -> str | None:
    value = snapshot.get(field)
    return value if isinstance(value, str) and value else None


def _identifier(snapshot: Snapshot, field: str) -> str | None:
    value = snapshot.get(field)
    # bool is an int subclass: a flag in an id field is a bug upstream, never location 1.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def age_band(bands: AgeBands) -> Dimension:
    """The age-band dimension for a given table (the answer snapshot carries the age at answer time)."""

    def category_of(snapshot: Snapshot) -> str | None:
        age = snapshot.get("age")
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            return None
        return bands.band_of(age)

    return Dimension(key="age_band", label="Age", category_of=category_of, categories=bands.keys)


def use_age_bands(bands: AgeBands) -> None:
    """Replace the built-in age bands, e.g. at start-up from UREPORT_AGE_BANDS."""
    register(age_band(bands), replace=True)


use_age_bands(AgeBands.parse(DEFAULT_AGE_BANDS))


@dimension("sex", "Sex", categories=("female", "male", "other_sex"))
def _sex(snapshot: Snapshot) -> str | None:
    return _text(snapshot, "sex")


@dimension("region", "Region")
def _region(snapshot: Snapshot) -> str | None:
    return _identifier(snapshot, "region_id")


@dimension("district", "District")
def _district(snapshot: Snapshot) -> str | None:
    return _identifier(snapshot, "district_id")


@dimension("channel", "Channel", categories=("sms", "ussd"))
def _channel(snapshot: Snapshot) -> str | None:
    return _text(snapshot, "channel")


@dimension("language", "Language")
def _language(snapshot: Snapshot) -> str | None:
    return _text(snapshot, "language")
