"""Broadcasts: cohort counts, starting a poll for everyone in it (once), scheduling, closing, reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.broadcast_people import FIRST_QUESTION, OPTED_IN, make_people
from tests.harness import Harness, running_app
from ureport.broadcast import Broadcaster, BroadcastError, Cohort, count_cohort
from ureport.channels.fake_gateway import FakeGateway
from ureport.clock import utcnow
from ureport.models import FlowRun, OutboundMessage, OutboxStatus, Poll
from ureport.poll_commands import poll_status
from ureport.schedule import POLL_CLOSED, Scheduler
from ureport.settings import Settings

POLL = "safe-streets"
CLOSED_TEXT = "Sorry, this poll has closed."


def broadcaster(app: Harness) -> Broadcaster:
    return Broadcaster(app.app.state.catalog, "KE", batch=2)  # several batches


@pytest.mark.anyio
async def test_dry_run_counts_the_cohort(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway):
        await make_people(settings)
        assert await count_cohort(POLL, Cohort()) == OPTED_IN
        assert await count_cohort(POLL, Cohort(districts=("nairobi",))) == 3
        assert await count_cohort(POLL, Cohort(age_bands=("15-19",), sexes=("female",))) == 2
        assert await count_cohort(POLL, Cohort(languages=("sw",))) == 1
        assert await count_cohort(POLL, Cohort(districts=("KE-30",), age_bands=("30-34", "10-14"))) == 1
        with pytest.raises(BroadcastError, match="no district named 'Atlantis'"):
            await count_cohort(POLL, Cohort(districts=("Atlantis",)))
        with pytest.raises(BroadcastError, match="age band"):
            await count_cohort(POLL, Cohort(age_bands=("19-15",)))
        assert await OutboundMessage.all().count() == 0


@pytest.mark.anyio
async def test_start_queues_first_question_once_and_never_to_stopped(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        assert await broadcaster(app).start(POLL, Cohort()) == OPTED_IN
        await app.settle()
        for number in phones[:OPTED_IN]:
            got = app.received(number)
            assert sum(FIRST_QUESTION in text or "Je, unajisikia" in text for text in got) == 1, got
        assert all(app.received(number) == [] for number in phones[OPTED_IN:])
        poll = await Poll.get(slug=POLL)
        assert poll.started_at is not None
        assert await OutboundMessage.filter(poll_id=poll.id).count() == 2 * OPTED_IN  # intro + question
        assert await FlowRun.filter(poll_id=poll.id).count() == OPTED_IN

        assert await broadcaster(app).start(POLL, Cohort()) == 0  # a re-run queues nothing
        assert await OutboundMessage.filter(poll_id=poll.id).count() == 2 * OPTED_IN
        assert "Where does harassment happen" in (await app.send(phones[0], "1"))[0]  # the run goes on

        status = await poll_status(POLL)
        assert status.messages == {"sent": 2 * OPTED_IN}
        assert status.runs == {"active": OPTED_IN}


@pytest.mark.anyio
async def test_scheduled_start_begins_when_due(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        cohort = Cohort(districts=("Mombasa",)).to_json()
        later = utcnow() + timedelta(hours=1)
        await Poll.filter(slug=POLL).update(start_at=later, cohort=cohort)
        scheduler = Scheduler(broadcaster(app))
        assert await scheduler.drain() == 0
        await Poll.filter(slug=POLL).update(start_at=utcnow() - timedelta(seconds=1))
        assert await scheduler.drain() == 1
        assert await scheduler.drain() == 0
        await app.settle()
        assert [len(app.received(number)) for number in phones] == [0, 0, 2, 0, 0, 0]


@pytest.mark.anyio
async def test_close_expires_runs_and_a_late_answer_gets_poll_closed_once(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        await broadcaster(app).start(POLL, Cohort(districts=("Nairobi",)))  # 3 people, not yet sent
        await Poll.filter(slug=POLL).update(close_at=utcnow() - timedelta(seconds=1))
        assert await Scheduler(broadcaster(app)).drain() == 3
        await app.settle()
        assert app.received(phones[0]) == []  # its questions were never sent: they could not be answered

        late = await app.send(phones[0], "1")
        assert len(late) == 1 and late[0].startswith(CLOSED_TEXT)
        again = await app.send(phones[0], "2")
        assert not any(text.startswith(CLOSED_TEXT) for text in again)

        status = await poll_status(POLL)
        assert status.messages == {"failed": 6} and status.failures == {POLL_CLOSED: 6}
        assert status.runs == {"closed": 2, "expired": 1}
        poll = await Poll.get(slug=POLL)
        assert poll.closed_at is not None and poll.status.value == "closed"
        with pytest.raises(BroadcastError, match="has closed"):
            await broadcaster(app).start(POLL, Cohort())


@pytest.mark.anyio
async def test_one_reminder_to_those_who_have_not_answered(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        await broadcaster(app).start(POLL, Cohort(districts=("Nairobi",)))
        await app.settle()
        for number in phones[:4]:
            app.received(number)
        await app.send(phones[1], "STOP")  # left: no reminder
        await Poll.filter(slug=POLL).update(reminder_hours=2, started_at=utcnow() - timedelta(hours=1))
        scheduler = Scheduler(broadcaster(app))
        assert await scheduler.drain() == 0  # not due yet
        await Poll.filter(slug=POLL).update(started_at=utcnow() - timedelta(hours=3))
        assert await scheduler.drain() == 2
        assert await scheduler.drain() == 0  # once
        await app.settle()
        for number in (phones[0], phones[3]):
            got = app.received(number)
            assert len(got) == 1 and got[0].startswith(FIRST_QUESTION)
        assert app.received(phones[1]) == [] and app.received(phones[2]) == []
        poll = await Poll.get(slug=POLL)
        sent = OutboundMessage.filter(poll_id=poll.id, status=OutboxStatus.SENT)
        assert await sent.count() == 3 * 2 + 2
