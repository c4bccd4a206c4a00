"""Africa's Talking callbacks through the real app: bad input gets a one-line 4xx, never a 500."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.harness import running_app, sms_form
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import InboundMessage, OutboundMessage, OutboxStatus
from ureport.settings import Settings

FORM = "application/x-www-form-urlencoded"
SMS = "/channels/africastalking/sms"
DLR = "/channels/africastalking/delivery"


@dataclass(frozen=True)
class Case:
    label: str
    body: bytes
    status: int
    reason: str = ""
    content_type: str = FORM


def encoded(**fields: str) -> bytes:
    import urllib.parse

    return urllib.parse.urlencode(fields).encode()


GOOD = sms_form("+254711000200", "JOIN", gateway_id="ec9adc86-51d5-4bc8-8eb0-d8ab0bb53dc3")
SMS_CASES = [
    Case(
        "real AT payload",
        b"linkId=03090445075804249226&text=Msg&to=21512&id=ec9adc86-51d5-4bc8-8eb0-d8ab0bb53dc3"
        b"&date=2017-05-03T06%3A04%3A45Z&from=%2B254791541111",
        200,
    ),
    Case("plus decoded to a space", encoded(**{**GOOD, "from": " 254711000200"}), 200),
    Case("empty text is a message", encoded(**{**GOOD, "text": ""}), 200),
    Case("missing from", encoded(**{k: v for k, v in GOOD.items() if k != "from"}), 400, "from"),
    Case("missing id", encoded(**{k: v for k, v in GOOD.items() if k != "id"}), 400, "id"),
    Case("bad date", encoded(**{**GOOD, "date": "yesterday"}), 400, "date"),
    Case("not a phone number", encoded(**{**GOOD, "from": "hello"}), 400, "from"),
    Case("invalid number", encoded(**{**GOOD, "from": "+2541"}), 400, "from"),
    Case("json body", b'{"from": "+254711000200"}', 415, "", "application/json"),
    Case("undecodable bytes", b"from=%2B254711000200&text=%FF%FE&id=1&to=1&date=2017-05-03T06:04:45Z", 400),
    Case("body over 64 KiB", encoded(**{**GOOD, "text": "x" * 70_000}), 413),
    Case("gateway id too long", encoded(**{**GOOD, "id": "x" * 200}), 400, "id"),
    Case("short code too long", encoded(**{**GOOD, "to": "9" * 40}), 400, "to"),
]


@pytest.mark.anyio
async def test_sms_callback_table(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for case in SMS_CASES:
            response = await app.client.post(
                SMS, content=case.body, headers={"content-type": case.content_type}
            )
            assert response.status_code == case.status, (case.label, response.text)
            if case.status != 200:
                assert response.text.count("\n") <= 1 and response.text.strip(), case.label
                assert case.reason in response.text, (case.label, response.text)
        health = await app.client.get("/healthz")  # and the server goes on serving
        assert health.status_code == 200


@pytest.mark.anyio
async def test_gateway_retry_is_answered_200_and_processed_once(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        for _ in range(3):
            response = await app.post_sms("+254711000201", "JOIN", gateway_id="retry-1")
            assert response.status_code == 200
        await app.settle()
        assert await InboundMessage.filter(gateway_id="retry-1").count() == 1
        assert len(app.received("+254711000201")) == 3  # consent, privacy, first question: once


@pytest.mark.anyio
async def test_callback_token_is_enforced_when_set(settings: Settings, fake_gateway: FakeGateway) -> None:
    from dataclasses import replace

    guarded = replace(settings, callback_token="s3cret-token")
    async with running_app(guarded, fake_gateway) as app:
        form = sms_form("+254711000202", "JOIN")
        assert (await app.client.post(SMS, data=form)).status_code == 403
        assert (await app.client.post(SMS + "?token=wrong", data=form)).status_code == 403
        assert (await app.client.post(SMS + "?token=s3cret-token", data=form)).status_code == 200
        assert (await app.client.post(DLR, data={"id": "x", "status": "Success"})).status_code == 403


@pytest.mark.anyio
async def test_delivery_reports_move_status_forward_only(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await app.send("+254711000203", "hello")  # a stranger: one help message
        message = await OutboundMessage.get()
        assert message.status == OutboxStatus.SENT and message.gateway_id
        assert message.gateway_id == fake_gateway.messages[0].message_id
        dlr = {"id": message.gateway_id, "phoneNumber": "+254711000203", "networkCode": "63902"}
        for status, expected in [
            ("Submitted", OutboxStatus.SENT),
            ("Success", OutboxStatus.DELIVERED),
            ("Buffered", OutboxStatus.DELIVERED),  # late and out of order: ignored
            ("Failed", OutboxStatus.DELIVERED),  # a final status is never overwritten
        ]:
            response = await app.client.post(DLR, data={**dlr, "status": status})
            assert response.status_code == 200
            await message.refresh_from_db()
            assert message.status == expected, status
        for odd in [{**dlr, "status": "Teleported"}, {**dlr, "id": "ATXid_unknown", "status": "Success"}]:
            assert (await app.client.post(DLR, data=odd)).status_code == 200
        assert (await app.client.post(DLR, data={"status": "Success"})).status_code == 400


@pytest.mark.anyio
async def test_absent_subscriber_fails_and_blacklist_opts_out(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    from ureport.models import Contact, ContactStatus

    async with running_app(settings, fake_gateway) as app:
        await app.send("+254711000204", "JOIN")
        ids = [m.message_id for m in fake_gateway.messages]
        report = {"phoneNumber": "+254711000204", "networkCode": "63902"}
        await app.client.post(DLR, data={**report, "id": ids[0], "status": "AbsentSubscriber"})
        first = await OutboundMessage.get(gateway_id=ids[0])
        assert first.status == OutboxStatus.FAILED and first.failure_reason == "AbsentSubscriber"
        await app.client.post(
            DLR, data={**report, "id": ids[1], "status": "Failed", "failureReason": "UserInBlackList"}
        )
        contact = await Contact.get()
        assert contact.status == ContactStatus.STOPPED  # the network says they blocked us: never again
