"""One text in, replies out: JOIN/STOP keywords, then registration and polls through the pure engine."""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from ureport.flows import engine
from ureport.flows.model import Flow
from ureport.flows.render import render_sms
from ureport.models import Answer, Contact, ContactStatus, FlowRun, RunStatus
from ureport.polls import REGISTRATION, Catalog
from ureport.privacy import redact

log = logging.getLogger(__name__)

# A stranger (or a registered person with nothing open) gets at most one automatic reply a day:
# enough to tell them what to do, never a loop with another automatic responder.
COURTESY_INTERVAL = timedelta(hours=24)
_PUNCTUATION = string.punctuation + "¡¿«»“”‘’"


def normalise_keyword(text: str) -> str:
    """Keywords are case- and space-insensitive: ' Join ', 'JOIN!' and 'j oin' all read 'join'."""
    return "".join(text.split()).strip(_PUNCTUATION).casefold()


@dataclass(frozen=True)
class Keywords:
    """Keyword -> the language it is written in, from the registration flow's `keywords`."""

    join: dict[str, str]
    stop: dict[str, str]

    @classmethod
    def of(cls, flow: Flow) -> Keywords:
        def index(kind: str) -> dict[str, str]:
            words = flow.keywords.get(kind, {})
            return {normalise_keyword(word): lang for lang, items in words.items() for word in items}

        return cls(join=index("join"), stop=index("stop"))

    def classify(self, text: str) -> tuple[str, str] | None:
        """('stop'|'join', language) when the text is a keyword; STOP must be the whole message."""
        whole = normalise_keyword(text)
        if whole in self.stop:
            return "stop", self.stop[whole]
        words = text.split()
        first = normalise_keyword(words[0]) if words else ""
        for candidate in (whole, first):
            if candidate in self.join:
                return "join", self.join[candidate]
        return None


