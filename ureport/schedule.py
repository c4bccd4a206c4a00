"""The broadcast timetable, acted on in the background: scheduled starts, closing times, one reminder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from ureport.background import Loop
from ureport.broadcast import Broadcaster, Cohort
from ureport.clock import utcnow
from ureport.conversation import Conversation
from ureport.flows.render import render_sms
from ureport.models import (
    Contact,
    ContactStatus,
    Poll,
    RunStatus,
)
from ureport.polls import POLL_CLOSED as POLL_CLOSED  # failure reason of messages queued at closing
from ureport.polls import close_polls
from ureport.recipients import DELIVERABLE
from ureport.workspace import CONTACT_LOADED, Workspace

log = logging.getLogger(__name__)


async def close_poll(poll: Poll, now: datetime) -> int:
    """Open runs become CLOSED (their person's next text gets poll_closed once) and the poll's unsent
    messages fail: nobody is asked a question that can no longer be answered. Returns runs closed."""
    async with in_transaction() as conn:
        return await close_polls([poll.id], now, conn)


@dataclass
class Reminder:
    """Sends the question each open run of a poll waits on, once."""

    broadcaster: Broadcaster

    async def remind(self, poll: Poll, *, batch: int = 500) -> int:
        """Claimed first (reminded_at), so that it goes out at most once even with several workers."""
        claimed = await Poll.filter(id=poll.id, reminded_at__isnull=True).update(reminded_at=utcnow())
        if not claimed:
            return 0
        query = Contact.filter(
            DELIVERABLE, status=ContactStatus.ACTIVE, runs__poll_id=poll.id, runs__status=RunStatus.ACTIVE
        ).distinct()
        sent, last = 0, None
        while True:
            async with in_transaction() as conn:
                page = query.filter(id__gt=last) if last is not None else query
                contacts = await page.order_by("id").limit(batch).only(*CONTACT_LOADED).using_db(conn)
                if not contacts:
                    return sent
                sent += await self._queue(poll, contacts, conn)
            last = contacts[-1].id

    async def _queue(self, poll: Poll, contacts: list[Contact], conn: BaseDBAsyncClient) -> int:
        b = self.broadcaster
        work = await Workspace.of_contacts(contacts, utcnow(), conn, regions=b.catalog.regions)
        conversation = Conversation(b.catalog, region=b.region)
        sent = 0
        for contact in contacts:
            run = work.open_run(contact)
            if run is None or run.poll_id != poll.id:  # type: ignore[attr-defined]
                continue
            texts = [render_sms(reply) for reply in conversation.waiting(work, contact)]
            sent += work.queue(contact, texts, in_reply_to=None, poll_id=poll.id)
        await work.flush(conn)
        return sent


class Scheduler(Loop):
    """Once a minute (and when woken): start scheduled polls, close due ones, send due reminders."""

    name = "broadcast-scheduler"

    def __init__(self, broadcaster: Broadcaster, *, idle_seconds: float = 60.0) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.broadcaster = broadcaster

    async def drain(self) -> int:
        now = utcnow()
        done = 0
        for poll in await Poll.filter(start_at__lte=now, started_at__isnull=True, closed_at__isnull=True):
            # The claim: with several workers, only the one whose update lands starts the broadcast.
            if await Poll.filter(id=poll.id, started_at__isnull=True).update(started_at=now):
                done += await self.broadcaster.start(poll.slug, Cohort.from_json(poll.cohort))
        for poll in await Poll.filter(close_at__lte=now, closed_at__isnull=True):
            done += await close_poll(poll, now)
        pending = Poll.filter(reminder_hours__isnull=False, reminded_at__isnull=True, closed_at__isnull=True)
        for poll in await pending.filter(started_at__isnull=False):
            if poll.started_at + timedelta(hours=poll.reminder_hours or 0) <= now:  # type: ignore[operator]
                done += await Reminder(self.broadcaster).remind(poll)
        return done
