"""The sender's lease is a fencing token: a sender that outlived its lease (stalled, not dead) sends
nothing that another sender has taken over, and a graceful stop hands unsent claims back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise import connections

from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.gateway import AfricasTalkingGateway
from ureport.clock import utcnow
from ureport.models import Contact, ContactStatus, OutboundMessage
from ureport.outbox import Sender, new_message, queue, release
from ureport.settings import Settings

pytestmark = pytest.mark.anyio
NUMBERS = [f"+2547110008{i:02d}" for i in range(3)]


async def _queue(settings: Settings, text: str) -> None:
    keyring = settings.keyring()
    rows = []
    for number in NUMBERS:
        contact = await Contact.create(
            urn_digest=keyring.digest(number), urn_cipher=keyring.encrypt(number), status=ContactStatus.ACTIVE
        )
        rows.append(new_message(contact, text, now=utcnow()))
    await queue(rows, connections.get("default"))


def _sender(settings: Settings, fake_gateway: FakeGateway) -> Sender:
    gateway = AfricasTalkingGateway(username="testapp", api_key="k", sender=None, api_url=fake_gateway.url)
    return Sender(gateway, settings.keyring(), lease=timedelta(seconds=60))


async def test_a_sender_past_its_lease_sends_nothing_taken_over(
    settings: Settings, fake_gateway: FakeGateway, database: str
) -> None:
    await _queue(settings, "hello")
    slow, other = _sender(settings, fake_gateway), _sender(settings, fake_gateway)
    token, claimed = await slow._claim(utcnow())
    assert len(claimed) == 3
    # Two minutes later the slow sender's lease has run out and another sender takes the messages.
    later, taken = await other._claim(utcnow() + timedelta(minutes=2))
    assert [m.id for m in taken] == [m.id for m in claimed]
    assert await slow._renew(claimed, token) == []  # fenced off: it would repeat the other's sends
    await other._send_group("hello", await other._renew(taken, later))
    assert sorted(m.number for m in fake_gateway.messages) == NUMBERS
    assert await OutboundMessage.filter(status="sent").count() == 3


async def test_released_claims_can_be_taken_at_once(
    settings: Settings, fake_gateway: FakeGateway, database: str
) -> None:
    await _queue(settings, "hello")
    sender = _sender(settings, fake_gateway)
    token, claimed = await sender._claim(utcnow())
    assert (await sender._claim(utcnow()))[1] == []  # leased: nobody else gets them
    await release(claimed, token)
    assert await sender.drain() == 3
    assert len(fake_gateway.messages) == 3
