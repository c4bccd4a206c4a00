"""The shipped flows: they load, carry what the host needs, run end to end and fit in an SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from ureport.flows.compiler import REGISTRATION_MESSAGES
from ureport.flows.engine import (
    ContactView,
    Env,
    FieldChanged,
    MsgOut,
    ResultSaved,
    RunEnded,
    RunStatus,
    Sprint,
    StartPoll,
    resume,
    start,
)
from ureport.flows.loader import load_flow_file, shipped_flow_path
from ureport.flows.model import Flow, FlowKind, SendMsgAction
from ureport.flows.render import SMS_SINGLE_GSM7, every_sms, gsm7_length, long_messages

NOW = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
NOBODY = ContactView(language=None, fields={})


@dataclass(frozen=True)
class County:
    code: str
    name: str


class Counties:
    """A stand-in for the host's location index: a name or the county number."""

    COUNTIES = {"nairobi": County("047", "Nairobi"), "mombasa": County("001", "Mombasa")}
    NUMBERS = {"47": "nairobi", "1": "mombasa"}

    def match(self, text: str) -> County | None:
        word = text.strip().lower()
        return self.COUNTIES.get(self.NUMBERS.get(word, word))


ENV = Env(now=NOW, locations=Counties())


def shipped(name: str) -> Flow:
    return load_flow_file(shipped_flow_path(name))


def converse(flow: Flow, replies: list[str], language: str | None = None) -> list[Sprint]:
    sprints = [start(flow, NOBODY, env=ENV, language=language)]
    for reply in replies:
        sprints.append(resume(flow, sprints[-1].session, NOBODY, reply, env=ENV))
    return sprints


def events(sprints: list[Sprint]) -> list[object]:
    return [event for sprint in sprints for event in sprint.events]


def test_both_flows_load() -> None:
    assert shipped("registration").kind is FlowKind.REGISTRATION
    assert shipped("safe-streets").kind is FlowKind.POLL
    assert [q.key for q in shipped("safe-streets").questions] == [
        "after_dark",
        "where",
        "harassed",
        "reported",
        "walk_minutes",
        "safer",
    ]


def test_registration_keywords_and_messages() -> None:
    flow = shipped("registration")
    for name in ("join", "stop"):
        assert set(flow.keywords[name]) == {"en", "sw", "fr"}
    assert flow.keywords["join"]["sw"] == ("JIUNGE",)
    assert "STOP" in flow.keywords["stop"]["en"] and "ACHA" in flow.keywords["stop"]["sw"]
    for key in REGISTRATION_MESSAGES:
        assert set(flow.messages[key]) == {"en", "sw", "fr"}


def test_registration_run_in_swahili() -> None:
    sprints = converse(shipped("registration"), ["nina miaka 17", "2", "Nairobi", "kiswahili"], language="sw")
    assert sprints[0].events[0] == MsgOut(text=_consent("sw"))
    saved = {e.key: e.value for e in events(sprints) if isinstance(e, ResultSaved)}
    assert saved == {"birth_year": "2008", "sex": "male", "county": "047", "language": "sw"}
    fields = [(e.field, e.value) for e in events(sprints) if isinstance(e, FieldChanged)]
    assert fields == [("birth_year", 2008), ("sex", "male"), ("district", "047"), ("language", "sw")]
    last = sprints[-1]
    assert StartPoll(slug=None) in last.events and last.events[-1] == RunEnded(status=RunStatus.COMPLETED)
    assert any(isinstance(e, MsgOut) and e.text.startswith("Asante") for e in last.events)


def test_registration_switches_language_for_the_welcome() -> None:
    last = converse(shipped("registration"), ["2001", "female", "47", "3"])[-1]
    welcome = [e.text for e in last.events if isinstance(e, MsgOut)]
    assert welcome == ["Merci, tu es maintenant U-Reporter ! Ton premier sondage arrive."]


def test_registration_county_retry_then_other() -> None:
    sprints = converse(shipped("registration"), ["17", "1", "Atlantis", "Atlantis again", "Gotham"])
    retries = [e for e in events(sprints) if isinstance(e, MsgOut) and e.prompt and e.prompt.retry]
    assert len(retries) == 2
    saved = [e for e in events(sprints) if isinstance(e, ResultSaved) and e.key == "county"]
    assert [(e.category, e.input) for e in saved] == [("other", "Gotham")]
    assert sprints[-1].session.node_id == "language"


@pytest.mark.parametrize(("harassed", "asked_reported"), [("ndiyo", True), ("hapana", False)])
def test_safe_streets_branch_on_harassment(harassed: str, asked_reported: bool) -> None:
    replies = ["1", "matatu", harassed] + (["no"] if asked_reported else []) + ["dakika 25", "Taa zaidi"]
    sprints = converse(shipped("safe-streets"), replies, language="sw")
    saved = {e.key: e.category for e in events(sprints) if isinstance(e, ResultSaved)}
    expected = {"after_dark": "always", "where": "public_transport", "walk_minutes": "answered"}
    expected |= {"harassed": "yes", "reported": "no"} if asked_reported else {"harassed": "no"}
    assert saved == expected | {"safer": "answered"}
    assert sprints[-1].session.status is RunStatus.COMPLETED
    assert any(isinstance(e, MsgOut) and e.text.startswith("Asante!") for e in sprints[-1].events)


def _consent(language: str) -> str:
    action = shipped("registration").nodes["consent"].actions[0]
    assert isinstance(action, SendMsgAction)
    return action.text[language]


@pytest.mark.parametrize(
    ("name", "language"), [(n, lang) for n in ("registration", "safe-streets") for lang in ("en", "sw")]
)
def test_english_and_swahili_fit_one_gsm7_sms(name: str, language: str) -> None:
    # The language question lists "Français", which is outside GSM-7: it is the one accepted exception.
    for text in every_sms(shipped(name), language):
        if "Français" in text:
            assert len(text) <= SMS_SINGLE_GSM7
            continue
        length = gsm7_length(text)
        assert length is not None and length <= SMS_SINGLE_GSM7, text


def test_french_fits_160_characters() -> None:
    for text in every_sms(shipped("registration"), "fr"):
        assert len(text) <= SMS_SINGLE_GSM7, text


def test_long_messages_names_what_takes_more_than_one_sms() -> None:
    notes = long_messages(shipped("registration"))
    assert notes and all(note.startswith(("en:", "sw:", "fr:")) for note in notes)
    assert any("Français" in note or "UCS-2" in note for note in notes)
    assert long_messages(shipped("safe-streets")) == []
