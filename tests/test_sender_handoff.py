"""On SQLite the inbox processor hands a batch's replies to its own process's sender from memory,
already leased to it in the same transaction that wrote them: no claim reads them back. They stay as
safe as claimed messages: unsent when the process dies, any sender claims them once the lease runs out;
a graceful stop hands them back at once; the lease is still renewed (the fence) before each request.
On PostgreSQL the replies are claimed from the outbox as before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tortoise.connection import connections

from tests.conftest import PG_URL
from tests.harness import Harness, running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.gateway import AfricasTalkingGateway
from ureport.clock import utcnow
from ureport.models import Contact, ContactStatus, OutboundMessage, OutboxStatus
from ureport.outbox import Sender, new_message, queue
from ureport.settings import Settings

pytestmark = pytest.mark.anyio
PHONE = "+254711000501"
HANDED = not PG_URL  # SQLite: handed over from memory; PostgreSQL: claimed from the outbox


def _count_claims(sender: Sender, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages each claim from the outbox took."""
    claims: list[int] = []
    claim = sender._claim

    async def counted(now: Any) -> Any:
        token, messages = await claim(now)
        claims.append(len(messages))
        return token, messages

    monkeypatch.setattr(sender, "_claim", counted)
    return claims


def _another_sender(settings: Settings, fake_gateway: FakeGateway) -> Sender:
    """A sender in another process, say, sending to the same fake gateway."""
    gateway = AfricasTalkingGateway(username="testapp", api_key="k", sender=None, api_url=fake_gateway.url)
    return Sender(gateway, settings.keyring())


async def _join(app: Harness) -> list[OutboundMessage]:
    """A JOIN accepted and processed, its replies queued and not sent yet."""
    response = await app.post_sms(PHONE, "JOIN")
    assert response.status_code == 200
    await app.app.state.processor.drain()
    replies = OutboundMessage.filter(status=OutboxStatus.QUEUED, in_reply_to_id__isnull=False)
    queued = await replies.order_by("id")
    assert len(queued) == 3  # consent, what is collected, the first registration question
    return queued


async def test_a_batchs_replies_reach_the_gateway_without_being_claimed_back(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_app(settings, fake_gateway) as app:
        sender = app.app.state.sender
        claims = _count_claims(sender, monkeypatch)
        queued = await _join(app)
        assert all((m.claimed_until is not None) == HANDED for m in queued)
        assert await sender.drain() == 3
        assert len(app.received(PHONE)) == 3
        assert sum(claims) == (0 if HANDED else 3)
        assert await OutboundMessage.filter(status=OutboxStatus.SENT).count() == 3


async def test_replies_handed_over_and_never_sent_are_claimed_by_another_sender_after_the_lease(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    """The process holding them died (here: its sender never ran); nothing is lost or sent twice."""
    async with running_app(settings, fake_gateway) as app:
        await _join(app)
        other = _another_sender(settings, fake_gateway)
        if HANDED:
            assert (await other._claim(utcnow()))[1] == []  # leased to the first sender
        later = utcnow() + app.app.state.sender.lease + timedelta(seconds=1)
        token, taken = await other._claim(later)
        assert len(taken) == 3
        await other._send_group(taken[0].text, await other._renew(taken[:1], token))
        assert len(app.received(PHONE)) == 1
        # The first sender comes back: its lease was taken over, so it sends nothing the other holds.
        await app.app.state.sender.drain()
        assert app.received(PHONE) == []


async def test_a_graceful_stop_hands_back_what_was_handed_over(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await _join(app)
        await app.app.state.sender.stop()
        assert await OutboundMessage.filter(claimed_until__isnull=False).count() == 0
        assert await _another_sender(settings, fake_gateway).drain() == 3  # at once, not after the lease
        assert len(app.received(PHONE)) == 3


async def test_messages_queued_in_the_outbox_are_sent_beside_batches_handed_over(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_app(settings, fake_gateway) as app:
        keyring = settings.keyring()
        number = "+254711000502"
        member = await Contact.create(
            urn_digest=keyring.digest(number), urn_cipher=keyring.encrypt(number), status=ContactStatus.ACTIVE
        )
        await queue([new_message(member, "A new poll is open", now=utcnow())], connections.get("default"))
        await _join(app)
        assert await app.app.state.sender.drain() == 4
        assert app.received(number) == ["A new poll is open"]
        assert len(app.received(PHONE)) == 3
