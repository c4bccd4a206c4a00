"""Broadcasts: start a poll for a cohort of opted-in people, streamed in batches of contacts by id.

Each batch is one transaction: its contacts (locked on PostgreSQL), a new run of the poll for each and
their first messages in the outbox, so a crash leaves whole batches started and a re-run skips them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ureport.clock import utcnow
from ureport.conversation import Conversation
from ureport.flows.render import render_sms
from ureport.models import Contact, ContactStatus, FlowRun, Location, Poll
from ureport.polls import REGISTRATION, Catalog
from ureport.recipients import DELIVERABLE
from ureport.workspace import CONTACT_LOADED, Workspace

BATCH = 500  # contacts per transaction: memory and lock time stay flat whatever the cohort's size
_BAND = re.compile(r"^(\d{1,3})-(\d{1,3})$")


class BroadcastError(ValueError):
    """The poll or a filter is not usable; the message says which."""


@dataclass(frozen=True)
class Cohort:
    """Who a broadcast goes to: opted-in people, narrowed by each filter given (any of its values)."""

    districts: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()  # "15-19": ages as the answers count them (this year - birth year)
    sexes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {key: list(values) for key, values in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Cohort:
        data = data or {}
        return cls(
            **{key: tuple(data.get(key) or ()) for key in ("districts", "age_bands", "sexes", "languages")}
        )

    async def contacts(self, poll_id: int, now: datetime, *, skip_taken: bool = True) -> QuerySet[Contact]:
        """Opted-in contacts matching the filters (never STOPped ones, never undeliverable ones), by
        default only those without a run of the poll yet."""
        query = (await self.matching(now)).filter(DELIVERABLE)
        if not skip_taken:
            return query
        taken = FlowRun.filter(poll_id=poll_id).values("contact_id")
        return query.exclude(id__in=Subquery(taken))

    async def matching(self, now: datetime) -> QuerySet[Contact]:
        """Opted-in contacts matching the filters, deliverable or not."""
        query = Contact.filter(status=ContactStatus.ACTIVE, urn_cipher__isnull=False)
        if self.districts:
            query = query.filter(district_id__in=await _district_ids(self.districts))
        if self.age_bands:
            query = query.filter(_ages(self.age_bands, now.year))
        if self.sexes:
            query = query.filter(sex__in=list(self.sexes))
        if self.languages:
            query = query.filter(language__in=list(self.languages))
        return query


async def _district_ids(names: tuple[str, ...]) -> list[int]:
    ids: list[int] = []
    for name in names:
        found: list[Any] = await Location.filter(Q(name__iexact=name) | Q(code__iexact=name)).values_list(
            "id", flat=True
        )
        if not found:
            raise BroadcastError(f"no district named {name!r}")
        ids += [int(i) for i in found]
    return ids


def _ages(bands: tuple[str, ...], year: int) -> Q:
    either = Q()
    for band in bands:
        match = _BAND.match(band.strip())
        if match is None or int(match[1]) > int(match[2]):
            raise BroadcastError(f"age band {band!r}: write LOW-HIGH, e.g. 15-19")
        low, high = int(match[1]), int(match[2])
        either |= Q(birth_year__gte=year - high, birth_year__lte=year - low)
    return either


async def find_broadcast_poll(slug: str) -> Poll:
    poll = await Poll.get_or_none(slug=slug)
    if poll is None:
        raise BroadcastError(f"no poll {slug!r} (see `ureport polls list`)")
    if poll.kind == REGISTRATION:
        raise BroadcastError("the registration flow starts when people JOIN: it cannot be broadcast")
    return poll


async def count_cohort(slug: str, cohort: Cohort) -> int:
    poll = await find_broadcast_poll(slug)
    return await (await cohort.contacts(poll.id, utcnow())).count()


async def count_undeliverable(slug: str, cohort: Cohort) -> int:
    """Opted-in people matching the filters whom the broadcast skips: their number failed for good."""
    await find_broadcast_poll(slug)
    return await (await cohort.matching(utcnow())).exclude(DELIVERABLE).count()


@dataclass
class Broadcaster:
    """Starts runs of one poll for a cohort, batch by batch, reporting progress after each batch."""

    catalog: Catalog
    region: str
    batch: int = BATCH

    async def start(self, slug: str, cohort: Cohort, *, on_batch: Callable[[int], None] | None = None) -> int:
        """Start the poll for everyone in the cohort without a run of it; returns how many were started."""
        await self.catalog.refresh()
        poll = await find_broadcast_poll(slug)
        if poll.closed_at is not None:
            raise BroadcastError(f"poll {slug!r} has closed")
        now = utcnow()
        # Without the NOT IN (runs of the poll): re-read per batch it would grow with every batch; the
        # workspace knows each contact's runs through the contact_id index and skips them instead.
        query = await cohort.contacts(poll.id, now, skip_taken=False)
        started, last = 0, None
        while True:
            done, last = await self._batch(poll, query, last)
            if last is None:
                break
            started += done
            if on_batch is not None:
                on_batch(done)
        await Poll.filter(id=poll.id, started_at__isnull=True).update(started_at=now)
        return started

    async def _batch(self, poll: Poll, query: QuerySet[Contact], after: Any) -> tuple[int, Any]:
        """One transaction: the next contacts by id, a run and first messages each; (started, last id)."""
        conversation = Conversation(self.catalog, region=self.region)
        async with in_transaction() as conn:
            page = query.filter(id__gt=after) if after is not None else query
            page = page.order_by("id").limit(self.batch).only(*CONTACT_LOADED).using_db(conn)
            if conn.capabilities.dialect == "postgres":  # an inbound text for one of them waits for us
                page = page.select_for_update()
            contacts: list[Contact] = await page
            if not contacts:
                return 0, None
            work = await Workspace.of_contacts(contacts, utcnow(), conn, regions=self.catalog.regions)
            started = 0
            for contact in contacts:
                if work.has_run(contact, poll.id):  # started by an inbound text since the page was read
                    continue
                replies = conversation.open_poll(work, contact, poll.slug, "sms")
                work.queue(contact, [render_sms(r) for r in replies], in_reply_to=None, poll_id=poll.id)
                started += 1
            await work.flush(conn)
        return started, contacts[-1].id
