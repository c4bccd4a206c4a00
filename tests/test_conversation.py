"""What a conversation leaves behind: contact fields, answers with demographics, runs, and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.harness import running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import (
    Answer,
    Contact,
    ContactStatus,
    FlowRun,
    InboundMessage,
    InboxStatus,
    Location,
    OutboundMessage,
    OutboxStatus,
    RunStatus,
)
from ureport.settings import Settings

PHONE = "+254711000300"
REGISTRATION = ["JOIN", "2007", "1", "Nairobbi", "1"]
POLL = [
    "A)",
    "matatu",
    "Yes please",
    " YES ",
    "25 minutes",
    "More lights, call me on 0722 000 111 or a@b.org",
]


@pytest.mark.anyio
async def test_registration_and_poll_are_saved(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in REGISTRATION + POLL:
            await app.send(PHONE, text)
        contact = await Contact.get()
        nairobi = await Location.get(name="Nairobi")
        assert (contact.status, contact.birth_year, contact.sex, contact.language) == (
            ContactStatus.ACTIVE,
            2007,
            "female",
            "en",
        )
        assert contact.district_id == nairobi.id  # type: ignore[attr-defined]
        answers = {a.question_key: a for a in await Answer.all()}
        assert {k: a.category for k, a in answers.items()} == {
            "after_dark": "always",
            "where": "public_transport",
            "harassed": "yes",
            "reported": "yes",
            "walk_minutes": "answered",
            "safer": "answered",
        }
        assert answers["walk_minutes"].number == 25
        assert answers["safer"].value == "More lights, call me on [phone] or [email]"
        age = datetime.now(UTC).year - 2007
        assert {(a.age, a.sex, a.district_id, a.channel) for a in answers.values()} == {
            (age, "female", nairobi.id, "sms")
        }
        assert all(a.contact_ref == contact.id for a in answers.values())
        runs = await FlowRun.all().order_by("created_at")
        assert [r.status for r in runs] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
        assert "0722" not in str(runs[1].state)  # the run's state is redacted too
        assert await InboundMessage.filter(status=InboxStatus.PROCESSED).count() == len(REGISTRATION + POLL)


@pytest.mark.anyio
async def test_stopped_contact_is_never_messaged_again(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in REGISTRATION[:3]:
            await app.send(PHONE, text)
        assert await app.send(PHONE, "STOP") == [
            "You have left U-Report. You will get no more messages. Send JOIN to come back."
        ]
        for text in ["Nairobi", "1", "help", "STOP", "ACHA"]:
            assert await app.send(PHONE, text) == []
        assert (await Contact.get()).status == ContactStatus.STOPPED
        assert await FlowRun.filter(status=RunStatus.ACTIVE).count() == 0


@pytest.mark.anyio
async def test_expired_run_does_not_swallow_the_answer(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in REGISTRATION:
            await app.send(PHONE, text)
        run = await FlowRun.get(status=RunStatus.ACTIVE)
        run.state = {**run.state, "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
        await run.save()
        replies = await app.send(PHONE, "1")
        await run.refresh_from_db()
        assert run.status == RunStatus.EXPIRED
        assert replies == [
            "Thank you for your message. There is no open question right now. We will send you the next poll."
        ]


@pytest.mark.anyio
async def test_transient_gateway_failure_is_retried_permanent_is_not(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        fake_gateway.fail_next(http_status=503)
        await app.send(PHONE, "hello")
        message = await OutboundMessage.get()
        assert (message.status, message.attempts) == (OutboxStatus.QUEUED, 1)
        assert message.next_attempt_at > datetime.now(UTC)
        await OutboundMessage.filter(id=message.id).update(next_attempt_at=datetime.now(UTC))
        await app.settle()
        await message.refresh_from_db()
        assert message.status == OutboxStatus.SENT and len(fake_gateway.messages) == 1

        fake_gateway.fail_next(recipient_status=403)  # InvalidPhoneNumber: permanent
        await app.send("+254711000301", "hello")
        failed = await OutboundMessage.get(id__gt=message.id)
        assert (failed.status, failed.attempts) == (OutboxStatus.FAILED, 1)
        assert failed.failure_reason == "InvalidPhoneNumber"


@pytest.mark.anyio
async def test_rotating_the_secret_keeps_contacts_and_rekeys_them(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    from dataclasses import replace

    async with running_app(settings, fake_gateway) as app:
        for text in REGISTRATION:
            await app.send(PHONE, text)
        old_digest = (await Contact.get()).urn_digest
    rotated = replace(
        settings,
        secret_key="a-brand-new-secret-key-0123456789",
        secret_key_version=2,
        previous_secret_keys=f"1:{settings.secret_key}",
    )
    async with running_app(rotated, fake_gateway, demo=False) as app:
        app.received(PHONE)  # what the first app sent is history
        replies = await app.send(PHONE, "1")  # answers the open poll question: the same person
        assert replies and "Where does harassment happen" in replies[0]
        contact = await Contact.get()
        assert await Contact.all().count() == 1
        assert contact.urn_digest != old_digest and contact.urn_digest.startswith("2:")
        assert contact.urn_cipher is not None and contact.urn_cipher.startswith("v2:")
