"""What each USSD answer means: the main menu, details, opt-out, resume, and polls through Conversation."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ureport.channels.ussd.screens import BACK, MORE, Deck, Option, layout, prompt_page
from ureport.channels.ussd.texts import LANGUAGE_NAMES, MAIN_TITLE, text
from ureport.conversation import Conversation
from ureport.flows import engine
from ureport.flows.model import QuestionType
from ureport.locations import Place
from ureport.models import Contact, ContactStatus
from ureport.polls import Catalog
from ureport.workspace import Workspace

CHANNEL = "ussd"
# Menus that stay valid whatever happened since the drop; a poll's question must still be the one waiting.
RESTORABLE = frozenset({"main", "details", "set_language", "set_district", "stop"})


@dataclass
class Hop:
    """One hop's world: the unit of work, the person, and the language menus speak to them in."""

    work: Workspace
    contact: Contact
    language: str | None


@dataclass(frozen=True)
class Step:
    """The screen to show next: a deck, its page, and an error line (the same screen again)."""

    deck: Deck
    page: int = 0
    error: str | None = None


class Menus:
    """Turns an answer on a deck into the next deck; poll logic stays in Conversation."""

    def __init__(self, conversation: Conversation, catalog: Catalog, *, budget: int) -> None:
        self.conversation = conversation
        self.catalog = catalog
        self.budget = budget

    def first(self, hop: Hop) -> Deck:
        """The first screen of a session: join for newcomers, the open question, or the main menu."""
        contact = hop.contact
        if contact.status in (ContactStatus.STRANGER, ContactStatus.STOPPED):
            return self.join_menu(hop)
        if contact.status == ContactStatus.REGISTERING:
            replies = self.conversation.waiting(hop.work, contact)
            language = contact.language or self.catalog.registration.default_language
            return self.replies(hop, replies or self.conversation.join(hop.work, contact, language, CHANNEL))
        if contact.id in hop.work.closed_runs:
            return self.closed(hop)
        return self.main_menu(hop)

    def answer(self, hop: Hop, deck: Deck, page: int, given: str) -> Step:
        """The next step after `given` on page `page` of `deck`."""
        answer = given.strip()
        if deck.mode in ("flow", "district") and self.poll_closed(hop):  # paging on included
            return Step(self.closed(hop))
        last = len(layout(deck, self.budget)) - 1
        if answer == MORE and page < last:
            return Step(deck, page + 1)
        if answer == BACK and page > 0 and (page < last or (deck.options and not deck.free)):
            return Step(deck, page - 1)
        if deck.end or page < prompt_page(deck, self.budget):  # answers count once the question shows
            return Step(deck, page, "invalid")
        if not answer:
            return Step(deck, page, "empty")
        if answer.isdigit() and deck.options:
            option = deck.option(int(answer))
            if option is None:
                return Step(deck, page, "invalid")
            if deck.mode == "resume" and option.value == "continue":
                return self.resumed(hop, deck)
            return Step(self.choose(hop, deck, option))
        if not deck.free:
            return Step(deck, page, "invalid")
        return self.typed(hop, deck, given)

    def choose(self, hop: Hop, deck: Deck, option: Option) -> Deck:
        work, contact = hop.work, hop.contact
        mode, value = deck.mode, option.value
        if mode in ("flow", "district"):
            return self.replies(hop, self.conversation.handle(work, contact, value, channel=CHANNEL))
        if mode == "join":
            hop.language = value
            return self.replies(hop, self.conversation.join(work, contact, value, CHANNEL))
        if mode == "main":
            return self.main_choice(hop, value)
        if mode == "details":
            return self.language_menu(hop) if value == "language" else self.district_menu(hop, "set_district")
        if mode in ("set_language", "set_district"):
            self.conversation.set_detail(work, contact, mode.removeprefix("set_"), value)
            hop.language = contact.language
            return self.main_menu(hop, notes=(text("saved", hop.language),))
        if mode == "stop":
            return self.stopped(hop) if value == "yes" else self.main_menu(hop)
        if work.open_run(contact) is None:  # "resume": start again, but the run ended since the offer
            return self.first(hop)
        return self.replies(hop, self.conversation.restart(work, contact, CHANNEL))

    def typed(self, hop: Hop, deck: Deck, given: str) -> Step:
        """Typed input: letters narrow a district list, anything else goes to the poll as over SMS."""
        if deck.mode in ("district", "set_district"):
            found = self.districts(given)
            if found:
                return Step(self.district_menu(hop, deck.mode, found, question=deck.question))
            if deck.mode == "set_district":
                return Step(deck, 0, "invalid")
        replies = self.conversation.handle(hop.work, hop.contact, given, channel=CHANNEL)
        return Step(self.replies(hop, replies))

    def replies(self, hop: Hop, replies: list[engine.MsgOut]) -> Deck:
        """The engine's messages as one deck: texts, then the question (menu or prompt), or an END."""
        language = hop.contact.language or hop.language
        hop.language = language
        prompt = replies[-1].prompt if replies else None
        texts = tuple(r.text for r in (replies[:-1] if prompt else replies))
        if prompt is None:
            if hop.contact.status == ContactStatus.ACTIVE and (
                not texts or hop.contact.registered_at == hop.work.now
            ):  # just registered with no poll to start: the menu, not an END that hangs up on them
                return self.main_menu(hop, notes=texts)
            return Deck(mode="end", screen_id="end", texts=texts, end=True, language=language)
        question = replies[-1].text
        if prompt.type is QuestionType.LOCATION:
            deck = self.district_menu(hop, "district", question=question)
            return replace(deck, texts=texts, screen_id=prompt.node_id)
        options = tuple(Option(n, label, str(n)) for n, label in enumerate(prompt.choices, 1))
        return Deck("flow", prompt.node_id, texts, question, options, free=True, language=language)

    def main_menu(self, hop: Hop, *, notes: tuple[str, ...] = ()) -> Deck:
        items: list[tuple[str, str]] = []
        active = self.catalog.active
        if active is not None:
            run = hop.work.open_run(hop.contact)
            open_here = run is not None and run.state.get("flow_slug") == active
            if open_here or not hop.work.has_run(hop.contact, self.catalog.poll_ids[active]):
                flow = self.catalog.flows[active]
                title = flow.text(flow.title, hop.language or flow.default_language)
                items.append((title, f"poll:{active}"))
        items += [(text("details", hop.language), "details"), (text("stop", hop.language), "stop")]
        options = tuple(Option(n, label, value) for n, (label, value) in enumerate(items, 1))
        return Deck("main", "menu:main", notes, MAIN_TITLE, options, language=hop.language)

    def main_choice(self, hop: Hop, value: str) -> Deck:
        lang = hop.language
        if value.startswith("poll:"):
            slug = value.removeprefix("poll:")
            if slug != self.catalog.active:  # closed since the menu listed it
                return self.closed(hop)
            return self.replies(hop, self.conversation.open_poll(hop.work, hop.contact, slug, CHANNEL))
        if value == "details":
            items = (
                Option(1, text("language", lang), "language"),
                Option(2, text("district", lang), "district"),
            )
            return Deck("details", "menu:details", (), text("details", lang), items, language=lang)
        items = (Option(1, text("yes_stop", lang), "yes"), Option(2, text("no_back", lang), "no"))
        return Deck("stop", "menu:stop", (), text("stop_confirm", lang), items, language=lang)

    def poll_closed(self, hop: Hop) -> bool:
        """The run this session was answering closed with its poll (the person was not told yet)."""
        return hop.work.open_run(hop.contact) is None and hop.contact.id in hop.work.closed_runs

    def closed(self, hop: Hop) -> Deck:
        """A poll closed while this person had it open: its closing notice, once whatever the channel
        (as over SMS), above the main menu, which no longer lists it. No question of it is asked again."""
        hop.work.closed_notice_due(hop.contact)  # told: the runs become expired
        notice = self.conversation.message("poll_closed", hop.contact.language or hop.language).text
        return self.main_menu(hop, notes=(notice,))

    def stopped(self, hop: Hop) -> Deck:
        replies = self.conversation.stop(hop.work, hop.contact)
        texts = tuple(r.text for r in replies)
        return Deck("end", "end:stopped", texts, end=True, language=hop.language)

    def join_menu(self, hop: Hop) -> Deck:
        languages = self.catalog.registration.languages
        options = tuple(Option(n, LANGUAGE_NAMES.get(c, c), c) for n, c in enumerate(languages, 1))
        return Deck("join", "menu:join", (), text("welcome", hop.language), options, language=hop.language)

    def language_menu(self, hop: Hop) -> Deck:
        languages = self.catalog.registration.languages
        options = tuple(Option(n, LANGUAGE_NAMES.get(c, c), c) for n, c in enumerate(languages, 1))
        lang = hop.language
        return Deck("set_language", "menu:language", (), text("pick_language", lang), options, language=lang)

    def districts(self, given: str) -> list[Place]:
        return self.catalog.locations.starting_with(given)

    def district_menu(
        self, hop: Hop, mode: str, places: list[Place] | None = None, *, question: str | None = None
    ) -> Deck:
        """Districts numbered as people know them (Nairobi is 47) when the list is whole, else 1, 2, ..."""
        whole = places is None
        places = self.catalog.locations.leaves() if places is None else places
        numbered = (
            whole and all(p.number for p in places) and max((p.number or 0 for p in places), default=0) < 98
        )
        options = tuple(
            Option(p.number if numbered and p.number else n, p.name, self._district_value(p, mode))
            for n, p in enumerate(places, 1)
        )
        lang = hop.language
        question = question or text("pick_district", lang)
        return Deck(mode, f"menu:{mode}", (), question, options, free=True, language=lang)

    def _district_value(self, place: Place, mode: str) -> str:
        if mode == "set_district":
            return place.code
        return str(place.number) if place.number else place.name

    def resumed(self, hop: Hop, offer: Deck) -> Step:
        """'Continue where you left off': the dropped session's screen at its page, when it still asks
        what the run waits for (an SMS may have moved the run on since); else the open question."""
        replies = self.conversation.waiting(hop.work, hop.contact)
        saved = json.loads(offer.extra["dropped"]) if "dropped" in offer.extra else None
        if saved is not None:
            deck = Deck.from_json(saved["deck"])
            waiting = replies[-1].prompt.node_id if replies and replies[-1].prompt else None
            if deck.mode == "main":  # rebuilt: a poll it listed may have closed since
                return Step(self.first(hop))
            if deck.mode in RESTORABLE or (deck.mode in ("flow", "district") and deck.screen_id == waiting):
                return Step(deck, int(saved.get("page", 0)))
        return Step(self.replies(hop, replies) if replies else self.first(hop))

    def resume_offer(self, hop: Hop, dropped: dict[str, Any] | None = None) -> Deck:
        """The offer, carrying the dropped session's state so that continuing restores its screen."""
        lang = hop.language
        items = (Option(1, text("continue", lang), "continue"), Option(2, text("restart", lang), "restart"))
        extra = {"dropped": json.dumps(dropped)} if dropped else {}
        return Deck("resume", "menu:resume", (), text("resume", lang), items, language=lang, extra=extra)
