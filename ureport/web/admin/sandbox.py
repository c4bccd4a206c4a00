"""The admin's phone simulator: a poll played over SMS or USSD against the real engine and the real
channel renderers, with nobody's data touched and no gateway: the run lives in the page's form.

The state travels in a hidden field between requests (any web worker can take the next one); an admin
who edits it only confuses their own simulation, and a session the engine cannot read starts over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ureport.channels.ussd.menus import Hop, Menus, Step
from ureport.channels.ussd.screens import Deck, Option, layout, render
from ureport.clock import utcnow
from ureport.flows import engine
from ureport.flows.model import Flow
from ureport.flows.render import render_sms
from ureport.polls import Catalog
from ureport.web.admin.previews import menus, sandbox_hop

CHANNELS = ("sms", "ussd")


@dataclass
class SimState:
    """One simulated phone: the engine's session, the fields the flow set, the screen on show."""

    slug: str
    channel: str
    language: str
    session: dict[str, Any] | None = None  # None once the run has ended
    fields: dict[str, Any] = field(default_factory=dict)
    deck: dict[str, Any] | None = None
    page: int = 0
    lines: list[tuple[str, str]] = field(default_factory=list)  # ("sent"|"received", text)

    def dump(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def load(cls, raw: str) -> SimState | None:
        """The state a page sent back, or None when it is not one this module wrote."""
        try:
            data = json.loads(raw)
            state = cls(**data)
            state.lines = [(str(a), str(b)) for a, b in state.lines]
            if state.channel not in CHANNELS or not isinstance(state.fields, dict) or state.page < 0:
                return None
            if state.deck is not None:
                Deck.from_json(state.deck)
            if state.session is not None:
                engine.Session.from_json(state.session)
        except (TypeError, ValueError, KeyError, AttributeError, engine.EngineError):
            return None
        return state

    @property
    def ended(self) -> bool:
        return self.session is None and self.deck is None


class Sandbox:
    """Plays one flow for one simulated person; `resume` is the only way a reply reaches the engine."""

    def __init__(self, flow: Flow, catalog: Catalog, state: SimState, budget: int) -> None:
        self.flow, self.catalog, self.state, self.budget = flow, catalog, state, budget

    def _contact(self) -> engine.ContactView:
        language = self.state.fields.get("language") or self.state.language
        return engine.ContactView(language=language, fields=self.state.fields)

    def _apply(self, sprint: engine.Sprint) -> list[engine.MsgOut]:
        replies: list[engine.MsgOut] = []
        for event in sprint.events:
            if isinstance(event, engine.MsgOut):
                replies.append(event)
            elif isinstance(event, engine.FieldChanged):
                self.state.fields[event.field] = event.value
        active = sprint.session.status == engine.RunStatus.ACTIVE
        self.state.session = sprint.session.to_json() if active else None
        return replies

    def start(self) -> list[engine.MsgOut]:
        env = engine.Env(now=utcnow(), locations=self.catalog.locations)
        return self._apply(engine.start(self.flow, self._contact(), env=env, language=self.state.language))

    def resume(self, text: str) -> list[engine.MsgOut]:
        if self.state.session is None:
            return []
        env = engine.Env(now=utcnow(), locations=self.catalog.locations)
        try:
            session = engine.Session.from_json(self.state.session)
            return self._apply(engine.resume(self.flow, session, self._contact(), text, env=env))
        except engine.EngineError:  # the poll was replaced since: start it again, as a new run would
            return self.start()


class SandboxMenus(Menus):
    """The USSD menus with their navigation (pages, 98/0, errors) as they are; only an answer to a poll
    goes to the sandbox's engine instead of a person's run."""

    def __init__(self, sandbox: Sandbox) -> None:
        base = menus(sandbox.catalog, sandbox.budget)
        super().__init__(base.conversation, sandbox.catalog, budget=sandbox.budget)
        self.sandbox = sandbox

    def poll_closed(self, hop: Hop) -> bool:
        return False  # a simulated run is nobody's: it never closes with its poll

    def choose(self, hop: Hop, deck: Deck, option: Option) -> Deck:
        return self.replies(hop, self.sandbox.resume(option.value))

    def typed(self, hop: Hop, deck: Deck, given: str) -> Step:
        if deck.mode == "district":
            found = self.districts(given)
            if found:
                return Step(self.district_menu(hop, deck.mode, found, question=deck.question))
        return Step(self.replies(hop, self.sandbox.resume(given)))


def _hear(sandbox: Sandbox, replies: list[engine.MsgOut]) -> None:
    state = sandbox.state
    if state.channel == "sms":
        state.lines += [("received", render_sms(r)) for r in replies]
        return
    deck = SandboxMenus(sandbox).replies(sandbox_hop(state.language), replies)
    _show(sandbox, Step(deck))


def _show(sandbox: Sandbox, step: Step) -> None:
    state, budget = sandbox.state, sandbox.budget
    state.lines.append(("received", render(step.deck, step.page, budget, error=step.error)))
    last = len(layout(step.deck, budget)) - 1
    finished = step.deck.end and step.page >= last
    state.deck, state.page = (None, 0) if finished else (step.deck.to_json(), step.page)


def begin(
    flow: Flow, catalog: Catalog, state: SimState, budget: int, profile: dict[str, Any] | None = None
) -> SimState:
    """A fresh run of the flow for a person with these fields (sex, birth year, district code...):
    its first messages (SMS) or first screen (USSD)."""
    sandbox = Sandbox(flow, catalog, state, budget)
    state.session, state.deck, state.page, state.lines = None, None, 0, []
    state.fields = dict(profile or {})
    _hear(sandbox, sandbox.start())
    return state


def reply(flow: Flow, catalog: Catalog, state: SimState, text: str, budget: int) -> SimState:
    """The simulated person answers: over SMS straight to the engine, over USSD through the menus."""
    sandbox = Sandbox(flow, catalog, state, budget)
    state.lines.append(("sent", text))
    if state.channel == "sms":
        _hear(sandbox, sandbox.resume(text))
    elif state.deck is not None:
        deck = Deck.from_json(state.deck)
        step = SandboxMenus(sandbox).answer(sandbox_hop(state.language), deck, state.page, text)
        _show(sandbox, step)
    return state
