"""Failures while sending: transient ones back off exponentially until the last attempt; permanent ones
about the number are recorded against the contact, whom broadcasts and reminders then skip until they
write to us again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise import connections

from tests.broadcast_people import OPTED_IN, make_people
from tests.harness import Harness, running_app
from ureport.broadcast import Broadcaster, BroadcastError, Cohort, count_cohort, count_undeliverable
from ureport.channels.fake_gateway import FakeGateway
from ureport.clock import utcnow
from ureport.delivery import delivery_figures
from ureport.models import Contact, ContactStatus, OutboundMessage, OutboxStatus, Poll
from ureport.outbox import Sender, backoff, new_message, queue
from ureport.schedule import Scheduler
from ureport.settings import Settings

pytestmark = pytest.mark.anyio
POLL = "safe-streets"


async def _contact(settings: Settings, number: str) -> Contact:
    return await Contact.get(urn_digest=settings.keyring().digest(number))


async def _queue_to(settings: Settings, number: str, text: str = "Hello") -> OutboundMessage:
    contact = await _contact(settings, number)
    await queue([new_message(contact, text, now=utcnow())], connections.get("default"))
    return await OutboundMessage.filter(contact_id=contact.id).order_by("-id").first()  # type: ignore[return-value]


def _broadcaster(app: Harness) -> Broadcaster:
    return Broadcaster(app.app.state.catalog, "KE")


def test_backoff_doubles_from_15_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [15, 30, 60, 120, 240, 480, 960, 1920, 3600]


async def test_transient_failures_back_off_then_fail_at_the_last_attempt(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        message = await _queue_to(settings, phones[0])
        sender = Sender(app.app.state.sender.gateway, app.app.state.keyring, max_attempts=4)
        failures = [{"http_status": 429}, {"http_status": 503}, {"recipient_status": 500}]
        for attempt, failure in enumerate(failures, start=1):
            fake_gateway.fail_next(**failure)  # type: ignore[arg-type]
            before = utcnow()
            await sender.drain()
            after = utcnow()
            await message.refresh_from_db()
            assert (message.status, message.attempts) == (OutboxStatus.QUEUED, attempt)
            assert before + backoff(attempt) <= message.next_attempt_at <= after + backoff(attempt)
            assert await sender.drain() == 0  # not due before its backoff
            await OutboundMessage.filter(id=message.id).update(next_attempt_at=utcnow())
        fake_gateway.fail_next(recipient_status=501)  # GatewayError, the fourth and last attempt
        await sender.drain()
        await message.refresh_from_db()
        assert (message.status, message.attempts, message.failure_reason) == (
            OutboxStatus.FAILED,
            4,
            "GatewayError",
        )
        assert fake_gateway.messages == []
        assert (await _contact(settings, phones[0])).undeliverable_at is None  # not the number's fault


async def test_invalid_number_is_recorded_skipped_by_broadcasts_and_cleared_when_they_write(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        await _queue_to(settings, phones[0])
        fake_gateway.fail_next(recipient_status=403, number=phones[0])
        await app.settle()
        contact = await _contact(settings, phones[0])
        assert contact.undeliverable_reason == "InvalidPhoneNumber" and contact.undeliverable_at is not None

        assert await count_cohort(POLL, Cohort()) == OPTED_IN - 1
        assert await count_undeliverable(POLL, Cohort()) == 1
        assert await count_undeliverable(POLL, Cohort(districts=("Mombasa",))) == 0
        assert await _broadcaster(app).start(POLL, Cohort()) == OPTED_IN - 1
        await app.settle()
        assert app.received(phones[0]) == []

        await app.send(phones[0], "Hello")  # they write: their phone works
        contact = await _contact(settings, phones[0])
        assert (contact.undeliverable_at, contact.undeliverable_reason) == (None, None)
        assert await count_undeliverable(POLL, Cohort()) == 0


async def test_blacklisted_is_stopped_and_recorded(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        message = await _queue_to(settings, phones[0])
        fake_gateway.fail_next(recipient_status=406, number=phones[0])
        await app.settle()
        await message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxStatus.FAILED, 1)  # never retried
        contact = await _contact(settings, phones[0])
        assert contact.status == ContactStatus.STOPPED
        assert contact.undeliverable_reason == "UserInBlacklist"


async def test_permanent_delivery_report_is_recorded_and_reminders_skip_them(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        await _broadcaster(app).start(POLL, Cohort(districts=("Nairobi",)))  # phones 0, 1 and 3
        await app.settle()
        gone, off = await _contact(settings, phones[1]), await _contact(settings, phones[3])
        for contact, reason in ((gone, "UserDoesNotExist"), (off, "AbsentSubscriber")):
            sent = await OutboundMessage.filter(contact_id=contact.id).first()
            assert sent is not None
            form = {"id": str(sent.gateway_id), "status": "Failed", "failureReason": reason}
            assert (await app.client.post("/channels/africastalking/delivery", data=form)).status_code == 200
        assert (await _contact(settings, phones[1])).undeliverable_reason == "UserDoesNotExist"
        assert (await _contact(settings, phones[3])).undeliverable_at is None  # phone off: may work later

        await Poll.filter(slug=POLL).update(reminder_hours=1, started_at=utcnow() - timedelta(hours=2))
        assert await Scheduler(_broadcaster(app)).drain() == 2  # phones 0 and 3, not 1
        for number in phones:
            app.received(number)
        await app.settle()
        assert [len(app.received(number)) for number in phones[:4]] == [1, 0, 0, 1]


async def test_delivery_figures_count_statuses_failures_and_waiting_reasons(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        await _broadcaster(app).start(POLL, Cohort(districts=("Nairobi",)))  # phones 0, 1 and 3: 6 messages
        fake_gateway.fail_next(recipient_status=403, number=phones[1])  # intro: InvalidPhoneNumber
        fake_gateway.fail_next(recipient_status=500, number=phones[3])  # intro: retried later
        await app.settle()
        figures = await delivery_figures(POLL)
        assert figures.messages == {"sent": 4, "failed": 1, "queued": 1}
        assert figures.failures == {"InvalidPhoneNumber": 1}
        assert figures.waiting == {"InternalServerError": 1}
        assert figures.runs == {"active": 3} and figures.total == 6
        assert figures.lines(POLL) == [
            f"{POLL}: messages queued 1, sent 4, delivered 0, failed 1",
            "  failed InvalidPhoneNumber: 1",
            "  queued, waiting (InternalServerError): 1",
            f"{POLL}: runs active 3",
        ]
        with pytest.raises(BroadcastError, match="no poll 'nope'"):
            await delivery_figures("nope")
