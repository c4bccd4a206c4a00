"""Differencing attacks on the published results, replayed against results.json with crafted answers:
linked tables are suppressed together, so none of them gives a hidden number away."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differencing import recovered
from tests.harness import Harness, running_app
from ureport.aggregates.results import ONE_WAY, PUBLISHED_PAIRS, published_tables, question_counts, universe
from ureport.aggregates.suppression import suppress
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import Location, Poll, Question
from ureport.settings import Settings

FEMALE, MALE = "1", "2"
ALWAYS, SOMETIMES, NEVER = "1", "2", "3"
# (how many, county, birth year, sex, answer to after_dark)
PEOPLE = [
    (2, "Lamu", "2005", FEMALE, ALWAYS),  # the two to protect
    (5, "Lamu", "2005", MALE, ALWAYS),
    (6, "Lamu", "2008", MALE, NEVER),
    (5, "Lamu", "2008", FEMALE, NEVER),
    (6, "Kilifi", "2005", FEMALE, SOMETIMES),
    (6, "Kilifi", "2008", MALE, SOMETIMES),
    (8, "Nairobi", "2005", FEMALE, ALWAYS),
    (8, "Nairobi", "2008", MALE, NEVER),
    (7, "Nairobi", "2005", MALE, SOMETIMES),
]


async def answer_all(app: Harness) -> None:
    i = 0
    for n, county, year, sex, after_dark in PEOPLE:
        for _ in range(n):
            for text in ["JOIN", year, sex, county, "1", after_dark]:
                await app.send(f"+25471100{8300 + i}", text)
            i += 1


async def coast(app: Harness) -> dict[str, list[str]]:
    """A region holding Lamu and Kilifi, so that the region table is the sum of two districts."""
    region = await Location.create(code="coast", name="Coast", level=1)
    districts = await Location.filter(name__in=["Lamu", "Kilifi"])
    for district in districts:
        district.parent = region
        await district.save()
    await app.app.state.catalog.refresh()
    return {str(region.id): [str(d.id) for d in districts]}


async def published(app: Harness) -> dict[str, Any]:
    """What anyone can read: results.json, and the brief's age band x district table."""
    data = (await app.client.get("/polls/safe-streets/results.json")).json()
    after_dark = next(q for q in data["questions"] if q["key"] == "after_dark")
    poll = await Poll.get(slug="safe-streets")
    question = await Question.get(poll=poll, key="after_dark")
    brief = (await published_tables(poll.id, question, 5))["age_band x district"].to_json()
    return {**after_dark["tables"], "age_band x district": brief}


def cell(tables: dict[str, Any], table: str, row: str, column: str | None) -> int | None:
    t = tables[table]
    i = t["rows"].index(row)
    return t["row_totals"][i] if column is None else t["cells"][i][t["columns"].index(column)]


@pytest.mark.anyio
async def test_no_hidden_number_can_be_worked_out_by_differencing(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        regions = await coast(app)
        await answer_all(app)
        tables = await published(app)
        lamu = str((await Location.get(name="Lamu")).id)
        # Two girls in Lamu said "always": hidden in district x sex...
        assert cell(tables, "district x sex", f"{lamu}|female", "always") is None
        # ...so Lamu's "always" (7) minus its boys (5) and others (0) must not all be readable.
        shown = [
            cell(tables, "district", lamu, "always"),
            cell(tables, "district x sex", f"{lamu}|male", "always"),
            cell(tables, "district x sex", f"{lamu}|other_sex", "always"),
        ]
        assert None in shown
        # Nor anything else: every sum between any of the tables, solved over and over.
        assert recovered(tables, regions) == {}
        assert cell(tables, "all", "all", None) == 53  # the overall total stays published


@pytest.mark.anyio
async def test_the_same_answers_leak_when_tables_are_suppressed_one_by_one(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    """What issue 4's privacy gap was: each table safe on its own, and the attacker above wins."""
    async with running_app(settings, fake_gateway) as app:
        regions = await coast(app)
        await answer_all(app)
        poll = await Poll.get(slug="safe-streets")
        counts = await question_counts(poll.id, await Question.get(poll=poll, key="after_dark"))
        every = await universe()
        alone = {"all": suppress(counts.breakdown(), 5).to_json()}
        for dims in [(d,) for d in ONE_WAY] + [
            tuple(p) for p in (*PUBLISHED_PAIRS, ("age_band", "district"))
        ]:
            alone[" x ".join(dims)] = suppress(counts.breakdown(dims, universe=every), 5).to_json()
        assert recovered(alone, regions)  # the attacker works hidden numbers out
        assert recovered(await published(app), regions) == {}
