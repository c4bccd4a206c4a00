"""The loader: one broken flow per validation rule, the schema, and the documentation of node types."""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ureport.flows.loader import (
    FlowError,
    load_flow_file,
    load_flow_text,
    node_types,
    read_yaml,
    schema,
    shipped_flow_path,
)
from ureport.flows.model import ANSWERED, UNMATCHED, Ask, QuestionType

DOCS = Path(__file__).parents[2] / "docs" / "flows.md"
CASES = Path(__file__).parent / "cases"

BASE: dict[str, Any] = {
    "slug": "test-poll",
    "kind": "poll",
    "title": {"en": "Test", "sw": "Jaribio"},
    "default_language": "en",
    "languages": ["en", "sw"],
    "nodes": [
        {"id": "intro", "type": "message", "text": {"en": "Hi", "sw": "Habari"}},
        {
            "id": "q1",
            "type": "choice",
            "question": "Pick?",
            "choices": [{"id": "a", "label": "A"}, {"id": "b", "label": {"en": "B", "sw": "B"}}],
        },
        {"id": "q2", "type": "number", "question": "How many?", "min": 0, "max": 10},
        {"id": "done", "type": "end"},
    ],
}
Edit = Callable[[dict[str, Any]], object]


def node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(n for n in data["nodes"] if n["id"] == node_id)
    return found


def branch(on: str, *cases: dict[str, Any]) -> Edit:
    return lambda d: d["nodes"].insert(3, {"id": "br", "type": "branch", "on": on, "cases": list(cases)})


def registration(d: dict[str, Any]) -> None:
    d["kind"] = "registration"
    d["keywords"] = {"join": {"en": ["JOIN"], "sw": ["JIUNGE"]}, "stop": {"en": ["STOP"], "sw": ["ACHA"]}}
    texts = {"en": "x", "sw": "y"}
    d["messages"] = {
        k: texts for k in ("stop_confirm", "help", "already_joined", "poll_closed", "nothing_open")
    }


def registration_then(edit: Edit) -> Edit:
    def both(data: dict[str, Any]) -> None:
        registration(data)
        edit(data)

    return both


