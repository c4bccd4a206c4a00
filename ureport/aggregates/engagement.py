"""Engagement like U-Report's: who takes part (by district, sex, age band), sign-ups and active people
over the last 3, 6 and 12 months, every table suppressed like the results."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from ureport.aggregates.dimensions import get
from ureport.aggregates.suppression import suppress
from ureport.aggregates.tables import Table
from ureport.models import Contact, ContactStatus

WINDOWS_MONTHS = (3, 6, 12)
_DAYS_PER_MONTH = 30.44


def _one_way(name: str, counts: Counter[str], order: tuple[str, ...] = ()) -> Table:
    """Categories as rows, one column of people: the shape the dashboard's bar charts read."""
    rows = tuple(order) if order else tuple(sorted(counts))
    return Table(
        rows=rows or ("none",), columns=(name,), counts=tuple((counts.get(r, 0),) for r in rows or ("none",))
    )


async def engagement(*, k: int, now: datetime) -> dict[str, Any]:
    """Opted-in people by district, sex and age band; sign-ups by month; active people per window."""
    people = await Contact.filter(status=ContactStatus.ACTIVE).values_list("district_id", "sex", "birth_year")
    age_band = get("age_band")
    by: dict[str, Counter[str]] = {"district": Counter(), "sex": Counter(), "age_band": Counter()}
    for district_id, sex, birth_year in people:
        if district_id:
            by["district"][str(district_id)] += 1
        if sex:
            by["sex"][sex] += 1
        band = age_band.category_of({"age": now.year - birth_year}) if birth_year else None
        if band:
            by["age_band"][band] += 1
    tables = {
        "district": _one_way("people", by["district"]),
        "sex": _one_way("people", by["sex"], get("sex").categories),
        "age_band": _one_way("people", by["age_band"], age_band.categories),
        "sign_ups_by_month": await _sign_ups(now),
        "active_people": await _active(now),
    }
    published = {name: suppress(table, k).to_json() for name, table in tables.items()}
    total = len(people)
    return {"min_cell": k, "opted_in": total if total == 0 or total >= k else None, "tables": published}


async def _sign_ups(now: datetime) -> Table:
    since = now - timedelta(days=round(12 * _DAYS_PER_MONTH))
    joined: list[Contact] = await Contact.filter(registered_at__gte=since).only("id", "registered_at")
    months = Counter(c.registered_at.strftime("%Y-%m") for c in joined if c.registered_at)
    return _one_way("sign_ups", months)


async def _active(now: datetime) -> Table:
    """People last seen in each band: 0-3, 3-6 and 6-12 months ago. Disjoint bands, so no published
    number is the difference of two others (nested windows would let a small group be worked out);
    readers add bands up for "the last 6 months"."""
    counts = Counter[str]()
    names = []
    for newer, older in zip((0, *WINDOWS_MONTHS), WINDOWS_MONTHS, strict=False):
        start = now - timedelta(days=round(older * _DAYS_PER_MONTH))
        end = now - timedelta(days=round(newer * _DAYS_PER_MONTH))
        name = f"{newer}-{older}_months"
        names.append(name)
        query = Contact.filter(status=ContactStatus.ACTIVE, last_seen_at__gte=start)
        counts[name] = await (query.filter(last_seen_at__lt=end) if newer else query).count()
    return _one_way("people", counts, tuple(names))
