"""Contacts made directly in the database for broadcast tests: who is in which cohort is then exact."""

from __future__ import annotations

import uuid

from ureport.clock import utcnow
from ureport.models import Contact, ContactStatus, Location
from ureport.settings import Settings

# (status, district, age, sex, language)
PEOPLE = [
    (ContactStatus.ACTIVE, "Nairobi", 18, "female", "en"),
    (ContactStatus.ACTIVE, "Nairobi", 18, "male", "en"),
    (ContactStatus.ACTIVE, "Mombasa", 17, "female", "sw"),
    (ContactStatus.ACTIVE, "Nairobi", 31, "female", "en"),
    (ContactStatus.STOPPED, "Nairobi", 18, "female", "en"),  # left: never messaged
    (ContactStatus.REGISTERING, "Nairobi", 18, "female", "en"),  # not opted in yet
]
OPTED_IN = 4
FIRST_QUESTION = "Do you feel safe walking home after dark?"


def phone(i: int) -> str:
    return f"+2547220091{i:02d}"


async def make_people(settings: Settings) -> list[str]:
    """The PEOPLE as contacts; returns their numbers, in order."""
    keyring = settings.keyring()
    year = utcnow().year
    numbers = []
    for i, (status, district, age, sex, language) in enumerate(PEOPLE):
        number = phone(i)
        location = await Location.get(name=district)
        await Contact.create(
            id=uuid.uuid4(),
            urn_digest=keyring.digest(number),
            urn_cipher=keyring.encrypt(number),
            status=status,
            district_id=location.id,
            birth_year=year - age,
            sex=sex,
            language=language,
            fields_json={},
        )
        numbers.append(number)
    return numbers
