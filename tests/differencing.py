"""A differencing attacker over published results: it knows how the tables add up, and solves every sum
in which a single number is hidden, again and again, with what it has already worked out.

It knows what anyone reading the poll file and the docs knows: everyone answering has a district, a sex
and an age band (the registration flow asks for them), a channel, a language and a day. So a district's
row is the sum of its district x sex rows, the overall counts are the sum of any one-way table but the
regions (a district outside any region has none), a region is the sum of its districts, and a response
rate's "answered" is the answers table's total. (The exact check of linked
suppression is tests/aggregates/test_linked.py; this one replays the attacks people actually make.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Ref = tuple[str, str | None, str | None]  # table, row key (None: column totals), column (None: totals)
Sum = tuple[Ref, list[Ref]]  # total = sum of parts

ONE_WAY = ("age_band", "sex", "region", "district", "channel", "language", "day")
PAIRS = {
    "district x sex": ("district", "sex"),
    "age_band x sex": ("age_band", "sex"),
    "age_band x district": ("age_band", "district"),
}


def values(tables: Mapping[str, Mapping[str, Any]]) -> dict[Ref, int | None]:
    """Every number shown, keyed by table, row key and column (JSON shape of docs/aggregates.md)."""
    out: dict[Ref, int | None] = {}
    for name, t in tables.items():
        for i, row in enumerate(t["rows"]):
            for j, column in enumerate(t["columns"]):
                out[(name, row, column)] = t["cells"][i][j]
            out[(name, row, None)] = t["row_totals"][i]
        for j, column in enumerate(t["columns"]):
            out[(name, None, column)] = t["column_totals"][j]
        out[(name, None, None)] = t["total"]
    return out


def sums(tables: Mapping[str, Mapping[str, Any]], regions: Mapping[str, Sequence[str]]) -> list[Sum]:
    """Every sum the attacker knows between the numbers shown."""
    out: list[Sum] = []
    for name, t in tables.items():
        columns: list[str | None] = [*t["columns"], None]
        for row in t["rows"]:
            out.append(((name, row, None), [(name, row, c) for c in t["columns"]]))
        for c in columns:
            out.append(((name, None, c), [(name, row, c) for row in t["rows"]]))
        out.append(((name, None, None), [(name, None, c) for c in t["columns"]]))
    answers = [*tables["all"]["columns"], None]
    for dim in ONE_WAY:  # not regions: districts outside any region have answers but no region
        if dim == "region":
            continue
        if tables.get(dim, {}).get("rows"):
            out += [(("all", "all", c), [(dim, None, c)]) for c in answers]
    for name, (x, y) in PAIRS.items():
        if name in tables:
            out += _pair(tables, name, x, y, answers)
    for region, districts in regions.items():
        out += [(("region", region, c), [("district", d, c) for d in districts]) for c in answers]
    if "response_rate" in tables:
        out.append((("response_rate", "all", "answered"), [("all", "all", None)]))
        for d in tables["district"]["rows"]:
            out.append((("response_rate x district", d, "answered"), [("district", d, None)]))
    return out


def _pair(
    tables: Mapping[str, Mapping[str, Any]], name: str, x: str, y: str, answers: list[str | None]
) -> list[Sum]:
    """A two-way table's rows add up to each of its one-way tables' rows."""
    out: list[Sum] = []
    rows = [row.split("|") for row in tables[name]["rows"]]
    for dim, at in ((x, 0), (y, 1)):
        for group in tables[dim]["rows"]:
            parts = ["|".join(r) for r in rows if r[at] == group]
            out += [((dim, group, c), [(name, p, c) for p in parts]) for c in answers]
    return out


def recovered(
    tables: Mapping[str, Mapping[str, Any]], regions: Mapping[str, Sequence[str]]
) -> dict[Ref, int]:
    """Hidden numbers the attacker works out, with the values it finds."""
    shown = values(tables)
    known = {ref: v for ref, v in shown.items() if v is not None}
    equations = sums(tables, regions)
    found: dict[Ref, int] = {}
    progress = True
    while progress:
        progress = False
        for total, parts in equations:
            if any(ref not in shown for ref in (total, *parts)):
                continue  # a group this table does not have
            missing = [ref for ref in (total, *parts) if ref not in known]
            if len(missing) != 1:
                continue
            ref = missing[0]
            rest = sum(known[p] for p in parts if p != ref)
            known[ref] = rest if ref == total else known[total] - rest
            found[ref] = known[ref]
            progress = True
    return found
