"""People who join and answer safe-streets through the real app, for export and share-results tests."""

from __future__ import annotations

from tests.harness import Harness

# (birth year, sex choice, county, answer to after_dark): 1 female, 2 male; 1 always, 2 sometimes, 3 never.
PEOPLE = [
    *[("2005", "1", "Nairobi", "1")] * 6,
    ("2008", "2", "Mombasa", "3"),
    ("2008", "2", "Mombasa", "3"),
    ("2001", "1", "Mombasa", "2"),
]


def phone(i: int) -> str:
    return f"+2547110081{i:02d}"


async def answer(app: Harness, people: list[tuple[str, str, str, str]] = PEOPLE) -> None:
    """Each person joins, then answers the first poll question (the run stays open after it)."""
    for i, (year, sex, county, after_dark) in enumerate(people):
        for text in ["JOIN", year, sex, county, "1", after_dark]:
            await app.send(phone(i), text)
