"""The pure flow engine: start/resume/expire sprints over a session (no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from ureport.flows import matching
from ureport.flows.matching import LocationHit, LocationLookup
from ureport.flows.model import (
    DEFAULT,
    NEXT,
    UNMATCHED,
    Action,
    Ask,
    FieldValue,
    Flow,
    Question,
    QuestionType,
    SendMsgAction,
    SetFieldAction,
    StartPollAction,
    Switch,
    Texts,
)
from ureport.flows.session import (
    ContactView,
    EngineError,
    Env,
    Event,
    FieldChanged,
    FlowErrorEvent,
    MsgOut,
    Prompt,
    ResultSaved,
    RunEnded,
    RunStatus,
    Session,
    Sprint,
    StartPoll,
)

__all__ = [
    "ContactView",
    "EngineError",
    "Env",
    "Event",
    "FieldChanged",
    "FlowErrorEvent",
    "LocationHit",
    "LocationLookup",
    "MsgOut",
    "Prompt",
    "ResultSaved",
    "RunEnded",
    "RunStatus",
    "Session",
    "Sprint",
    "StartPoll",
    "ask_again",
    "expire",
    "interrupt",
    "resume",
    "start",
]

MAX_VISITS = 100  # node visits per sprint before a flow without a wait is taken to loop


class _Run:
    """The mutable state of one sprint; turned into an immutable Sprint at the end."""

    def __init__(self, flow: Flow, session: Session, contact: ContactView, env: Env) -> None:
        self.flow, self.session, self.contact, self.env = flow, session, contact, env
        self.language = session.language
        self.retries_used = session.retries_used
        self.results = dict(session.results)
        self.fields: dict[str, FieldValue] = {}  # changed in this sprint, ahead of the host's copy
        self.events: list[Event] = []
        self.visits = 0

    def text(self, texts: Texts) -> str:
        return self.flow.text(texts, self.language)

    def field(self, name: str) -> FieldValue:
        if name in self.fields:
            return self.fields[name]
        if name == "language" and name not in self.contact.fields:
            return self.contact.language
        return self.contact.fields.get(name)

    def set_field(self, name: str, value: FieldValue) -> None:
        self.fields[name] = value
        self.events.append(FieldChanged(field=name, value=value))
        if name == "language" and isinstance(value, str):
            self.language = value  # later messages of this run follow the person's new language

    def finish(self, node_id: str | None, status: RunStatus) -> Sprint:
        if status is not RunStatus.ACTIVE:
            self.events.append(RunEnded(status=status))
        before = self.session  # built directly: dataclasses.replace looks the fields up on every call
        session = Session(
            flow_slug=before.flow_slug,
            flow_version=before.flow_version,
            node_id=node_id,
            language=self.language,
            retries_used=self.retries_used,
            results=self.results,
            status=status,
            started_at=before.started_at,
            expires_at=before.expires_at,
        )
        return Sprint(session, tuple(self.events))


A = TypeVar("A", bound=Action)
_ACTIONS: dict[type[Any], Callable[[_Run, Any], None]] = {}


def _performs(kind: type[A]) -> Callable[[Callable[[_Run, A], None]], Callable[[_Run, A], None]]:
    def register(handler: Callable[[_Run, A], None]) -> Callable[[_Run, A], None]:
        _ACTIONS[kind] = handler
        return handler

    return register


@_performs(SendMsgAction)
def _send_msg(run: _Run, action: SendMsgAction) -> None:
    run.events.append(MsgOut(text=run.text(action.text)))


@_performs(SetFieldAction)
def _set_field(run: _Run, action: SetFieldAction) -> None:
    run.set_field(action.field, action.value)


@_performs(StartPollAction)
def _start_poll(run: _Run, action: StartPollAction) -> None:
    run.events.append(StartPoll(slug=action.slug))


def start(flow: Flow, contact: ContactView, *, env: Env, language: str | None = None) -> Sprint:
    """Start a run: perform nodes until the first question (which waits) or the end."""
    _check_clock(env)
    session = Session(
        flow_slug=flow.slug,
        flow_version=flow.version,
        node_id=None,
        language=language or contact.language or flow.default_language,
        retries_used=0,
        results={},
        status=RunStatus.ACTIVE,
        started_at=env.now,
        expires_at=env.now + timedelta(minutes=flow.expire_after_minutes),
    )
    return _walk(_Run(flow, session, contact, env), flow.start_node)


def resume(flow: Flow, session: Session, contact: ContactView, text: str, *, env: Env) -> Sprint:
    """Hand a reply to the waiting question; an expired run ends without consuming the reply."""
    question = _waiting(flow, session)
    _check_clock(env)
    if env.now >= session.expires_at:
        return expire(flow, session, env=env)
    run = _Run(flow, session, contact, env)
    if question.type is QuestionType.LOCATION and env.locations is None:
        run.events.append(FlowErrorEvent(message=f"node {question.node_id!r}: no location index given"))
    answer = matching.match_answer(
        question, text, languages=flow.languages, this_year=env.now.year, locations=env.locations
    )
    if answer is None and run.retries_used < question.retries:
        run.retries_used += 1
        run.events.append(_ask(run, question, retry=True))
        return run.finish(question.node_id, RunStatus.ACTIVE)
    answer = answer or matching.Answer(category=UNMATCHED, value=text.strip(), kept=UNMATCHED, exit=UNMATCHED)
    run.events.append(
        ResultSaved(
            key=question.key,
            category=answer.category,
            value=answer.value,
            input=text,
            node_id=question.node_id,
            number=answer.number,
        )
    )
    run.results[question.key] = answer.kept
    if question.field and answer.category != UNMATCHED:
        run.set_field(question.field, answer.field_value)
    run.retries_used = 0
    return _walk(run, flow.nodes[question.node_id].exits[answer.exit])


def ask_again(flow: Flow, session: Session) -> MsgOut:
    """The waiting question as first asked, for a channel that must show it again (a new USSD session)."""
    question = _waiting(flow, session)
    run = _Run(flow, session, ContactView(language=None, fields={}), Env(now=session.started_at))
    return _ask(run, question, retry=False)


def expire(flow: Flow, session: Session, *, env: Env) -> Sprint:
    """End a waiting run because it expired."""
    return _end(flow, session, env, RunStatus.EXPIRED)


def interrupt(flow: Flow, session: Session, *, env: Env) -> Sprint:
    """End a waiting run because another one replaces it."""
    return _end(flow, session, env, RunStatus.INTERRUPTED)


def _end(flow: Flow, session: Session, env: Env, status: RunStatus) -> Sprint:
    _waiting(flow, session)
    run = _Run(flow, session, ContactView(language=None, fields={}), env)
    return run.finish(None, status)


def _check_clock(env: Env) -> None:
    if env.now.tzinfo is None:
        raise EngineError("naive_clock", "Env.now must be an aware datetime")


def _waiting(flow: Flow, session: Session) -> Question:
    if (session.flow_slug, session.flow_version) != (flow.slug, flow.version):
        raise EngineError("wrong_flow", f"session of {session.flow_slug}@{session.flow_version}")
    if session.status is not RunStatus.ACTIVE or session.node_id is None:
        raise EngineError("not_active", f"the run is {session.status.value}")
    node = flow.nodes.get(session.node_id)
    if node is None or not isinstance(node.router, Ask):
        raise EngineError("bad_session", f"node {session.node_id!r} does not wait for a reply")
    return node.router.question


def _walk(run: _Run, node_id: str | None) -> Sprint:
    while node_id is not None:
        run.visits += 1
        if run.visits > MAX_VISITS:
            message = f"node {node_id!r}: more than {MAX_VISITS} nodes visited without a question"
            run.events.append(FlowErrorEvent(message=message))
            return run.finish(None, RunStatus.FAILED)
        node = run.flow.nodes[node_id]
        for action in node.actions:
            _ACTIONS[type(action)](run, action)
        exit_name = NEXT
        if isinstance(node.router, Ask):
            run.retries_used = 0
            run.events.append(_ask(run, node.router.question, retry=False))
            return run.finish(node.id, RunStatus.ACTIVE)
        if isinstance(node.router, Switch):
            exit_name = _switch(run, node.router)
        node_id = node.exits[exit_name]
    return run.finish(None, RunStatus.COMPLETED)


def _switch(run: _Run, router: Switch) -> str:
    operand = run.results.get(router.name) if router.source == "result" else run.field(router.name)
    for index, case in enumerate(router.cases):
        if case.matches(operand):
            return Switch.case_exit(index)
    return DEFAULT


def _ask(run: _Run, question: Question, *, retry: bool) -> MsgOut:
    text = run.text(question.text)
    hint = run.text(question.hint) or None
    prompt = Prompt(
        node_id=question.node_id,
        type=question.type,
        question=text,
        choices=tuple(run.text(category.label) for category in question.categories),
        hint=hint,
        retry=retry,
    )
    return MsgOut(text=f"{hint}\n{text}" if retry and hint else text, prompt=prompt)
