"""The pure engine, walked through small fixture flows in tests/flows/cases/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from ureport.flows.engine import (
    ContactView,
    EngineError,
    Env,
    FieldChanged,
    FlowErrorEvent,
    MsgOut,
    ResultSaved,
    RunEnded,
    RunStatus,
    Session,
    Sprint,
    StartPoll,
    expire,
    resume,
    start,
)
from ureport.flows.loader import load_flow_file
from ureport.flows.model import Flow
from ureport.flows.render import render_sms

CASES = Path(__file__).parent / "cases"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
T = TypeVar("T")
NOBODY = ContactView(language=None, fields={})


@dataclass(frozen=True)
class Place:
    code: str
    name: str


class Places:
    def match(self, text: str) -> Place | None:
        return Place(code="KE-47", name="Nairobi") if "nairobi" in text.lower() else None


ENV = Env(now=NOW, locations=Places())


def case(name: str) -> Flow:
    return load_flow_file(CASES / f"{name}.yaml")


def texts(sprint: Sprint) -> list[str]:
    return [event.text for event in sprint.events if isinstance(event, MsgOut)]


def of_type(sprint: Sprint, kind: type[T]) -> list[T]:
    return [event for event in sprint.events if isinstance(event, kind)]


def converse(flow: Flow, replies: list[str], contact: ContactView = NOBODY, **kw: str) -> list[Sprint]:
    sprints = [start(flow, contact, env=ENV, **kw)]
    for reply in replies:
        sprints.append(resume(flow, sprints[-1].session, contact, reply, env=ENV))
    return sprints


def test_start_sends_messages_until_the_first_question() -> None:
    sprint = start(case("all_types"), NOBODY, env=ENV)
    assert texts(sprint) == ["Hello", "Favourite colour?"]
    prompt = of_type(sprint, MsgOut)[1].prompt
    assert prompt is not None and prompt.choices == ("Red", "Blue") and not prompt.retry
    assert sprint.session.node_id == "colour"
    assert sprint.session.status is RunStatus.ACTIVE
    assert sprint.session.expires_at == NOW + timedelta(minutes=10080)


def test_every_node_type_in_one_run() -> None:
    sprints = converse(
        case("all_types"), ["sky", "yes please", "I walk 25 minutes", "I am 17", "Nairobi", "More lights"]
    )
    events = [event for sprint in sprints for event in sprint.events]
    results = {e.key: (e.category, e.value, e.number) for e in events if isinstance(e, ResultSaved)}
    assert results == {
        "colour": ("blue", "blue", None),
        "likes": ("yes", "yes", None),
        "minutes": ("answered", "25", 25.0),
        "born": ("answered", "2008", 2008.0),
        "place": ("KE-47", "KE-47", None),
        "idea": ("answered", "More lights", None),
    }
    fields = [(e.field, e.value) for e in events if isinstance(e, FieldChanged)]
    assert fields == [
        ("likes_polls", "yes"),
        ("birth_year", 2008),
        ("district", "KE-47"),
        ("segment", "polled"),
    ]
    assert "Blue it is" in texts(sprints[1]) and "Red it is" not in texts(sprints[1])
    last = sprints[-1]
    assert of_type(last, StartPoll) == [StartPoll(slug="other-poll")]
    assert texts(last) == ["Bye"]
    assert of_type(last, RunEnded) == [RunEnded(status=RunStatus.COMPLETED)]
    assert last.session.node_id is None and last.session.status is RunStatus.COMPLETED
    # free text stays out of the stored session; branchable values stay in it
    assert last.session.results == {
        "colour": "blue",
        "likes": "yes",
        "minutes": "25",
        "born": "2008",
        "place": "KE-47",
        "idea": "answered",
    }


def test_branch_default_when_no_case_holds() -> None:
    last = converse(case("all_types"), ["1", "no", "5", "2001", "nairobi", "x"])[-1]
    assert of_type(last, StartPoll) == []
    assert texts(last) == ["Bye"]


def test_wrong_answer_retries_with_hint_then_goes_to_on_fail() -> None:
    first, retry, failed = converse(case("retries"), ["maybe", "still no"])
    assert texts(retry) == ["Reply 1 or 2.\nPick one"]
    prompt = of_type(retry, MsgOut)[0].prompt
    assert prompt is not None and prompt.retry and prompt.hint == "Reply 1 or 2."
    assert retry.session.retries_used == 1 and retry.session.node_id == "pick"
    assert of_type(retry, ResultSaved) == []
    saved = of_type(failed, ResultSaved)
    assert [(s.category, s.input) for s in saved] == [("other", "still no")]
    assert texts(failed) == ["Never mind"]
    assert failed.session.results == {"pick": "other"}


def test_right_answer_after_a_retry_resets_the_count() -> None:
    last = converse(case("retries"), ["maybe", "coffee"])[-1]
    assert of_type(last, ResultSaved)[0].category == "coffee"
    assert texts(last) == ["Thanks"] and last.session.retries_used == 0


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"sex": "female", "birth_year": 1990}, "Girls"),
        ({"sex": "male", "birth_year": 2005}, "Young"),
        ({"sex": "male", "birth_year": "1990"}, "Others"),
        ({}, "Others"),
    ],
)
def test_branch_on_contact_fields(fields: dict[str, str | int], expected: str) -> None:
    sprint = start(case("field_branch"), ContactView(language="en", fields=fields), env=ENV)
    assert texts(sprint) == [expected]


def test_a_loop_without_a_question_ends_with_an_error_event() -> None:
    # The loop only closes if the branch sees the field set earlier in the same sprint.
    sprint = start(case("loop"), NOBODY, env=ENV)
    errors = of_type(sprint, FlowErrorEvent)
    assert len(errors) == 1 and "more than 100 nodes" in errors[0].message
    assert sprint.session.status is RunStatus.FAILED
    assert of_type(sprint, RunEnded) == [RunEnded(status=RunStatus.FAILED)]


def test_expired_run_does_not_consume_the_reply() -> None:
    flow = case("retries")
    session = start(flow, NOBODY, env=ENV).session
    later = Env(now=session.expires_at)
    sprint = resume(flow, session, NOBODY, "tea", env=later)
    assert sprint.events == (RunEnded(status=RunStatus.EXPIRED),)
    assert sprint.session.status is RunStatus.EXPIRED and sprint.session.results == {}
    with pytest.raises(EngineError) as raised:
        resume(flow, sprint.session, NOBODY, "tea", env=later)
    assert raised.value.code == "not_active"


def test_explicit_expiry() -> None:
    flow = case("retries")
    sprint = expire(flow, start(flow, NOBODY, env=ENV).session, env=ENV)
    assert sprint.events == (RunEnded(status=RunStatus.EXPIRED),) and sprint.session.node_id is None


def test_choosing_a_language_switches_the_rest_of_the_run() -> None:
    first, last = converse(case("language"), ["Kiswahili"])
    assert texts(first) == ["Which language?"]
    assert of_type(last, FieldChanged) == [FieldChanged(field="language", value="sw")]
    assert texts(last) == ["Asante"] and last.session.language == "sw"


@pytest.mark.parametrize(
    ("contact_language", "start_language", "expected"),
    [(None, None, "Hello"), ("sw", None, "Habari"), ("sw", "fr", "Bonjour"), ("de", None, "Hello")],
)
def test_language_resolution(contact_language: str | None, start_language: str | None, expected: str) -> None:
    contact = ContactView(language=contact_language, fields={})
    sprint = start(case("all_types"), contact, env=ENV, language=start_language)
    # the question has no French text: it falls back to the default language
    assert texts(sprint)[0] == expected


def test_session_json_round_trip() -> None:
    sprints = converse(case("all_types"), ["red", "no"])
    for sprint in sprints:
        data = json.loads(json.dumps(sprint.session.to_json()))
        assert Session.from_json(data) == sprint.session
    with pytest.raises(EngineError):
        Session.from_json({"flow_slug": "x"})


def test_same_inputs_give_same_outputs() -> None:
    flow = case("all_types")
    replies = ["2", "n", "300", "1999", "nairobi", "ok"]
    assert converse(flow, replies) == converse(flow, replies)


def test_resuming_with_another_flow_is_misuse() -> None:
    session = start(case("retries"), NOBODY, env=ENV).session
    with pytest.raises(EngineError) as raised:
        resume(case("language"), session, NOBODY, "1", env=ENV)
    assert raised.value.code == "wrong_flow"


def test_location_without_an_index_is_an_error_event_not_a_crash() -> None:
    flow = case("all_types")
    session = converse(flow, ["1", "yes", "3", "2001"])[-1].session
    sprint = resume(flow, session, NOBODY, "Nairobi", env=Env(now=NOW))
    assert len(of_type(sprint, FlowErrorEvent)) == 1 and sprint.session.node_id == "place"


def test_sms_rendering_numbers_the_choices_and_puts_the_hint_first() -> None:
    first, retry = converse(case("retries"), ["maybe"])
    assert render_sms(of_type(first, MsgOut)[0]) == "Pick one\n1. Tea\n2. Coffee"
    assert render_sms(of_type(retry, MsgOut)[0]) == "Reply 1 or 2.\nPick one\n1. Tea\n2. Coffee"
    number = converse(case("all_types"), ["1", "yes"])[-1]
    assert [render_sms(m) for m in of_type(number, MsgOut)] == ["How many minutes?"]


def test_a_naive_clock_is_misuse() -> None:
    with pytest.raises(EngineError) as raised:
        start(case("retries"), NOBODY, env=Env(now=datetime(2025, 1, 1)))
    assert raised.value.code == "naive_clock"
