"""One text in, replies out: JOIN/STOP keywords, then registration and polls through the pure engine."""

from __future__ import annotations

import logging
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ureport.db import assign, build
from ureport.flows import engine
from ureport.flows.model import Flow
from ureport.models import Answer, Contact, ContactStatus, FlowRun, RunStatus
from ureport.polls import REGISTRATION, Catalog
from ureport.privacy import redact
from ureport.recipients import clear_undeliverable
from ureport.workspace import Workspace

log = logging.getLogger(__name__)

# A stranger (or a registered person with nothing open) gets at most one automatic reply a day:
# enough to tell them what to do, never a loop with another automatic responder.
COURTESY_INTERVAL = timedelta(hours=24)
_RUN_STATUS = {status: RunStatus(status.value) for status in engine.RunStatus}  # the engine's, stored
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
    """Applies one inbound text to one contact, in memory, against a Workspace; returns the replies
    as the engine's messages, for each channel to render (an SMS text, a USSD screen)."""

    def __init__(self, catalog: Catalog, *, region: str) -> None:
        self.catalog = catalog
        self.region = region
        self._keywords: tuple[str, Keywords] | None = None

    @property
    def keywords(self) -> Keywords:
        """The registration flow's keywords, indexed once per version of the flow (not per message)."""
        flow = self.catalog.registration
        if self._keywords is None or self._keywords[0] != flow.version:
            self._keywords = (flow.version, Keywords.of(flow))
        return self._keywords[1]

    def handle(self, work: Workspace, contact: Contact, text: str, *, channel: str) -> list[engine.MsgOut]:
        contact.last_seen_at = work.now
        clear_undeliverable(contact)  # they wrote: their phone works
        work.touch(contact)
        keyword = self.keywords.classify(text)
        if keyword is not None and keyword[0] == "stop":
            return self._stop(work, contact, keyword[1])
        if keyword is not None:
            return self._join(work, contact, keyword[1], channel)
        if contact.status == ContactStatus.STOPPED:
            return []  # a person who left gets nothing until they JOIN again
        if contact.status == ContactStatus.STRANGER:
            return self._courtesy(work, contact, "help", None)
        run = work.open_run(contact)
        if run is None and work.closed_notice_due(contact):  # a late answer to a poll that has closed
            return [self.message("poll_closed", contact.language)]
        if run is not None:
            replies = self._resume(work, contact, run, text, channel)
            if replies is not None:
                return replies
        if contact.status == ContactStatus.REGISTERING:
            return self._start(work, contact, REGISTRATION, channel, language=contact.language)
        active = self.catalog.active
        if active is not None and not work.has_run(contact, self.catalog.poll_ids[active]):
            return self._start(work, contact, active, channel, language=contact.language)
        return self._courtesy(work, contact, "nothing_open", contact.language)

    def join(self, work: Workspace, contact: Contact, language: str, channel: str) -> list[engine.MsgOut]:
        """What the JOIN keyword in `language` does, for a channel that offers it as a menu (USSD)."""
        contact.last_seen_at = work.now
        clear_undeliverable(contact)
        work.touch(contact)
        return self._join(work, contact, language, channel)

    def stop(self, work: Workspace, contact: Contact) -> list[engine.MsgOut]:
        """What the STOP keyword does, for a channel that offers it as a menu (USSD)."""
        work.touch(contact)
        return self._stop(work, contact, contact.language or self.catalog.registration.default_language)

    def waiting(self, work: Workspace, contact: Contact) -> list[engine.MsgOut]:
        """The open run's waiting question again; nothing when no live run waits."""
        run = work.open_run(contact)
        flow = self.catalog.flows.get(str(run.state.get("flow_slug", ""))) if run else None
        if run is None or flow is None or run.expires_at <= work.now:
            return []
        try:
            return [engine.ask_again(flow, engine.Session.from_json(run.state))]
        except engine.EngineError:  # a flow edited under the run: the next text restarts it as over SMS
            return []

    def open_poll(self, work: Workspace, contact: Contact, slug: str, channel: str) -> list[engine.MsgOut]:
        """The poll's waiting question when a run of it is open, else a new run of it."""
        run = work.open_run(contact)
        if run is not None and run.state.get("flow_slug") == slug:
            replies = self.waiting(work, contact)
            if replies:
                return replies
        work.close_open_run(contact, RunStatus.INTERRUPTED)
        return self._start(work, contact, slug, channel, language=contact.language)

    def restart(self, work: Workspace, contact: Contact, channel: str) -> list[engine.MsgOut]:
        """The open run from its start, in the same run: answers given again replace the earlier ones."""
        run = work.open_run(contact)
        flow = self.catalog.flows.get(str(run.state.get("flow_slug", ""))) if run else None
        if run is None or flow is None:
            return []
        language = contact.language or str(run.state.get("language") or "") or None
        sprint = engine.start(flow, self._view(contact), env=self._env(work.now), language=language)
        return self._apply(work, contact, run, flow, sprint, channel)

    def set_detail(self, work: Workspace, contact: Contact, name: str, value: str) -> None:
        """Change one contact field from a menu (language, district), as a flow's answer would."""
        self._set_field(contact, name, value)
        work.touch(contact)

    def message(self, key: str, language: str | None) -> engine.MsgOut:
        """A system message from the registration flow, in the person's language when it has one."""
        flow = self.catalog.registration
        texts = flow.messages[key]
        for lang in (language, flow.default_language):
            if lang and texts.get(lang):
                return engine.MsgOut(text=texts[lang], prompt=None)
        return engine.MsgOut(text=next(iter(texts.values())), prompt=None)

    def _stop(self, work: Workspace, contact: Contact, language: str) -> list[engine.MsgOut]:
        was_in = contact.status in (ContactStatus.REGISTERING, ContactStatus.ACTIVE)
        work.close_open_run(contact, RunStatus.INTERRUPTED)
        contact.status = ContactStatus.STOPPED
        contact.stopped_at = work.now
        return [self.message("stop_confirm", contact.language or language)] if was_in else []

    def _join(self, work: Workspace, contact: Contact, language: str, channel: str) -> list[engine.MsgOut]:
        if contact.status == ContactStatus.ACTIVE:
            return [self.message("already_joined", contact.language or language)]
        work.close_open_run(contact, RunStatus.INTERRUPTED)
        contact.status = ContactStatus.REGISTERING
        contact.stopped_at = None
        return self._start(work, contact, REGISTRATION, channel, language=language)

    def _courtesy(
        self, work: Workspace, contact: Contact, key: str, language: str | None
    ) -> list[engine.MsgOut]:
        if contact.help_sent_at is not None and work.now - contact.help_sent_at < COURTESY_INTERVAL:
            return []
        contact.help_sent_at = work.now
        return [self.message(key, language)]

    def _start(
        self, work: Workspace, contact: Contact, slug: str, channel: str, *, language: str | None
    ) -> list[engine.MsgOut]:
        flow = self.catalog.flows[slug]
        sprint = engine.start(flow, self._view(contact), env=self._env(work.now), language=language)
        run = build(
            FlowRun,
            id=uuid.uuid4(),
            contact_id=contact.id,
            poll_id=self.catalog.poll_ids[slug],
            channel=channel,
            status=RunStatus.ACTIVE,
            state={},
            created_at=work.now,
            updated_at=work.now,
            expires_at=sprint.session.expires_at,
            exited_at=None,
        )
        work.add_run(run)
        return self._apply(work, contact, run, flow, sprint, channel)

    def _resume(
        self, work: Workspace, contact: Contact, run: FlowRun, text: str, channel: str
    ) -> list[engine.MsgOut] | None:
        """The run's replies, or None when the run had expired (the text is then handled afresh)."""
        flow = self.catalog.flows.get(str(run.state.get("flow_slug", "")))
        if flow is None:
            work.close_open_run(contact, RunStatus.INTERRUPTED)
            return None
        session = engine.Session.from_json(run.state)
        sprint = engine.resume(flow, session, self._view(contact), text, env=self._env(work.now))
        replies = self._apply(work, contact, run, flow, sprint, channel)
        return None if sprint.session.status == engine.RunStatus.EXPIRED else replies

    def _apply(
        self, work: Workspace, contact: Contact, run: FlowRun, flow: Flow, sprint: engine.Sprint, channel: str
    ) -> list[engine.MsgOut]:
        replies: list[engine.MsgOut] = []
        start_next: list[str | None] = []
        answered = set(run.state.get("results") or ())  # before this sprint
        for event in sprint.events:
            if isinstance(event, engine.MsgOut):
                replies.append(event)
                if event.prompt is not None and not event.prompt.retry and flow.kind != REGISTRATION:
                    self._asked(work, contact, run, flow, event.prompt.node_id, answered, channel)
            elif isinstance(event, engine.ResultSaved) and flow.kind != REGISTRATION:
                work.save_answer(self._answer(contact, run, event, channel, work.now))
            elif isinstance(event, engine.FieldChanged):
                self._set_field(contact, event.field, event.value)
            elif isinstance(event, engine.StartPoll):
                start_next.append(event.slug)
            elif isinstance(event, engine.FlowErrorEvent):
                log.warning("flow %s: %s", flow.slug, event.message)
        self._finish_run(contact, run, flow, sprint, work.now)
        work.update_run(run)
        for slug in start_next:
            replies += self._start_next(work, contact, slug, channel)
        return replies

    def _asked(
        self,
        work: Workspace,
        contact: Contact,
        run: FlowRun,
        flow: Flow,
        node_id: str,
        answered: set[str],
        channel: str,
    ) -> None:
        """Count a question as asked once per run (response rates), not again when a loop re-asks it."""
        key = next((q.key for q in flow.questions if q.node_id == node_id), None)
        if key is not None and key not in answered:
            poll_id: int = run.poll_id  # type: ignore[attr-defined]
            work.count_asked(poll_id, key, self._snapshot(contact, channel, work.now))

    def _finish_run(
        self, contact: Contact, run: FlowRun, flow: Flow, sprint: engine.Sprint, now: datetime
    ) -> None:
        state = sprint.session.to_json()
        results = state.get("results")
        if isinstance(results, dict):  # free text may carry a number or an address: never store it raw
            stored = run.state.get("results") or {}  # redacted when they were stored: left as they are
            state["results"] = {
                k: v if stored.get(k) == v else redact(str(v), self.region) for k, v in results.items()
            }
        status = _RUN_STATUS[sprint.session.status]
        assign(run, state=state, expires_at=sprint.session.expires_at, status=status)
        if status != RunStatus.ACTIVE:
            run.exited_at = now
        if flow.kind == REGISTRATION and run.status == RunStatus.COMPLETED:
            contact.status = ContactStatus.ACTIVE
            contact.registered_at = now

    def _start_next(
        self, work: Workspace, contact: Contact, slug: str | None, channel: str
    ) -> list[engine.MsgOut]:
        slug = slug or self.catalog.active
        if slug is None or slug not in self.catalog.flows or contact.status != ContactStatus.ACTIVE:
            return []
        if work.has_run(contact, self.catalog.poll_ids[slug]):
            return []
        return self._start(work, contact, slug, channel, language=contact.language)

    def _snapshot(self, contact: Contact, channel: str, now: datetime) -> dict[str, Any]:
        """The respondent's demographics as they are now: answers keep them (history never re-buckets)."""
        return {
            "age": now.year - contact.birth_year if contact.birth_year else None,
            "sex": contact.sex,
            "district_id": contact.district_id,  # type: ignore[attr-defined]
            "channel": channel,
            "language": contact.language,
        }

    def _answer(
        self, contact: Contact, run: FlowRun, event: engine.ResultSaved, channel: str, now: datetime
    ) -> Answer:
        return build(
            Answer,
            run_id=run.id,
            contact_ref=contact.id,
            poll_id=run.poll_id,  # type: ignore[attr-defined]
            question_key=event.key,
            category=event.category,
            value=redact(event.value, self.region),
            number=event.number,
            created_at=now,
            region_id=None,  # the workspace fills it in from the district
            **self._snapshot(contact, channel, now),
        )

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