class Conversation:
    """Applies one inbound text to one contact inside the caller's transaction; returns the replies."""

    def __init__(self, catalog: Catalog, *, region: str) -> None:
        self.catalog = catalog
        self.region = region

    async def handle(self, contact: Contact, text: str, *, channel: str, now: datetime) -> list[str]:
        contact.last_seen_at = now
        keyword = Keywords.of(self.catalog.registration).classify(text)
        if keyword is not None and keyword[0] == "stop":
            return await self._stop(contact, keyword[1], now)
        if keyword is not None:
            return await self._join(contact, keyword[1], channel, now)
        if contact.status == ContactStatus.STOPPED:
            await contact.save()
            return []  # a person who left gets nothing until they JOIN again
        if contact.status == ContactStatus.STRANGER:
            return await self._courtesy(contact, "help", None, now)
        run = await open_run(contact)
        if run is not None:
            replies = await self._resume(contact, run, text, channel, now)
            if replies is not None:
                return replies
        if contact.status == ContactStatus.REGISTERING:
            return await self._start(contact, REGISTRATION, channel, now, language=contact.language)
        active = self.catalog.active
        if active is not None and not await has_run(contact, self.catalog.poll_ids[active]):
            return await self._start(contact, active, channel, now, language=contact.language)
        return await self._courtesy(contact, "nothing_open", contact.language, now)

    def message(self, key: str, language: str | None) -> str:
        """A system message from the registration flow, in the person's language when it has one."""
        flow = self.catalog.registration
        texts = flow.messages[key]
        for lang in (language, flow.default_language):
            if lang and texts.get(lang):
                return texts[lang]
        return next(iter(texts.values()))

    async def _stop(self, contact: Contact, language: str, now: datetime) -> list[str]:
        was_in = contact.status in (ContactStatus.REGISTERING, ContactStatus.ACTIVE)
        await FlowRun.filter(contact=contact, status=RunStatus.ACTIVE).update(
            status=RunStatus.INTERRUPTED, exited_at=now
        )
        contact.status = ContactStatus.STOPPED
        contact.stopped_at = now
        await contact.save()
        return [self.message("stop_confirm", contact.language or language)] if was_in else []

    async def _join(self, contact: Contact, language: str, channel: str, now: datetime) -> list[str]:
        if contact.status == ContactStatus.ACTIVE:
            await contact.save()
            return [self.message("already_joined", contact.language or language)]
        await FlowRun.filter(contact=contact, status=RunStatus.ACTIVE).update(
            status=RunStatus.INTERRUPTED, exited_at=now
        )
        contact.status = ContactStatus.REGISTERING
        contact.stopped_at = None
        return await self._start(contact, REGISTRATION, channel, now, language=language)

    async def _courtesy(self, contact: Contact, key: str, language: str | None, now: datetime) -> list[str]:
        recent = contact.help_sent_at is not None and now - contact.help_sent_at < COURTESY_INTERVAL
        if not recent:
            contact.help_sent_at = now
        await contact.save()
        return [] if recent else [self.message(key, language)]

    async def _start(
        self, contact: Contact, slug: str, channel: str, now: datetime, *, language: str | None
    ) -> list[str]:
        flow = self.catalog.flows[slug]
        sprint = engine.start(flow, self._view(contact), env=self._env(now), language=language)
        run = FlowRun(
            contact=contact,
            poll_id=self.catalog.poll_ids[slug],
            channel=channel,
            state={},
            expires_at=sprint.session.expires_at,
        )
        return await self._apply(contact, run, flow, sprint, channel, now)

    async def _resume(
        self, contact: Contact, run: FlowRun, text: str, channel: str, now: datetime
    ) -> list[str] | None:
        """The run's replies, or None when the run had expired (the text is then handled afresh)."""
        flow = self.catalog.flows.get(run.state.get("flow_slug", ""))
        if flow is None:
            run.status, run.exited_at = RunStatus.INTERRUPTED, now
            await run.save()
            return None
        session = engine.Session.from_json(run.state)
        sprint = engine.resume(flow, session, self._view(contact), text, env=self._env(now))
        replies = await self._apply(contact, run, flow, sprint, channel, now)
        return None if sprint.session.status == engine.RunStatus.EXPIRED else replies

    async def _apply(
        self, contact: Contact, run: FlowRun, flow: Flow, sprint: engine.Sprint, channel: str, now: datetime
    ) -> list[str]:
        replies: list[str] = []
        start_next: list[str | None] = []
        for event in sprint.events:
            if isinstance(event, engine.MsgOut):
                replies.append(render_sms(event))
            elif isinstance(event, engine.ResultSaved) and flow.kind != REGISTRATION:
                await self._save_answer(contact, run, event, channel, now)
            elif isinstance(event, engine.FieldChanged):
                self._set_field(contact, event.field, event.value)
            elif isinstance(event, engine.StartPoll):
                start_next.append(event.slug)
            elif isinstance(event, engine.FlowErrorEvent):
                log.warning("flow %s: %s", flow.slug, event.message)
        self._finish_run(contact, run, flow, sprint, now)
        await contact.save()
        await run.save()
        for slug in start_next:
            replies += await self._start_next(contact, slug, channel, now)
        return replies

    def _finish_run(
        self, contact: Contact, run: FlowRun, flow: Flow, sprint: engine.Sprint, now: datetime
    ) -> None:
        state = sprint.session.to_json()
        results = state.get("results")
        if isinstance(results, dict):  # free text may carry a number or an address: never store it raw
            state["results"] = {k: redact(str(v), self.region) for k, v in results.items()}
        run.state = state
        run.expires_at = sprint.session.expires_at
        run.status = RunStatus(sprint.session.status.value)
        if run.status != RunStatus.ACTIVE:
            run.exited_at = now
        if flow.kind == REGISTRATION and run.status == RunStatus.COMPLETED:
            contact.status = ContactStatus.ACTIVE
            contact.registered_at = now

    async def _start_next(self, contact: Contact, slug: str | None, channel: str, now: datetime) -> list[str]:
        slug = slug or self.catalog.active
        if slug is None or slug not in self.catalog.flows or contact.status != ContactStatus.ACTIVE:
            return []
        if await has_run(contact, self.catalog.poll_ids[slug]):
            return []
        return await self._start(contact, slug, channel, now, language=contact.language)

    async def _save_answer(
        self, contact: Contact, run: FlowRun, event: engine.ResultSaved, channel: str, now: datetime
    ) -> None:
        values = {
            "contact_ref": contact.id,
            "poll_id": run.poll_id,  # type: ignore[attr-defined]
            "category": event.category,
            "value": redact(event.value, self.region),
            "number": event.number,
            "channel": channel,
            "age": now.year - contact.birth_year if contact.birth_year else None,
            "sex": contact.sex,
            "district_id": contact.district_id,  # type: ignore[attr-defined]
            "language": contact.language,
            "created_at": now,
        }
        if run._saved_in_db:
            await Answer.update_or_create(values, run=run, question_key=event.key)
        else:  # the run is new: save it first so the answer can point at it
            await run.save()
            await Answer.create(run=run, question_key=event.key, **values)

    def _set_field(self, contact: Contact, name: str, value: str | int | None) -> None:
        if name == "district":
            contact.district_id = self.catalog.location_ids.get(str(value)) if value else None
        elif name == "birth_year":
            contact.birth_year = int(value) if value is not None else None
        elif name in ("sex", "language"):
            setattr(contact, name, str(value) if value is not None else None)
        else:
            contact.fields_json = {**(contact.fields_json or {}), name: value}

    def _view(self, contact: Contact) -> engine.ContactView:
        district_id: int | None = contact.district_id  # type: ignore[attr-defined]
        return engine.ContactView(
            language=contact.language,
            fields={
                **(contact.fields_json or {}),
                "birth_year": contact.birth_year,
                "sex": contact.sex,
                "district": self.catalog.location_codes.get(district_id) if district_id else None,
                "language": contact.language,
            },
        )

    def _env(self, now: datetime) -> engine.Env:
        return engine.Env(now=now, locations=self.catalog.locations)


async def open_run(contact: Contact) -> FlowRun | None:
    return await FlowRun.filter(contact=contact, status=RunStatus.ACTIVE).order_by("-created_at").first()


async def has_run(contact: Contact, poll_id: int) -> bool:
    return await FlowRun.exists(contact=contact, poll_id=poll_id)