BROKEN: list[tuple[str, Edit, str | None, str | None, str]] = [
    ("unknown kind", lambda d: d.update(kind="survey"), None, "kind", "is not one of"),
    ("bad slug", lambda d: d.update(slug="Safe Streets"), None, "slug", "does not match"),
    ("missing key", lambda d: d.pop("languages"), None, "languages", "is required"),
    ("missing question", lambda d: node(d, "q1").pop("question"), "q1", "question", "is required"),
    ("unknown node key", lambda d: node(d, "q2").update(colour="red"), "q2", "colour", "not a known key"),
    ("unknown node type", lambda d: node(d, "q1").update(type="slider"), "q1", "type", "is not one of"),
    ("node without id", lambda d: node(d, "q1").pop("id"), "#2", "id", "is required"),
    ("bad field name", lambda d: node(d, "q2").update(field="Bad Field"), "q2", "field", "does not match"),
    ("label not a text", lambda d: node(d, "q1")["choices"][0].update(label=7), "q1", "choices[0].label", ""),
    (
        "no default-language text",
        lambda d: node(d, "q1")["choices"][1].update(label={"sw": "B"}),
        "q1",
        "choices[1].label",
        "must have a text in the default language 'en'",
    ),
    (
        "text in an undeclared language",
        lambda d: node(d, "intro").update(text={"en": "Hi", "fr": "Salut"}),
        "intro",
        "text",
        "has language 'fr'",
    ),
    ("default not in languages", lambda d: d.update(languages=["sw"]), None, "languages", "must include"),
    ("duplicate node id", lambda d: node(d, "q2").update(id="q1"), "q1", "id", "is used by another node"),
    ("next to nowhere", lambda d: node(d, "intro").update(next="nowhere"), "intro", "next", "'nowhere'"),
    ("on_fail to nowhere", lambda d: node(d, "q1").update(on_fail="gone"), "q1", "on_fail", "does not exist"),
    ("branch to nowhere", lambda d: node(d, "q1").update(branches={"a": "x"}), "q1", "branches.a", "'x'"),
    (
        "branch on no choice",
        lambda d: node(d, "q1").update(branches={"c": "done"}),
        "q1",
        "branches.c",
        "not a choice",
    ),
    ("min above max", lambda d: node(d, "q2").update(min=11), "q2", "min", "must not be above max"),
    (
        "min_age above max_age",
        lambda d: d["nodes"].insert(
            1, {"id": "by", "type": "birth_year", "question": "Year?", "min_age": 50, "max_age": 20}
        ),
        "by",
        "min_age",
        "must not be above max_age",
    ),
    (
        "result not earlier",
        lambda d: d["nodes"].insert(
            1, {"id": "br", "type": "branch", "on": "result.q1", "cases": [{"equals": "a", "goto": "done"}]}
        ),
        "br",
        "on",
        "no question before",
    ),
    (
        "case not a category",
        branch("result.q1", {"equals": "z", "goto": "done"}),
        "br",
        "cases[0]",
        "'z' is not a category",
    ),
    (
        "between reversed",
        branch("result.q2", {"between": [9, 1], "goto": "done"}),
        "br",
        "cases[0].between",
        "above",
    ),
    (
        "case with two tests",
        branch("field.sex", {"equals": "a", "in": ["b"], "goto": "done"}),
        "br",
        "cases[0]",
        "too many",
    ),
    (
        "bad branch operand",
        branch("contact.sex", {"equals": "a", "goto": "done"}),
        "br",
        "on",
        "does not match",
    ),
    ("duplicate result key", lambda d: node(d, "q2").update(result="q1"), "q2", "result", "already saved"),
    (
        "choice id other",
        lambda d: node(d, "q1")["choices"][0].update(id="other"),
        "q1",
        "choices[0].id",
        "kept for",
    ),
    (
        "duplicate choice id",
        lambda d: node(d, "q1")["choices"][1].update(id="a"),
        "q1",
        "choices[1].id",
        "used by another",
    ),
    (
        "language field on non-languages",
        lambda d: node(d, "q1").update(field="language"),
        "q1",
        "field",
        "language answers",
    ),
    (
        "set language not a language",
        lambda d: d["nodes"].insert(1, {"id": "s", "type": "set", "field": "language", "value": "de"}),
        "s",
        "value",
        "one of the flow's languages",
    ),
    (
        "keywords on a poll",
        lambda d: d.update(keywords={"join": {"en": ["JOIN"]}}),
        None,
        "keywords",
        "only registration",
    ),
    (
        "registration without stop",
        registration_then(lambda d: d["keywords"].pop("stop")),
        None,
        "keywords.stop",
        "is required",
    ),
    (
        "registration message missing sw",
        registration_then(lambda d: d["messages"].update(help={"en": "x"})),
        None,
        "messages.help",
        "missing ['sw']",
    ),
    (
        "keyword in an undeclared language",
        registration_then(lambda d: d["keywords"]["join"].update(fr=["REJOINDRE"])),
        None,
        "keywords.join",
        "has language 'fr'",
    ),
]


