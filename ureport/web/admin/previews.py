"""How a poll reaches a phone: each question as the engine asks it, rendered as SMS texts (parts and
encoding) and as USSD screens (pages within the screen budget), through the channels' own renderers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from ureport.channels.segments import sms_segments
from ureport.channels.ussd.menus import Hop, Menus
from ureport.channels.ussd.screens import Deck, layout, render
from ureport.conversation import Conversation
from ureport.flows import engine
from ureport.flows.model import Ask, Flow, SendMsgAction
from ureport.flows.render import render_sms
from ureport.models import Contact, ContactStatus
from ureport.polls import Catalog
from ureport.workspace import Workspace

# A fixed moment: previews depend on no clock (the engine wants an aware time for its session).
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Sms:
    text: str
    encoding: str
    parts: int
    units: int


@dataclass(frozen=True, slots=True)
class QuestionPreview:
    node_id: str
    key: str
    question: str  # as asked in this language, for the preview's heading
    sms: tuple[Sms, ...]  # the messages before the question (in the same sprint), then the question
    retry: Sms  # what a wrong answer gets back: the hint, then the question again
    screens: tuple[str, ...]  # USSD response bodies, one per page, CON/END and navigation included


def sms(text: str) -> Sms:
    segments = sms_segments(text)
    return Sms(text, segments.encoding, segments.parts, segments.units)


class _NoWorkspace:
    """Stands in for the unit of work in a sandbox hop: nobody's data may be read or written there, so
    any use says which menu method the sandbox must override instead of touching a database."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"the admin sandbox has no workspace (Workspace.{name}): override the menu step")


def sandbox_hop(language: str) -> Hop:
    """A hop for the USSD menus with a person who exists nowhere: the menus that turn engine messages
    into a screen read only the language and status, never the workspace."""
    contact = Contact(status=ContactStatus.REGISTERING, language=language)
    return Hop(work=cast(Workspace, _NoWorkspace()), contact=contact, language=language)


def menus(catalog: Catalog, budget: int) -> Menus:
    return Menus(Conversation(catalog, region=""), catalog, budget=budget)


def screens(deck: Deck, budget: int) -> tuple[str, ...]:
    """Every page of a deck as the gateway would get it."""
    return tuple(render(deck, page, budget) for page in range(len(layout(deck, budget))))


def _waiting_at(flow: Flow, node_id: str, language: str) -> engine.Session:
    return engine.Session(
        flow_slug=flow.slug,
        flow_version=flow.version,
        node_id=node_id,
        language=language,
        retries_used=0,
        results={},
        status=engine.RunStatus.ACTIVE,
        started_at=_EPOCH,
        expires_at=_EPOCH,
    )


def question_previews(flow: Flow, language: str, catalog: Catalog, budget: int) -> list[QuestionPreview]:
    """Each question node in authoring order, with the messages of the nodes since the previous one
    (an intro goes out in the same sprint as the first question, so USSD shows them on one screen)."""
    out: list[QuestionPreview] = []
    pending: list[engine.MsgOut] = []
    ussd = menus(catalog, budget)
    for node in flow.nodes.values():
        pending += [
            engine.MsgOut(text=flow.text(a.text, language))
            for a in node.actions
            if isinstance(a, SendMsgAction)
        ]
        if not isinstance(node.router, Ask):
            continue
        asked = engine.ask_again(flow, _waiting_at(flow, node.id, language))
        prompt = asked.prompt
        assert prompt is not None  # noqa: S101 - ask_again always asks
        hint = prompt.hint
        again = engine.MsgOut(
            text=f"{hint}\n{asked.text}" if hint else asked.text, prompt=replace(prompt, retry=True)
        )
        deck = ussd.replies(sandbox_hop(language), [*pending, asked])
        out.append(
            QuestionPreview(
                node_id=node.id,
                key=node.router.question.key,
                question=asked.text,
                sms=tuple(sms(render_sms(m)) for m in [*pending, asked]),
                retry=sms(render_sms(again)),
                screens=screens(deck, budget),
            )
        )
        pending = []
    return out
