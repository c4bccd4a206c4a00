"""One USSD hop in one transaction: the session row by key, the new input, the menus in memory, the writes."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from tortoise.transactions import in_transaction

from ureport.channels.ussd.menus import Hop, Menus, Step
from ureport.channels.ussd.paths import Path
from ureport.channels.ussd.payloads import UssdRequest
from ureport.channels.ussd.screens import Deck, render
from ureport.channels.ussd.texts import text
from ureport.clock import utcnow
from ureport.conversation import Conversation
from ureport.db import Select, assign, build, fetch_selects, insert_models_statement, select, update_statement
from ureport.models import UssdSession
from ureport.polls import Catalog
from ureport.privacy import Identity, Keyring
from ureport.settings import Settings
from ureport.workspace import Workspace

log = logging.getLogger(__name__)

CATALOG_TTL = 1.0  # seconds a hop trusts the in-memory flows before checking the database for changes
SESSION_FIELDS = (
    "path_digests",
    "hops",
    "state",
    "screen",
    "screen_id",
    "run_id",
    "ended",
    "updated_at",
    "expires_at",
)
Dropped = dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]  # (contact, run) -> the session's state
# What a hop reads: the rest is always set before a write (building rows costs more than the query).
SESSION_LOADED = ("id", "urn_digest", "path_digests", "hops", "state", "screen", "screen_id", "ended")
# (`state` is read as its JSON text, not a dict: UssdService._screen parses it.)
SESSION_MINUTES = 3  # AT ends a session after 180 s at most; past that the row only serves "continue"
SCREENS_KEPT = 1024  # distinct session states kept parsed: the same screens, in a few languages


@dataclass(frozen=True)
class Reply:
    body: str
    screen_id: str


class UssdService:
    """Answers hops: any worker can take the next one, because all state is in the session row."""

    def __init__(self, catalog: Catalog, keyring: Keyring, settings: Settings) -> None:
        self.catalog = catalog
        self.keyring = keyring
        self.budget = settings.ussd_screen
        self.resume_window = timedelta(minutes=settings.ussd_resume_minutes)
        self.keep_for = max(self.resume_window, timedelta(minutes=SESSION_MINUTES))  # what "continue" needs
        self.region = settings.default_region
        self.menus = Menus(Conversation(catalog, region=self.region), catalog, budget=self.budget)
        self._checked = 0.0
        self._screens: dict[str, tuple[Deck, int]] = {}  # a session state's text -> its deck and page

    async def process(self, hops: list[tuple[UssdRequest, Identity]]) -> list[Reply]:
        """Answer a batch of hops (request, the caller's identity) in order, in one transaction."""
        await self._refresh()
        now = utcnow()
        # Every hop's contact is read along with the session rows (on SQLite, one trip to the database),
        # a retry's too, though it is answered from its session row alone.
        work = Workspace.prepare([sender for _, sender in hops], now, regions=self.catalog.regions)
        async with in_transaction() as conn:
            dialect = conn.capabilities.dialect
            ids = list({r.session_id for r, _ in hops})
            # FOR UPDATE on PostgreSQL: two workers, one session: one hop at a time.
            sessions = select(
                UssdSession,
                SESSION_LOADED,
                dialect,
                where={"id__in": ids},
                lock="FOR UPDATE",
                raw=("state",),  # its text: see _screen
            )
            found, contacts = await fetch_selects(conn, [sessions, work.contacts_query(dialect)])
            rows: dict[str, UssdSession] = {row.id: row for row in found}
            work.adopt_contacts(contacts)
            runs, taken, recent = await fetch_selects(
                conn, [*work.runs_queries(dialect), self._dropped_query(hops, rows, work, now, dialect)]
            )
            work.adopt_runs(runs, taken)
            dropped = {(row.contact_id, row.run_id): row.state for row in recent}
            existing = set(rows)
            replies, touched = [], {}
            for request, sender in hops:
                reply, row = self._hop(request, sender, rows, work, dropped, now)
                replies.append(reply)
                if row is not None:
                    touched[row.id] = row
            created = [row for row in touched.values() if row.id not in existing]
            changed = [row for row in touched.values() if row.id in existing]
            writes = [  # after the contacts: sessions refer to them
                insert_models_statement(UssdSession, created, dialect),
                update_statement(UssdSession, changed, SESSION_FIELDS, dialect),
            ]
            await work.flush(conn, then=writes, commit=True)
        return replies

    async def _refresh(self) -> None:
        if time.monotonic() - self._checked > CATALOG_TTL:
            await self.catalog.refresh()
            self._checked = time.monotonic()

    def _dropped_query(
        self,
        hops: list[tuple[UssdRequest, Identity]],
        rows: dict[str, UssdSession],
        work: Workspace,
        now: datetime,
        dialect: str,
    ) -> Select | None:
        """Recent sessions left unfinished by the people dialling a new session, oldest first (the
        latest wins): their last screen is offered again, by (contact, run)."""
        contacts = {
            contact.id
            for request, sender in hops
            if request.session_id not in rows and (contact := work.contacts.get(sender.digest)) is not None
        }
        where = {
            "contact_id__in": list(contacts),
            "ended": False,
            "updated_at__gte": now - self.resume_window,
        }
        return select(
            UssdSession, ("contact_id", "run_id", "state"), dialect, where=where, order_by="updated_at"
        )

    def _hop(
        self,
        request: UssdRequest,
        sender: Identity,
        rows: dict[str, UssdSession],
        work: Workspace,
        dropped: Dropped,
        now: datetime,
    ) -> tuple[Reply, UssdSession | None]:
        """The reply, and the session row when this hop changed it."""
        row = rows.get(request.session_id)
        if row is not None and row.urn_digest not in sender.digests:  # another phone's session
            log.warning("USSD session %s reused by another phone: refused", request.session_id)
            return Reply("END " + text("session_error", None), "error"), None
        path = Path.parse(row.path_digests) if row is not None else Path()
        digest = self.keyring.input_digest(request.text)
        if row is not None and (row.ended or path.seen(digest) or (request.text == "" and row.hops > 0)):
            return Reply(row.screen, row.screen_id), None  # a retry: same screen, nothing recorded twice
        hop = Hop(work, work.contact(sender), None)
        if row is None:
            row, step = self._open(request, hop, dropped, now)
            rows[row.id] = row
            step = self._dialled(row, hop, step, request.text)
        else:
            step = self._next(row, hop, path.new_input(request.text, self.keyring.input_digest))
        return self._save(row, hop, step, path.taking(request.text, digest), now), row

    def _open(
        self, request: UssdRequest, hop: Hop, dropped: Dropped, now: datetime
    ) -> tuple[UssdSession, Step]:
        """A new session: offer to continue a dropped one, else the first screen."""
        contact = hop.contact
        hop.language = contact.language
        row = build(  # the path, state, screen and times are set by _save before it is written
            UssdSession,
            id=request.session_id,
            contact_id=contact.id,
            urn_digest=contact.urn_digest,
            service_code=request.service_code,
            path_digests="",
            hops=0,
            state={},
            screen="",
            screen_id="",
            run_id=None,
            ended=False,
            created_at=now,
            updated_at=now,
            expires_at=now,
        )
        run = hop.work.open_run(contact)
        if run is not None and (contact.id, run.id) in dropped:
            return row, Step(self.menus.resume_offer(hop, dropped[(contact.id, run.id)]))
        return row, Step(self.menus.first(hop))

    def _dialled(self, row: UssdSession, hop: Hop, step: Step, text_: str) -> Step:
        """A deep dial (`*384*123*1*2#`) may bring inputs with the session's first hop: each answers the
        screen before it, in order, as if typed, until one is refused (its error line shows) or the
        session ends. An empty `text` (the documented first hop) leaves the first screen as it is."""
        for given in text_.split("*") if text_ else ():
            if step.error or step.deck.end:
                break
            row.hops += 1
            step = self.menus.answer(hop, step.deck, step.page, given)
        return step

    def _next(self, row: UssdSession, hop: Hop, given: str | None) -> Step:
        deck, page = self._screen(row.state)
        hop.language = hop.contact.language or deck.language
        if given is None:  # the text does not extend the path: resynchronise, act on nothing
            return Step(deck, page, "invalid")
        row.hops += 1
        return self.menus.answer(hop, deck, page, given)

    def _screen(self, state: str | dict[str, Any]) -> tuple[Deck, int]:
        """The deck and page of a session's state: as read (its JSON text, parsed once per distinct text:
        every respondent passes through the same few screens, and parsing a 47-district deck cost more
        than the rest of reading its row), or as a hop of this batch set it (a dict)."""
        if isinstance(state, dict):
            return Deck.from_json(state["deck"]), int(state.get("page", 0))
        found = self._screens.get(state)
        if found is None:
            parsed = orjson.loads(state)
            found = (Deck.from_json(parsed["deck"]), int(parsed.get("page", 0)))
            if len(self._screens) >= SCREENS_KEPT:
                self._screens.clear()
            self._screens[state] = found
        return found

    def _save(self, row: UssdSession, hop: Hop, step: Step, path: Path, now: datetime) -> Reply:
        body = render(step.deck, step.page, self.budget, error=step.error)
        run = hop.work.open_run(hop.contact)
        assign(
            row,
            path_digests=path.stored(),
            state={"deck": step.deck.to_json(), "page": step.page},
            screen=body,
            screen_id=step.deck.screen_id,
            run_id=run.id if run is not None else None,
            ended=body.startswith("END"),
            updated_at=now,
            expires_at=now + self.keep_for,
        )
        return Reply(body, step.deck.screen_id)
