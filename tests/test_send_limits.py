"""Sending limits: the token bucket (an injected clock, no waiting, no timings) and the daily cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.broadcast_people import OPTED_IN, make_people
from tests.conftest import PG_URL
from tests.harness import running_app
from ureport.broadcast import Broadcaster, Cohort
from ureport.channels.fake_gateway import FakeGateway
from ureport.clock import utcnow
from ureport.limits import SenderCensus, TokenBucket, next_day, share
from ureport.models import OutboundMessage, OutboxStatus
from ureport.outbox import DAILY_CAP, Sender
from ureport.settings import Settings


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_paces_to_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, burst=10, clock=time.clock)
    assert bucket.take(10) == 0  # a full burst goes at once
    assert bucket.take(5) == pytest.approx(0.5)  # then 5 more cost half a second
    time.now += 0.5
    assert bucket.take(5) == pytest.approx(0.5)
    time.now += 10
    assert bucket.take(3) == 0  # refilled, never beyond the burst
    assert bucket.take(8) == pytest.approx(0.1)


def test_rate_zero_is_unlimited() -> None:
    bucket = TokenBucket(0, clock=FakeTime().clock)
    assert all(bucket.take(1000) == 0 for _ in range(10))


@pytest.mark.anyio
async def test_sender_sleeps_off_what_the_bucket_says(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_people(settings)
        await Broadcaster(app.app.state.catalog, "KE").start("safe-streets", Cohort())
        time = FakeTime()
        bucket = TokenBucket(2, burst=2, clock=time.clock, sleep=time.sleep)
        sender = Sender(app.app.state.sender.gateway, app.app.state.keyring, bucket=bucket)
        await sender.drain()
        sent = 2 * OPTED_IN
        assert len(fake_gateway.messages) == sent
        # 8 messages at 2 a second with a burst of 2: 3 seconds of waiting in all, whatever the grouping.
        assert sum(time.slept) == pytest.approx((sent - 2) / 2)


@pytest.mark.anyio
async def test_daily_cap_holds_unsolicited_messages_until_tomorrow(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(replace(settings, daily_cap=1), fake_gateway) as app:
        phones = await make_people(settings)
        await Broadcaster(app.app.state.catalog, "KE").start("safe-streets", Cohort())
        await app.settle()
        for number in phones[:OPTED_IN]:
            assert len(app.received(number)) == 1  # the intro; the question waits for tomorrow
        held = await OutboundMessage.filter(status=OutboxStatus.QUEUED)
        assert len(held) == OPTED_IN
        assert {m.failure_reason for m in held} == {DAILY_CAP}
        assert {m.next_attempt_at for m in held} == {next_day(utcnow())}
        assert all(m.attempts == 0 for m in held)
        # Replies are never held back: the person who writes gets their answer at once.
        assert (await app.send(phones[0], "1"))[0].startswith("Where does harassment")
        await OutboundMessage.filter(status=OutboxStatus.QUEUED).update(
            next_attempt_at=utcnow() - timedelta(seconds=1)
        )
        await app.settle()  # still today: held again, not sent
        assert await OutboundMessage.filter(status=OutboxStatus.QUEUED).count() == OPTED_IN


def test_each_sender_takes_its_even_share_of_the_channel_rate() -> None:
    assert share(30, 0, senders=3) == 10  # the channel's 30/s over three live senders
    assert share(30, 5, senders=3) == 5  # never above the sender's own limit
    assert share(0, 5, senders=3) == 5  # no channel limit: the sender's own
    assert share(30, 0, senders=0) == 30
    assert share(0, 0, senders=2) == 0  # unlimited


def test_a_new_rate_keeps_the_tokens_earned_at_the_old_one() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, burst=10, clock=time.clock)
    assert bucket.take(10) == 0
    time.now += 0.5  # 5 tokens earned at 10/s
    bucket.set_rate(2)
    assert bucket.take(2) == 0  # 2 of the 5 (the burst is now 2)
    assert bucket.take(2) == pytest.approx(1.0)  # then 2/s


@pytest.mark.anyio
async def test_senders_share_the_channel_rate_by_census(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        state = app.app.state
        if not PG_URL:  # one in-process sender on SQLite: the whole channel rate is its own
            sender = Sender(state.sender.gateway, state.keyring, channel_rate=30)
            await sender.send_due()
            assert sender.bucket.rate == 30
            return
        others = [SenderCensus(settings.db_url) for _ in range(2)]
        for census in others:
            await census.join()
        sender = Sender(
            state.sender.gateway, state.keyring, channel_rate=30, census=SenderCensus(settings.db_url)
        )
        await sender.send_due()
        assert sender.bucket.rate == 10  # three live senders
        await others[0].leave()  # a sender stops (or dies: the database drops its lock with it)
        await sender.send_due()
        assert sender.bucket.rate == 15
        await others[1].leave()
        await sender.stop()
