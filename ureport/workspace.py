"""A unit of work for a batch of inbound messages: rows read in bulk first, changes written in bulk last.

One message at a time costs a dozen round trips to the database; a batch of a few hundred costs about
ten, so the conversation logic itself runs in memory (see reference/performance.md).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from ureport.aggregates import counters
from ureport.db import (
    Select,
    Statement,
    build,
    changed_statements,
    execute_statements,
    fetch_selects,
    insert_models_statement,
    insert_statement,
    select,
    snapshot,
)
from ureport.flows.model import ANSWERED
from ureport.models import Answer, Contact, ContactStatus, FlowRun, OutboundMessage, RunStatus
from ureport.outbox import new_message
from ureport.privacy import Identity

CONTACT_FIELDS = (
    "urn_digest",
    "urn_cipher",
    "status",
    "language",
    "birth_year",
    "sex",
    "district_id",
    "fields_json",
    "registered_at",
    "stopped_at",
    "last_seen_at",
    "help_sent_at",
    "undeliverable_at",
    "undeliverable_reason",
)
RUN_FIELDS = ("status", "state", "expires_at", "exited_at", "updated_at")
# What a batch reads or writes back: building rows (datetimes parsed) costs more than the query, and
# every field written back must be loaded (updated_at is always set before a write, never read).
CONTACT_LOADED = ("id", *CONTACT_FIELDS)
RUN_LOADED = ("id", "contact_id", "poll_id", "status", "state", "expires_at", "exited_at")
ANSWER_FIELDS = (
    "category",
    "value",
    "number",
    "channel",
    "age",
    "sex",
    "district_id",
    "region_id",
    "language",
    "created_at",
)


# What a reply just queued holds in the outbox's fields that new_message() leaves out.
_UNSENT = {
    "gateway_id": None,
    "gateway_status": None,
    "failure_reason": None,
    "cost": None,
    "sent_at": None,
    "delivered_at": None,
}
ANSWER_KEY = ("run_id", "question_key")  # one answer per question and run: a later one replaces it
# What counted() reads of an answer given earlier (the rest is never read from it).
ANSWER_COUNTED = ("id", "run_id", "poll_id", "question_key", *ANSWER_FIELDS)


def counted(answer: Answer) -> list[counters.Counted]:
    """An answer as the counters see it: its category and the demographics it was given with, and for
    free text, each of its words."""
    snapshot = {
        "age": answer.age,
        "sex": answer.sex,
        "district_id": answer.district_id,
        "region_id": answer.region_id,
        "channel": answer.channel,
        "language": answer.language,
        "day": answer.created_at.date().isoformat(),
    }
    poll_id: int = answer.poll_id  # type: ignore[attr-defined]
    out = [counters.Counted(poll_id, answer.question_key, answer.category, snapshot)]
    if answer.category == ANSWERED:
        out += counters.word_counts(poll_id, answer.question_key, answer.value, answer.language)
    return out


@dataclass
class Workspace:
    """Contacts, their open runs and which polls they have taken, for the people of one batch."""

    now: datetime
    contacts: dict[str, Contact] = field(default_factory=dict)  # by current digest
    open_runs: dict[uuid.UUID, FlowRun] = field(default_factory=dict)  # by contact id
    taken: set[tuple[uuid.UUID, int]] = field(default_factory=set)  # (contact id, poll id)
    closed_runs: dict[uuid.UUID, list[FlowRun]] = field(default_factory=dict)  # by contact id
    regions: Mapping[int, int] = field(default_factory=dict)  # district id -> region id
    # (run, question) answered in this batch for the first time: a stored answer may be replaced
    _first_saves: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    _counts: Counter[counters.Key] = field(default_factory=Counter)
    _new_contacts: dict[uuid.UUID, Contact] = field(default_factory=dict)
    _dirty_contacts: dict[uuid.UUID, Contact] = field(default_factory=dict)
    _new_runs: dict[uuid.UUID, FlowRun] = field(default_factory=dict)
    _dirty_runs: dict[uuid.UUID, FlowRun] = field(default_factory=dict)
    # What was read, by id: only the fields a batch changed are written back (db.changed_statements)
    _read_contacts: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    _read_runs: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    _answers: dict[tuple[uuid.UUID, str], Answer] = field(default_factory=dict)
    _outbox: list[dict[str, Any]] = field(default_factory=list)
    _senders: dict[str, Identity] = field(default_factory=dict)  # digest (any key version) -> identity

    @classmethod
    async def load(
        cls,
        senders: Iterable[Identity],
        now: datetime,
        conn: BaseDBAsyncClient,
        *,
        regions: Mapping[int, int] | None = None,
    ) -> Workspace:
        """Read every contact of these people (under any key version), their open runs and past polls."""
        work = cls.prepare(senders, now, regions=regions)
        (contacts,) = await fetch_selects(conn, [work.contacts_query(conn.capabilities.dialect)])
        work.adopt_contacts(contacts)
        await work.read_runs(conn)
        return work

    @classmethod
    def prepare(
        cls,
        senders: Iterable[Identity],
        now: datetime,
        *,
        regions: Mapping[int, int] | None = None,
    ) -> Workspace:
        """An empty workspace for these people, to read in two steps (load() does both): its contacts
        (contacts_query, adopt_contacts), then their runs (runs_queries, adopt_runs). A batch sends its
        own reads along with each step, so that on SQLite each step is one trip to the database."""
        work = cls(now, regions=regions or {})
        for sender in senders:
            work._senders.update((digest, sender) for digest in sender.digests)
        return work

    def contacts_query(self, dialect: str) -> Select | None:
        """The contacts of the people, under any key version."""
        # On PostgreSQL several workers run: one batch per contact at a time, the rows locked in id
        # order, so two workers whose batches share contacts can never deadlock.
        where = {"urn_digest__in": list(self._senders)}
        order = "id" if dialect == "postgres" else None
        return select(Contact, CONTACT_LOADED, dialect, where=where, order_by=order, lock="FOR UPDATE")

    def adopt_contacts(self, found: Iterable[Contact]) -> None:
        for contact in found:
            self._adopt(contact, self._senders[contact.urn_digest])

    @classmethod
    async def of_contacts(
        cls,
        contacts: Iterable[Contact],
        now: datetime,
        conn: BaseDBAsyncClient,
        *,
        regions: Mapping[int, int] | None = None,
    ) -> Workspace:
        """A workspace for contacts the caller already read (and locked): a broadcast has ids, not numbers."""
        work = cls(now, regions=regions or {})
        for contact in contacts:
            work.contacts[contact.urn_digest] = contact
            work._read_contacts[contact.id] = snapshot(contact, CONTACT_FIELDS)
        await work.read_runs(conn)
        return work

    def contact_ids(self) -> list[uuid.UUID]:
        return [c.id for c in self.contacts.values()]

    def runs_queries(self, dialect: str) -> list[Select | None]:
        """The contacts' live runs, and (contact, poll) of every run they had."""
        ids = self.contact_ids()
        # CLOSED runs come along (same index): their person's next text gets poll_closed once.
        live = {"contact_id__in": ids, "status__in": (RunStatus.ACTIVE, RunStatus.CLOSED)}
        return [
            select(FlowRun, RUN_LOADED, dialect, where=live, order_by="created_at"),
            select(FlowRun, ("contact_id", "poll_id"), dialect, where={"contact_id__in": ids}),
        ]

    async def read_runs(self, conn: BaseDBAsyncClient) -> None:
        """The second step alone: runs_queries() read and adopted."""
        self.adopt_runs(*await fetch_selects(conn, self.runs_queries(conn.capabilities.dialect)))

    def adopt_runs(self, runs: Iterable[FlowRun], taken: Iterable[FlowRun]) -> None:
        for run in runs:
            self._read_runs[run.id] = snapshot(run, RUN_FIELDS)
            if run.status == RunStatus.CLOSED:
                self.closed_runs.setdefault(run.contact_id, []).append(run)  # type: ignore[attr-defined]
            else:
                self.open_runs[run.contact_id] = run  # type: ignore[attr-defined]
        self.taken = {(run.contact_id, run.poll_id) for run in taken}  # type: ignore[attr-defined]

    async def _uncount_replaced(self, conn: BaseDBAsyncClient) -> None:
        """Answers stored before this batch that it answers again (a loop, USSD "Start again"): their
        counts move out. Read at flush for the questions answered only, not with every open run's
        earlier answers at load: those were most of what a batch read, for a rare replacement."""
        self.uncount((await fetch_selects(conn, [self.replaced_query(conn.capabilities.dialect)]))[0])

    def replaced_query(self, dialect: str) -> Select | None:
        """The stored answers this batch may replace (None: it answered nothing already stored)."""
        keys = self._replaceable()
        if not keys:
            return None
        where = {"run_id__in": list({run for run, _ in keys}), "question_key__in": list({q for _, q in keys})}
        return select(Answer, ANSWER_COUNTED, dialect, where=where)

    def uncount(self, stored: Iterable[Answer]) -> None:
        """Move out the counts of the stored answers this batch replaces (read by replaced_query)."""
        keys = self._replaceable()
        for answer in stored:
            if (answer.run_id, answer.question_key) in keys:  # type: ignore[attr-defined]
                counters.accumulate(self._counts, [], counted(answer))

    def _replaceable(self) -> set[tuple[uuid.UUID, str]]:
        return {(run, question) for run, question in self._first_saves if run not in self._new_runs}

    def _adopt(self, contact: Contact, sender: Identity) -> None:
        self._read_contacts[contact.id] = snapshot(contact, CONTACT_FIELDS)
        digest = sender.digest
        if contact.urn_digest != digest or contact.urn_cipher is None:  # re-key after a secret rotation
            contact.urn_digest, contact.urn_cipher = digest, sender.cipher
            self.touch(contact)
        self.contacts[digest] = contact

    def contact(self, sender: Identity) -> Contact:
        """The contact of this person, created (as a stranger) if they have never written before."""
        digest = sender.digest
        found = self.contacts.get(digest)
        if found is None:
            found = build(
                Contact,
                id=uuid.uuid4(),
                urn_digest=digest,
                urn_cipher=sender.cipher,
                status=ContactStatus.STRANGER,
                language=None,
                birth_year=None,
                sex=None,
                district_id=None,
                fields_json={},
                created_at=self.now,
                registered_at=None,
                stopped_at=None,
                last_seen_at=None,
                help_sent_at=None,
                undeliverable_at=None,
                undeliverable_reason=None,
            )
            self.contacts[digest] = self._new_contacts[found.id] = found
        return found

    def touch(self, contact: Contact) -> None:
        if contact.id not in self._new_contacts:
            self._dirty_contacts[contact.id] = contact

    def open_run(self, contact: Contact) -> FlowRun | None:
        return self.open_runs.get(contact.id)

    def has_run(self, contact: Contact, poll_id: int) -> bool:
        return (contact.id, poll_id) in self.taken

    def add_run(self, run: FlowRun) -> None:
        """A new run becomes the contact's open run (the caller closed any other first)."""
        run.id = run.id or uuid.uuid4()
        run.created_at = run.updated_at = self.now
        self._new_runs[run.id] = run
        self.taken.add((run.contact_id, run.poll_id))  # type: ignore[attr-defined]
        self.open_runs[run.contact_id] = run  # type: ignore[attr-defined]

    def update_run(self, run: FlowRun) -> None:
        run.updated_at = self.now
        if run.id not in self._new_runs:
            self._dirty_runs[run.id] = run
        if run.status != RunStatus.ACTIVE:
            self.open_runs.pop(run.contact_id, None)  # type: ignore[attr-defined]

    def closed_notice_due(self, contact: Contact) -> bool:
        """Whether the contact had a run open when its poll closed and was not told yet: marks them
        told (the runs become EXPIRED), so the poll_closed reply goes out once."""
        runs = self.closed_runs.pop(contact.id, [])
        for run in runs:
            run.status = RunStatus.EXPIRED
            run.updated_at = self.now
            self._dirty_runs[run.id] = run
        return bool(runs)

    def close_open_run(self, contact: Contact, status: RunStatus) -> None:
        run = self.open_runs.get(contact.id)
        if run is not None:
            run.status, run.exited_at = status, self.now
            self.update_run(run)

    def save_answer(self, answer: Answer) -> None:
        """The latest answer to a question in a run wins (a question may be asked again on a loop);
        the counters move with it, in the same transaction."""
        if answer.region_id is None and answer.district_id:
            answer.region_id = self.regions.get(answer.district_id)
        key = (answer.run_id, answer.question_key)  # type: ignore[attr-defined]
        replaced = self._answers.get(key)
        if replaced is None:  # one stored before this batch, if any, is uncounted at flush
            self._first_saves.add(key)
        counters.accumulate(self._counts, counted(answer), counted(replaced) if replaced else [])
        self._answers[key] = answer

    def count_asked(self, poll_id: int, question_key: str, snapshot: dict[str, Any]) -> None:
        """Someone was asked this question (response rates divide answers by these)."""
        district_id = snapshot.get("district_id")
        region = self.regions.get(district_id) if isinstance(district_id, int) else None
        day = self.now.date().isoformat()
        asked = counters.Counted(
            poll_id, question_key, counters.ASKED, {**snapshot, "region_id": region, "day": day}
        )
        counters.accumulate(self._counts, [asked])

    def queue(
        self, contact: Contact, texts: Iterable[str], *, in_reply_to: int | None, poll_id: int | None = None
    ) -> int:
        messages = [
            new_message(contact, text, now=self.now, in_reply_to=in_reply_to, poll_id=poll_id)
            for text in texts
        ]
        self._outbox.extend(messages)
        return len(messages)

    @property
    def queued(self) -> int:
        """How many replies this batch has queued."""
        return len(self._outbox)

    def lease_outbox(self, token: datetime) -> None:
        """Write this batch's replies already claimed by a sender, until `token` (see Sender.take_over)."""
        for message in self._outbox:
            message["claimed_until"] = token

    def queued_messages(self, ids: Sequence[int]) -> list[OutboundMessage]:
        """This batch's replies as written, given the keys the database gave them in order of writing."""
        if len(ids) != len(self._outbox):
            raise ValueError(f"{len(ids)} keys for {len(self._outbox)} replies")
        return [
            build(OutboundMessage, id=key, **message, **_UNSENT)
            for key, message in zip(ids, self._outbox, strict=True)
        ]

    async def flush(
        self, conn: BaseDBAsyncClient, then: Iterable[Statement] = (), *, commit: bool = False
    ) -> None:
        """Write everything this batch changed, parents before children, inside the caller's transaction,
        followed by the caller's own writes (`then`): on SQLite, all of it in one trip to the database,
        with the commit too when these end the transaction (`commit`, see db.execute_statements)."""
        await self._uncount_replaced(conn)  # before the answers that replace them are written
        await execute_statements(conn, [*self.statements(conn.capabilities.dialect), *then], commit=commit)

    def statements(self, dialect: str) -> list[Statement]:
        """The batch's writes as prepared statements, in the order flush() runs them."""
        out: list[Statement] = [
            insert_models_statement(Contact, self._new_contacts.values(), dialect),
            *changed_statements(
                Contact, self._dirty_contacts.values(), CONTACT_FIELDS, self._read_contacts, dialect
            ),
            insert_models_statement(FlowRun, self._new_runs.values(), dialect),
            *changed_statements(FlowRun, self._dirty_runs.values(), RUN_FIELDS, self._read_runs, dialect),
            insert_models_statement(
                Answer, self._answers.values(), dialect, conflict=ANSWER_KEY, update=ANSWER_FIELDS
            ),
            counters.upsert_statement(self._counts, dialect),
        ]
        if self._outbox:
            out.append(insert_statement(OutboundMessage, self._outbox, dialect, ignore_conflicts=False))
        return out
