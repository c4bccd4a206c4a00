"""Dialling again after a drop: "Continue where you left off" restores what still holds, and is offered
only while it can. The transcripts drop_and_continue (mid-poll, Start again, finishing by SMS) and
drop_on_a_page_and_continue (a page of the county list) show the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness import Harness, running_app
from tests.ussd_harness import UssdPhone
from ureport.aggregates import results
from ureport.aggregates.counters import ALL
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import UssdSession
from ureport.settings import Settings

PHONE = "+254711000701"
OFFER = "CON You did not finish last time.\n1. Continue where you left off\n2. Start again"
BIRTH_YEAR = "CON What year were you born? You can also reply with your age."
AFTER_DARK = "CON Do you feel safe walking home after dark?\n1. Always\n2. Sometimes\n3. Never"
WHERE = "CON Where does harassment happen most where you live?"


async def _mid_poll(app: Harness) -> UssdPhone:
    """Registered by SMS, then answering the poll over USSD: its first question on the screen."""
    for text in ["JOIN", "2007", "1", "47", "1"]:
        await app.send(PHONE, text)
    phone = UssdPhone(app, PHONE)
    await phone.dial()
    assert await phone.press("1") == AFTER_DARK
    return phone


async def _mid_registration(phone: UssdPhone) -> None:
    await phone.dial()
    for given in ["1", "98"]:
        await phone.press(given)
    assert await phone.press("98") == BIRTH_YEAR


@pytest.mark.anyio
async def test_continue_mid_registration(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, PHONE)
        await _mid_registration(phone)
        assert await phone.dial() == OFFER
        assert await phone.press("1") == BIRTH_YEAR
        assert (await phone.press("2007")).startswith("CON What is your sex?")


@pytest.mark.anyio
async def test_start_again_mid_registration(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, PHONE)
        await _mid_registration(phone)
        assert await phone.dial() == OFFER
        assert (await phone.press("2")).startswith("CON Welcome to U-Report! We ask your year of birth")


@pytest.mark.anyio
async def test_continue_after_an_sms_answered_the_question_meanwhile(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _mid_poll(app)
        assert (await app.send(PHONE, "2"))[0].startswith("Where does harassment happen")
        assert await phone.dial() == OFFER
        assert (await phone.press("1")).startswith(WHERE)  # the question now open, not the stale one


@pytest.mark.anyio
async def test_continue_restores_a_page_of_a_menu(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2007", "1", "47", "1"]:  # the poll is open and waits
            await app.send(PHONE, text)
        phone = UssdPhone(app, PHONE)
        await phone.dial()  # the main menu, then My details, County, its second page
        for given in ["2", "2"]:
            await phone.press(given)
        second_page = await phone.press("98")
        assert second_page.startswith("CON 8. Wajir\n") and second_page.endswith("\n98. More\n0. Back")
        assert await phone.dial() == OFFER
        assert await phone.press("1") == second_page


@pytest.mark.anyio
async def test_no_offer_after_opting_out_by_sms(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await _mid_poll(app)
        phone = UssdPhone(app, PHONE)
        assert (await app.send(PHONE, "STOP"))[0].startswith("You have left U-Report.")
        assert (await phone.dial()).startswith("CON Welcome to U-Report. Choose your language:")


@pytest.mark.anyio
async def test_no_offer_after_finishing_by_sms(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _mid_poll(app)
        for text in ["1", "1", "no", "10"]:
            await app.send(PHONE, text)
        assert (await app.send(PHONE, "Lights"))[0].startswith("Thank you! Your answers help")
        assert await phone.dial() == "CON U-Report\n1. My details\n2. Stop polls"


@pytest.mark.anyio
async def test_no_offer_once_the_window_has_passed(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _mid_poll(app)
        window = timedelta(minutes=settings.ussd_resume_minutes)
        row = await UssdSession.get(id=phone.session_id)
        await UssdSession.filter(id=row.id).update(updated_at=row.updated_at - window - timedelta(seconds=1))
        assert await phone.dial() == "CON U-Report\n1. Safe streets\n2. My details\n3. Stop polls"
        assert await phone.press("1") == AFTER_DARK  # the poll itself still waits where it was


@pytest.mark.anyio
async def test_an_answer_replaced_in_a_later_batch_leaves_no_drift(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    """Start again re-asks a question answered in an earlier hop: the counters drop the old answer (a
    -1 in a batch of its own used to vanish, leaving the old answer counted for ever)."""
    async with running_app(settings, fake_gateway) as app:
        phone = await _mid_poll(app)
        assert (await phone.press("1")).startswith(WHERE)  # "Always", saved in this hop's batch
        assert await phone.dial() == OFFER
        assert (await phone.press("2")).startswith("CON U-Report poll")  # Start again: the poll's intro
        assert await phone.press("98") == AFTER_DARK  # its first question again
        await phone.press("3")  # "Never" replaces it
        assert (await results.rebuild()).keys == 0
        stored = await results.stored_counts()
        after_dark = {
            cat: n for (_, key, scope, cat), n in stored.items() if key == "after_dark" and scope == ALL
        }
        assert {cat: n for cat, n in after_dark.items() if n} == {"never": 1}
