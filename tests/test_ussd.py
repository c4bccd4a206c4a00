"""USSD callbacks through the real app: payload tables, retries, stray paths, events, both channels alike."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import PlainTextResponse

from tests.harness import running_app
from tests.ussd_harness import USSD_URL, UssdPhone, ussd_form
from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.forms import PayloadError
from ureport.channels.ussd.payloads import UssdNotification
from ureport.channels.ussd.routes import HOP_HEADER, ScreenResponse
from ureport.models import Answer, FlowRun, Poll, PollStatus, UssdSession, UssdSessionEvent
from ureport.settings import Settings

PHONE = "+254711000301"
FORM = {"content-type": "application/x-www-form-urlencoded"}
REGISTER = ["1", "98", "98", "2007", "1", "47", "1", "98", "98"]  # up to the poll's first question
POLL_USSD = ["1", "2", "yes", "2", "15", "more lights*and police"]
POLL_SMS = ["1", "2", "yes", "2", "15", "more lights*and police"]

HOP_TABLE: list[tuple[str, str, int, str]] = [
    (
        "first hop",
        "sessionId=ATUid_1&serviceCode=%2A384%2A123%23&phoneNumber=%2B254711000301&text=",
        200,
        "CON ",
    ),
    ("no text field", "sessionId=ATUid_2&serviceCode=%2A384%23&phoneNumber=%2B254711000301", 200, "CON "),
    ("unencoded plus", "sessionId=ATUid_3&serviceCode=x&phoneNumber=+254711000301&text=", 200, "CON "),
    ("network code", "sessionId=ATUid_4&phoneNumber=%2B254711000301&networkCode=63902&text=", 200, "CON "),
    ("no sessionId", "serviceCode=x&phoneNumber=%2B254711000301&text=", 400, "missing field 'sessionId'"),
    ("no phone", "sessionId=ATUid_5&serviceCode=x&text=", 400, "missing field 'phoneNumber'"),
    ("bad phone", "sessionId=ATUid_6&phoneNumber=hello&text=", 400, "field 'from'"),
    ("repeated field", "sessionId=a&sessionId=b&phoneNumber=%2B254711000301&text=", 400, "repeated"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("label", "body", "status", "start"), HOP_TABLE, ids=[r[0] for r in HOP_TABLE])
async def test_hop_payload_table(
    label: str, body: str, status: int, start: str, settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        response = await app.client.post(USSD_URL, content=body, headers=FORM)
    assert response.status_code == status, label
    assert response.text.startswith(start) or start in response.text, response.text
    if status == 200:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["content-length"] == str(len(response.content))
        assert response.headers["at-ussd-hop-metadata"] == "menu:join"


@pytest.mark.parametrize("body", ["CON Pick one\n1. Yes\n2. No", "END Asante sana!", "CON مرحبا", ""])
def test_screen_response_sends_what_plain_text_response_sends(body: str) -> None:
    expected = PlainTextResponse(body, headers={HOP_HEADER: "q1"})
    got = ScreenResponse(body, "q1")
    assert (got.status_code, got.body, got.background) == (200, expected.body, None)
    assert sorted(got.raw_headers) == sorted(expected.raw_headers)


NOTE = {"sessionId": "ATUid_9", "phoneNumber": "+254711000301", "networkCode": "63902"}
NOTE_TABLE: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("success", {"status": "Success", "hopsCount": "4"}, {"status": "success", "hops": 4}),
    ("dropped", {"status": "Incomplete", "hopsMetadata": "menu:main|q1"}, {"last_screen_id": "q1"}),
    ("failed", {"status": "Failed", "errorMessage": "timeout"}, {"status": "failed", "error": "timeout"}),
    ("unknown status kept", {"status": "Weird"}, {"status": "Weird"}),
    ("duration", {"status": "Success", "durationInMillis": "31022"}, {"duration_ms": 31022}),
]


@pytest.mark.parametrize(("label", "extra", "expected"), NOTE_TABLE, ids=[r[0] for r in NOTE_TABLE])
def test_notification_table(label: str, extra: dict[str, str], expected: dict[str, Any]) -> None:
    note = UssdNotification.from_form({**NOTE, **extra})
    for name, value in expected.items():
        assert getattr(note, name) == value, label


@pytest.mark.parametrize("form", [{"sessionId": "x"}, {**NOTE, "status": "Success", "hopsCount": "many"}])
def test_notification_refuses_bad_forms(form: dict[str, str]) -> None:
    with pytest.raises(PayloadError):
        UssdNotification.from_form(form)


async def _to_first_question(phone: UssdPhone) -> str:
    await phone.dial()
    screen = ""
    for given in REGISTER:
        screen = await phone.press(given)
    return screen


@pytest.mark.anyio
async def test_a_retried_hop_gets_the_same_screen_and_records_nothing_twice(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, PHONE)
        assert "after dark" in await _to_first_question(phone)
        answered = await phone.press("1")
        runs = await FlowRun.all().count()
        for text in ("*".join(phone.inputs), "*".join(phone.inputs[:-1])):  # a retry, then a late one
            assert await phone.screen(text) == answered
        assert await Answer.all().count() == 1
        assert await FlowRun.all().count() == runs
        row = await UssdSession.get(id=phone.session_id)
        assert row.hops == len(phone.inputs)


@pytest.mark.anyio
async def test_a_path_that_does_not_extend_the_session_shows_the_same_screen(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, PHONE)
        question = await _to_first_question(phone)
        stray = await phone.screen("9*9*9")
        assert stray.startswith("CON Invalid choice.\n") and stray.endswith(question.removeprefix("CON "))
        phone.inputs = ["9", "9", "9"]  # the gateway's path from now on
        assert "harassment" in await phone.press("2")
        assert await Answer.filter(question_key="after_dark").values_list("category", flat=True) == [
            "sometimes"
        ]


@pytest.mark.anyio
async def test_another_phone_cannot_use_a_session(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, PHONE)
        first = await phone.dial()
        intruder = await app.client.post(USSD_URL, data=ussd_form(phone.session_id, "+254711000399", "1"))
        assert intruder.status_code == 200 and intruder.text.startswith("END ")
        assert first.startswith("CON Welcome to U-Report.")
        assert (await phone.press("1")).startswith(
            "CON Welcome to U-Report! We ask"
        )  # untouched by the intruder


@pytest.mark.anyio
async def test_same_scenario_over_sms_and_ussd_saves_the_same_answers(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2007", "1", "47", "1", *POLL_SMS]:
            await app.send("+254711000302", text)
        phone = UssdPhone(app, "+254711000303")
        await _to_first_question(phone)
        for given in POLL_USSD:
            screen = await phone.press(given)
        assert screen.startswith("END Thank you!")
        rows = (
            await Answer.all()
            .order_by("question_key")
            .values("channel", "question_key", "category", "value", "number")
        )
    by_channel: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        by_channel.setdefault(str(row.pop("channel")), []).append(tuple(row.values()))
    assert set(by_channel) == {"sms", "ussd"}
    assert by_channel["sms"] == by_channel["ussd"]
    assert len(by_channel["ussd"]) == 6


@pytest.mark.anyio
async def test_end_of_session_notification_is_recorded_once(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, PHONE)
        await _to_first_question(phone)
        await phone.press("1")
        note = {**NOTE, "sessionId": phone.session_id, "status": "Success", "hopsMetadata": "q|after_dark"}
        for _ in range(2):
            response = await app.client.post(USSD_URL + "/events", data=note)
            assert response.status_code == 200
        events = await UssdSessionEvent.all()
        assert [(e.session_id, e.status, e.last_screen_id) for e in events] == [
            (phone.session_id, "success", "after_dark")
        ]
        assert events[0].urn_digest and "254711000301" not in events[0].urn_digest
        assert (await UssdSession.get(id=phone.session_id)).ended
        assert "U-Report\n1. Safe streets" in await phone.dial()  # a finished session offers no "continue"


@pytest.mark.anyio
async def test_registration_without_an_active_poll_finishes_on_the_main_menu(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await Poll.filter(slug="safe-streets").update(status=PollStatus.CLOSED)
        await app.app.state.catalog.refresh()
        phone = UssdPhone(app, PHONE)
        await phone.dial()
        for given in REGISTER[:-2]:
            screen = await phone.press(given)
        assert screen == (
            "CON Thank you, you are now a U-Reporter! Your first poll is on its way.\n"
            "U-Report\n1. My details\n2. Stop polls"
        )
        assert (await phone.press("1")).startswith("CON My details\n")  # the menu answers
