"""A deep dial (`*384*123*1*2#`): inputs that come with the session's first hop are answered in order, as
if typed one by one; the first refused input stops there with its error line; nothing is recorded twice."""

from __future__ import annotations

import pytest

from tests.harness import Harness, running_app
from tests.ussd_harness import UssdPhone
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import Answer, Contact, ContactStatus
from ureport.settings import Settings

# (label, registered first by SMS, the inputs dialled with the code)
DIALS: list[tuple[str, bool, list[str]]] = [
    ("newcomer picks a language", False, ["1"]),
    ("newcomer pages in Kiswahili", False, ["2", "98"]),
    ("newcomer registers half-way", False, ["1", "98", "98", "2007", "1"]),
    ("U-Reporter opens the poll", True, ["1"]),
    ("U-Reporter answers a question", True, ["1", "2"]),
    ("U-Reporter opens a county list page", True, ["2", "2", "98"]),
    ("U-Reporter stops polls", True, ["3", "1"]),
]


async def _phone(app: Harness, number: str, registered: bool) -> UssdPhone:
    if registered:
        for text in ["JOIN", "2007", "1", "47", "1"]:
            await app.send(number, text)
    return UssdPhone(app, number)


@pytest.mark.anyio
@pytest.mark.parametrize(("label", "registered", "inputs"), DIALS, ids=[d[0] for d in DIALS])
async def test_a_deep_dial_is_the_same_as_typing_its_inputs(
    label: str, registered: bool, inputs: list[str], settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        typing = await _phone(app, "+254711000801", registered)
        await typing.dial()
        for given in inputs:
            typed = await typing.press(given)
        dialling = await _phone(app, "+254711000802", registered)
        assert await dialling.dial(*inputs) == typed, label
        contacts = await Contact.all().order_by("created_at").values_list("status", "language", "sex")
        assert contacts[0] == contacts[1]
        answers = await Answer.all().values_list("contact_ref", "question_key", "category")
        assert len(answers) == 2 * len({key for _ref, key, _category in answers})


@pytest.mark.anyio
async def test_the_first_refused_input_stops_the_dial(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, "+254711000803")
        welcome = (await UssdPhone(app, "+254711000804").dial()).removeprefix("CON ")
        assert await phone.dial("7", "1") == f"CON Invalid choice.\n{welcome}"  # the 1 is not acted on
        assert set(await Contact.all().values_list("status", flat=True)) == {ContactStatus.STRANGER}
        phone.inputs.append("1")  # the session goes on from the whole path
        assert (await phone.screen("7*1*1")).startswith("CON Welcome to U-Report! We ask")


@pytest.mark.anyio
async def test_a_retried_deep_dial_records_nothing_twice(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = await _phone(app, "+254711000805", registered=True)
        screen = await phone.dial("1", "2")
        assert screen.startswith("CON Where does harassment happen")
        assert await phone.screen("1*2") == screen  # the gateway retries the first hop
        assert await Answer.all().values_list("question_key", "category") == [("after_dark", "sometimes")]
        assert (await phone.press("1")).startswith("CON In the last month")
