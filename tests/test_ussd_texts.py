"""The USSD interface in each language with a Babel catalog; every fixed screen fits the budget in each."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.harness import running_app
from tests.ussd_harness import UssdPhone
from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.ussd.menus import Hop, Menus
from ureport.channels.ussd.screens import Deck, cost, layout, render
from ureport.channels.ussd.texts import TEXTS, text
from ureport.clock import utcnow
from ureport.i18n import LANGUAGES
from ureport.models import Contact, ContactStatus
from ureport.settings import Settings
from ureport.workspace import Workspace

BUDGETS = (160, 182)  # Kenyan menus hold 160 (Safaricom) to 184 characters (Airtel)
FIXED: dict[str, Callable[[Menus, Hop], Deck]] = {
    "main menu": lambda menus, hop: menus.main_menu(hop),
    "main menu after a change": lambda menus, hop: menus.main_menu(hop, notes=(text("saved", hop.language),)),
    "my details": lambda menus, hop: menus.main_choice(hop, "details"),
    "stop confirmation": lambda menus, hop: menus.main_choice(hop, "stop"),
    "language list": lambda menus, hop: menus.language_menu(hop),
    "county list": lambda menus, hop: menus.district_menu(hop, "set_district"),
    "continue or start again": lambda menus, hop: menus.resume_offer(hop),
    "welcome": lambda menus, hop: menus.join_menu(hop),
}
# Short enough for one screen in every language, Arabic (UCS-2, some 70 characters a screen) included.
ONE_PAGE = ("main menu", "my details", "stop confirmation", "continue or start again")


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_interface_string_has_its_translation(language: str) -> None:
    untranslated = [key for key, english in TEXTS.items() if text(key, language) == english]
    assert untranslated == []


@pytest.mark.parametrize("language", [None, "lg", "en"])
def test_a_language_without_a_catalog_gets_english(language: str | None) -> None:
    assert [text(key, language) for key in TEXTS] == list(TEXTS.values())


@pytest.mark.anyio
@pytest.mark.parametrize("language", [*LANGUAGES, "lg"])
async def test_every_fixed_screen_fits_the_budget_in_every_language(
    language: str, settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        menus: Menus = app.app.state.ussd.service.menus
        contact = Contact(id=uuid.uuid4(), status=ContactStatus.ACTIVE, language=language, fields_json={})
        hop = Hop(Workspace(utcnow()), contact, language)
        for name, build in FIXED.items():
            deck = build(menus, hop)
            for budget in BUDGETS:
                pages = layout(deck, budget)
                if name in ONE_PAGE:
                    assert len(pages) == 1, (language, name, pages)
                for page in range(len(pages)):
                    for error in (None, "invalid", "empty"):
                        body = render(deck, page, budget, error=error)
                        assert cost(body) <= budget, (language, name, budget, body)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("language", "menu"),
    [
        ("fr", "U-Report\n1. Safe streets\n2. Mes informations\n3. Arreter les sondages"),
        ("ar", "U-Report\n1. Safe streets\n2. بياناتي\n3. إلغاء الاشتراك"),
        ("lg", "U-Report\n1. Safe streets\n2. My details\n3. Stop polls"),
    ],
)
async def test_a_registered_person_gets_the_menus_in_their_language(
    language: str, menu: str, settings: Settings, fake_gateway: FakeGateway
) -> None:
    """The interface follows the contact's language; a poll title without that language stays in the
    poll's own (poll content is translated in the poll file, not here)."""
    async with running_app(settings, fake_gateway) as app:
        phone = "+254711000501"
        for given in ["JOIN", "2007", "1", "47", "1"]:
            await app.send(phone, given)
        await Contact.all().update(language=language)
        ussd = UssdPhone(app, phone)
        assert await ussd.dial() == f"CON {menu}"
        invalid = await ussd.press("9")
        assert invalid == f"CON {text('invalid', language)}\n{menu}"