@pytest.mark.parametrize(("label", "edit", "node_id", "field", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_flow(label: str, edit: Edit, node_id: str | None, field: str | None, message: str) -> None:
    data = copy.deepcopy(BASE)
    edit(data)
    with pytest.raises(FlowError) as raised:
        load_flow_text(yaml.safe_dump(data, allow_unicode=True), source="broken.yaml")
    error = raised.value
    assert (error.file, error.node, error.field) == ("broken.yaml", node_id, field)
    assert message in error.message


def test_the_base_flow_is_valid() -> None:
    flow = load_flow_text(yaml.safe_dump(BASE))
    assert [q.key for q in flow.questions] == ["q1", "q2"]


def test_error_text_names_file_node_and_field() -> None:
    data = copy.deepcopy(BASE)
    data["nodes"][1]["choices"][1]["label"] = {"sw": "B"}
    with pytest.raises(FlowError) as raised:
        load_flow_text(yaml.safe_dump(data), source="safe-streets.yaml")
    expected = (
        "safe-streets.yaml: node 'q1': field 'choices[1].label': "
        "must have a text in the default language 'en'"
    )
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slug: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("slug: a\nslug: b\n", "duplicate key 'slug'"),
    ],
)
def test_unreadable_yaml(text: str, message: str) -> None:
    with pytest.raises(FlowError) as raised:
        load_flow_text(text, source="bad.yaml")
    assert raised.value.file == "bad.yaml" and raised.value.node is None and message in raised.value.message


def test_yes_no_and_on_stay_strings_in_yaml() -> None:
    text = """
slug: yn
kind: poll
title: YN
default_language: en
languages: [en]
nodes:
  - {id: q, type: yes_no, question: "Ok?", branches: {no: bye}}
  - {id: br, type: branch, on: result.q, cases: [{equals: yes, goto: bye}, {in: [no, other], goto: bye}]}
  - {id: bye, type: end}
"""
    flow = load_flow_text(text)
    assert flow.nodes["q"].exits["no"] == "bye"
    assert flow.nodes["q"].exits["yes"] == "br"


def test_compiled_question_and_exits() -> None:
    flow = load_flow_text(yaml.safe_dump(BASE))
    q1 = flow.questions[0]
    assert q1.type is QuestionType.CHOICE and q1.node_id == "q1" and q1.text == {"en": "Pick?"}
    assert [(c.id, dict(c.label)) for c in q1.categories] == [
        ("a", {"en": "A"}),
        ("b", {"en": "B", "sw": "B"}),
    ]
    assert q1.retries == 1 and dict(q1.hint)["sw"].startswith("Tafadhali")
    assert flow.questions[1].categories == () and dict(flow.questions[1].hint)["en"].endswith(
        "between 0 and 10."
    )
    assert isinstance(flow.nodes["q1"].router, Ask)
    assert dict(flow.nodes["q1"].exits) == {"a": "q2", "b": "q2", ANSWERED: "q2", UNMATCHED: "q2"}
    assert flow.start_node == "intro" and flow.expire_after_minutes == 10080


def test_source_and_version_allow_recompiling() -> None:
    flow = load_flow_file(shipped_flow_path("safe-streets"))
    again = load_flow_text(flow.source)
    assert re.fullmatch(r"[0-9a-f]{16}", flow.version) and again.version == flow.version
    assert again.questions == flow.questions


@pytest.mark.parametrize("name", ["registration", "safe-streets"])
def test_the_schema_accepts_the_shipped_flows(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    data = read_yaml(shipped_flow_path(name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(data)


def test_the_fixture_flow_uses_every_node_type() -> None:
    flow = load_flow_file(CASES / "all_types.yaml")
    assert {n.type for n in flow.nodes.values()} == set(node_types())


def test_every_node_type_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [kind for kind in node_types() if f"### `{kind}`" not in docs]
    assert missing == []
    top_level = schema()["properties"]
    assert [key for key in top_level if f"`{key}`" not in docs] == []


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@given(st.text())
def test_any_text_loads_or_raises_flow_error(text: str) -> None:
    with contextlib.suppress(FlowError):
        load_flow_text(text)


@given(
    st.integers(0, 3), st.sampled_from(["id", "type", "question", "choices", "min", "next", "text"]), JSONISH
)
def test_any_node_value_loads_or_raises_flow_error(index: int, key: str, value: object) -> None:
    data = copy.deepcopy(BASE)
    data["nodes"][index][key] = value
    with contextlib.suppress(FlowError):
        load_flow_text(yaml.safe_dump(data))
