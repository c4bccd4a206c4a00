"""A poll that closes while people have it open over USSD: its closing notice once, then the main menu,
never another question of it (the SMS side of the same rule is in test_broadcast.py)."""

from __future__ import annotations

import pytest

from tests.harness import Harness, running_app
from tests.ussd_harness import UssdPhone, close_now
from ureport.channels.fake_gateway import FakeGateway
from ureport.flows.loader import load_flow_text, shipped_flow_path
from ureport.models import FlowRun, Poll, PollStatus
from ureport.polls import save_flow
from ureport.settings import Settings

PHONE = "+254711000601"
POLL = "safe-streets"
NOTICE = "Sorry, this poll has closed. Thank you for taking part. We will send you the next one."
MENU = "U-Report\n1. My details\n2. Stop polls"  # no poll: the only one has closed


async def _registered(app: Harness) -> UssdPhone:
    """Registered by SMS: the poll has started and waits on its first question."""
    for text in ["JOIN", "2007", "1", "47", "1"]:
        await app.send(PHONE, text)
    return UssdPhone(app, PHONE)


async def _runs_of_the_poll() -> list[str]:
    poll = await Poll.get(slug=POLL)
    return [str(status) for status in await FlowRun.filter(poll_id=poll.id).values_list("status", flat=True)]


@pytest.mark.anyio
async def test_dialling_after_the_poll_closed_gives_its_notice_once(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _registered(app)
        await close_now(app, POLL)
        assert await phone.dial() == f"CON {NOTICE}\n{MENU}"
        assert await phone.dial() == f"CON {MENU}"
        later = await app.send(PHONE, "1")  # a late SMS answer: told once already, over USSD
        assert NOTICE not in later
        assert await _runs_of_the_poll() == ["expired"]


@pytest.mark.anyio
async def test_a_poll_chosen_from_a_menu_shown_before_it_closed_asks_nothing(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _registered(app)
        assert "\n1. Safe streets\n" in await phone.dial()
        await close_now(app, POLL)
        assert await phone.press("1") == f"CON {NOTICE}\n{MENU}"
        assert await _runs_of_the_poll() == ["expired"]  # no new run of a closed poll


@pytest.mark.anyio
@pytest.mark.parametrize("choice", ["1", "2"], ids=["continue", "start again"])
async def test_continuing_or_restarting_a_poll_closed_since_the_drop(
    choice: str, settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _registered(app)
        await phone.dial()
        assert "after dark" in await phone.press("1")
        assert "Continue where you left off" in await phone.dial()  # the network dropped the first
        await close_now(app, POLL)
        assert await phone.press(choice) == f"CON {NOTICE}\n{MENU}"
        assert await _runs_of_the_poll() == ["expired"]


@pytest.mark.anyio
async def test_paging_through_a_question_of_a_poll_that_closed(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await app.send(PHONE, "JOIN")
        phone = UssdPhone(app, PHONE)
        await phone.dial()
        for given in ["2007", "1", "47", "1"]:
            screen = await phone.press(given)
        assert screen.endswith("\n98. More")  # the poll's introduction, its question on a later page
        await close_now(app, POLL)
        assert await phone.press("98") == f"CON {NOTICE}\n{MENU}"


@pytest.mark.anyio
async def test_activating_another_poll_closes_the_one_people_have_open(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    """`polls load --activate` (or the admin page's button) closes the active poll as its closing time
    would: its runs are closed, so nobody is asked its questions any more, over USSD or SMS."""
    async with running_app(settings, fake_gateway) as app:
        phone = await _registered(app)
        await phone.dial()
        assert "after dark" in await phone.press("1")
        source = shipped_flow_path(POLL).read_text().replace(POLL, "night-buses")
        night_buses = load_flow_text(source.replace("Safe streets", "Night buses"), source="night-buses")
        await save_flow(night_buses, activate=True)
        await app.app.state.catalog.refresh()
        menu = "U-Report\n1. Night buses\n2. My details\n3. Stop polls"
        assert await phone.press("1") == f"CON {NOTICE}\n{menu}"
        assert await _runs_of_the_poll() == ["expired"]
        assert (await Poll.get(slug=POLL)).status == PollStatus.CLOSED
