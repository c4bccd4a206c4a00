"""Synthetic respondents for the demo, so a newcomer's dashboard has results to show.

They join and answer through the real conversation path (keywords, registration, the demo poll,
counters), in memory per batch, without queueing any reply: nothing is sent anywhere.
"""

from __future__ import annotations

import random
from datetime import timedelta

from tortoise.transactions import in_transaction

from ureport.clock import utcnow
from ureport.conversation import Conversation
from ureport.models import Answer, Location
from ureport.polls import Catalog
from ureport.privacy import Keyring
from ureport.workspace import Workspace

BATCH = 100
DAYS = 14  # answers spread over the last two weeks, so "responses over time" has a shape
JOIN = {"en": "JOIN", "sw": "JIUNGE", "fr": "REJOINDRE"}
LANGUAGE_CHOICE = {"en": "1", "sw": "2", "fr": "3"}
BIG_COUNTIES = {"Nairobi": 12, "Mombasa": 5, "Kisumu": 5, "Nakuru": 4, "Kiambu": 4, "Kakamega": 3}
SAFER = {
    "en": ["more street lights", "police patrols at night", "lights at the bus stage", "safe buses at night"],
    "sw": ["taa za barabarani", "polisi zaidi usiku", "taa kwenye kituo cha basi", "mabasi salama usiku"],
}


def _script(rng: random.Random, counties: list[str], weights: list[int]) -> tuple[str, list[str]]:
    """One person's texts: join, register, then the demo poll (some stop part-way)."""
    language = rng.choices(["en", "sw", "fr"], weights=[55, 40, 5])[0]
    sex = rng.choices(["1", "2", "3"], weights=[48, 48, 4])[0]
    county = rng.choices(counties, weights=weights)[0]
    texts = [JOIN[language], str(rng.randint(2004, 2012)), sex, county, LANGUAGE_CHOICE[language]]
    girl = sex == "1"
    texts.append(rng.choices(["1", "2", "3"], weights=[20, 45, 35] if girl else [45, 40, 15])[0])
    texts.append(rng.choices(["1", "2", "3", "4", "5", "6"], weights=[35, 30, 10, 10, 10, 5])[0])
    harassed = rng.random() < (0.55 if girl else 0.35)
    texts.append("1" if harassed else "2")
    if harassed:
        texts.append("1" if rng.random() < 0.3 else "2")
    texts += [str(rng.randint(5, 60)), rng.choice(SAFER.get(language, SAFER["en"]))]
    if rng.random() < 0.1:  # some never finish: response rates are not all 100%
        texts = texts[: rng.randint(6, len(texts) - 1)]
    return rng.choices(["sms", "ussd"], weights=[70, 30])[0], texts


async def seed_respondents(keyring: Keyring, *, count: int = 400, seed: int = 2026) -> int:
    """Add `count` synthetic respondents to an empty demo; returns how many were added (0 if not empty)."""
    if await Answer.exists():
        return 0
    catalog = Catalog()
    await catalog.refresh()
    conversation = Conversation(catalog, region="KE")
    names = [str(name) for name in await Location.filter(level=2).values_list("name", flat=True)]
    weights = [BIG_COUNTIES.get(name, 1) for name in names]
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
    batches = range(0, count, BATCH)
    for index, start in enumerate(batches):
        now = utcnow() - timedelta(days=DAYS * (len(batches) - 1 - index) / max(len(batches) - 1, 1))
        people = [
            keyring.identity(f"+2547{10000000 + i:08d}") for i in range(start, min(start + BATCH, count))
        ]
        async with in_transaction() as conn:
            work = await Workspace.load(people, now, conn, regions=catalog.regions)
            for person in people:
                contact = work.contact(person)
                channel, texts = _script(rng, names, weights)
                for text in texts:
                    conversation.handle(work, contact, text, channel=channel)
            await work.flush(conn)
    return count
