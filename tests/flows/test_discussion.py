"""The optional `discussion` prompts of a poll: localised texts, checked like every other text."""

from __future__ import annotations

import re

import pytest
import yaml

from ureport.flows.loader import FlowError, load_flow_file, load_flow_text, shipped_flow_path

POLL = {
    "slug": "talk",
    "kind": "poll",
    "title": "Talk",
    "default_language": "en",
    "languages": ["en", "sw"],
    "nodes": [{"id": "q", "type": "yes_no", "question": "Safe?"}],
}


def flow_with(discussion: object) -> str:
    return yaml.safe_dump({**POLL, "discussion": discussion})


def test_prompts_are_compiled_in_every_language() -> None:
    flow = load_flow_text(flow_with(["Why?", {"en": "Who could help?", "sw": "Nani angesaidia?"}]))
    assert [dict(prompt) for prompt in flow.discussion] == [
        {"en": "Why?"},
        {"en": "Who could help?", "sw": "Nani angesaidia?"},
    ]
    assert load_flow_text(yaml.safe_dump(POLL)).discussion == ()


@pytest.mark.parametrize(
    ("discussion", "message"),
    [
        ([{"sw": "Kwa nini?"}], "discussion[0]': must have a text in the default language 'en'"),
        ([{"en": "Why?", "fr": "Pourquoi ?"}], "discussion[0]': has language 'fr'"),
        ("Why?", "field 'discussion'"),
        ([""], "field 'discussion[0]'"),
    ],
)
def test_bad_prompts_name_the_field(discussion: object, message: str) -> None:
    with pytest.raises(FlowError, match=re.escape(message)):
        load_flow_text(flow_with(discussion), source="talk.yaml")


def test_safe_streets_ships_prompts_in_english_and_kiswahili() -> None:
    prompts = load_flow_file(shipped_flow_path("safe-streets")).discussion
    assert len(prompts) >= 3 and all(set(prompt) == {"en", "sw"} for prompt in prompts)
