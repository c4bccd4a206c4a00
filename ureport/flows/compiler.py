"""Compiling checked flow YAML into the node graph: one compiler per node type, in a registry."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

from ureport.flows.model import (
    ANSWERED,
    DEFAULT,
    DEFAULT_HINTS,
    NEXT,
    UNMATCHED,
    YES_NO_CATEGORIES,
    Ask,
    Between,
    Case,
    Category,
    Equals,
    Flow,
    FlowKind,
    Node,
    OneOf,
    Question,
    QuestionType,
    SendMsgAction,
    SetFieldAction,
    StartPollAction,
    Switch,
    Texts,
    frozen_map,
)

DEFAULT_EXPIRE_MINUTES = 10080
DEFAULT_RETRIES = 1
REGISTRATION_KEYWORDS = ("join", "stop")
REGISTRATION_MESSAGES = ("stop_confirm", "help", "already_joined", "poll_closed", "nothing_open")

Raw = dict[str, Any]


class FlowError(Exception):
    """A flow file that cannot be used, with the file, node and field at fault."""

    def __init__(self, message: str, *, file: str, node: str | None = None, field: str | None = None) -> None:
        self.file, self.node, self.field, self.message = file, node, field, message
        where = [file] + ([f"node '{node}'"] if node else []) + ([f"field '{field}'"] if field else [])
        super().__init__(": ".join([*where, message]))


NodeCompiler = Callable[["Compiler", Raw, "str | None"], Node]
_COMPILERS: dict[str, NodeCompiler] = {}


def _compiles(*types: str) -> Callable[[NodeCompiler], NodeCompiler]:
    def register(compiler: NodeCompiler) -> NodeCompiler:
        _COMPILERS.update(dict.fromkeys(types, compiler))
        return compiler

    return register


class Compiler:
    """Checks what the schema cannot say, then builds the graph; raises FlowError on the first fault."""

    def __init__(self, data: Raw, *, text: str, file: str) -> None:
        self.data, self.text, self.file = data, text, file
        self.default: str = data["default_language"]
        self.languages: tuple[str, ...] = tuple(data["languages"])
        self.raw_nodes: list[Raw] = data["nodes"]
        self.questions: list[Question] = []

    def fail(self, node: str | None, field: str | None, message: str) -> NoReturn:
        raise FlowError(message, file=self.file, node=node, field=field)

    def texts(self, value: str | Mapping[str, str]) -> Texts:
        return frozen_map({self.default: value} if isinstance(value, str) else value)

    def flow(self) -> Flow:
        self._check_languages()
        self._check_references()
        self._check_registration()
        ids = [raw["id"] for raw in self.raw_nodes] + [None]
        nodes: dict[str, Node] = {}
        for index, raw in enumerate(self.raw_nodes):
            nodes[raw["id"]] = _COMPILERS[raw["type"]](self, raw, raw.get("next", ids[index + 1]))
        data = self.data
        return Flow(
            slug=data["slug"],
            kind=FlowKind(data["kind"]),
            title=self.texts(data["title"]),
            default_language=self.default,
            languages=self.languages,
            expire_after_minutes=data.get("expire_after_minutes", DEFAULT_EXPIRE_MINUTES),
            nodes=frozen_map(nodes),
            questions=tuple(self.questions),
            keywords=frozen_map(
                {
                    name: frozen_map({lang: tuple(words) for lang, words in by_lang.items()})
                    for name, by_lang in data.get("keywords", {}).items()
                }
            ),
            messages=frozen_map({key: self.texts(text) for key, text in data.get("messages", {}).items()}),
            source=self.text,
            version=hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16],
            discussion=tuple(self.texts(prompt) for prompt in data.get("discussion", [])),
        )

    def _check_languages(self) -> None:
        if self.default not in self.languages:
            self.fail(None, "languages", f"must include the default language '{self.default}'")
        for node, field, value in _all_texts(self.data):
            if isinstance(value, str):
                continue
            if self.default not in value:
                self.fail(node, field, f"must have a text in the default language '{self.default}'")
            self._known_languages(node, field, value)
        for raw in self.raw_nodes:
            for number, choice in enumerate(raw.get("choices", [])):
                self._known_languages(raw["id"], f"choices[{number}].synonyms", choice.get("synonyms", {}))
        for name, by_lang in self.data.get("keywords", {}).items():
            self._known_languages(None, f"keywords.{name}", by_lang)

    def _known_languages(self, node: str | None, field: str, value: Mapping[str, object]) -> None:
        for lang in value:
            if lang not in self.languages:
                self.fail(
                    node, field, f"has language '{lang}', which is not in languages {list(self.languages)}"
                )

    def _check_references(self) -> None:
        ids: set[str] = set()
        for raw in self.raw_nodes:
            if raw["id"] in ids:
                self.fail(raw["id"], "id", "is used by another node before this one")
            ids.add(raw["id"])
        for raw in self.raw_nodes:
            for field, target in _references(raw):
                if target not in ids:
                    self.fail(raw["id"], field, f"refers to node '{target}', which does not exist")

    def _check_registration(self) -> None:
        data = self.data
        if data["kind"] != FlowKind.REGISTRATION:
            for key in ("keywords", "messages"):
                if key in data:
                    self.fail(None, key, "only registration flows have keywords and messages")
            return
        for key, needed in (("keywords", REGISTRATION_KEYWORDS), ("messages", REGISTRATION_MESSAGES)):
            for name in needed:
                present = data.get(key, {}).get(name)
                if present is None:
                    self.fail(None, f"{key}.{name}", "is required in a registration flow")
                missing = [lang for lang in self.languages if isinstance(present, str) or lang not in present]
                if missing:
                    self.fail(None, f"{key}.{name}", f"needs every language of the flow; missing {missing}")

    def question_key(self, raw: Raw) -> str:
        key = str(raw.get("result", raw["id"]))
        if any(question.key == key for question in self.questions):
            self.fail(raw["id"], "result", f"result key '{key}' is already saved by an earlier question")
        return key


def _all_texts(data: Raw) -> Iterator[tuple[str | None, str, Any]]:
    yield None, "title", data["title"]
    for key, text in data.get("messages", {}).items():
        yield None, f"messages.{key}", text
    for index, prompt in enumerate(data.get("discussion", [])):
        yield None, f"discussion[{index}]", prompt
    for raw in data["nodes"]:
        for field in ("text", "question", "hint"):
            if field in raw:
                yield raw["id"], field, raw[field]
        for index, choice in enumerate(raw.get("choices", [])):
            yield raw["id"], f"choices[{index}].label", choice["label"]


def _references(raw: Raw) -> Iterator[tuple[str, str]]:
    for field in ("next", "on_fail", "default"):
        if field in raw:
            yield field, raw[field]
    for choice, target in raw.get("branches", {}).items():
        yield f"branches.{choice}", target
    for index, case in enumerate(raw.get("cases", [])):
        yield f"cases[{index}].goto", case["goto"]


@_compiles("message")
def _message(c: Compiler, raw: Raw, onward: str | None) -> Node:
    return Node(
        id=raw["id"],
        type=raw["type"],
        actions=(SendMsgAction(text=c.texts(raw["text"])),),
        exits=frozen_map({NEXT: onward}),
    )


@_compiles("end")
def _end(c: Compiler, raw: Raw, onward: str | None) -> Node:
    actions = (SendMsgAction(text=c.texts(raw["text"])),) if "text" in raw else ()
    return Node(id=raw["id"], type=raw["type"], actions=actions, exits=frozen_map({NEXT: None}))


@_compiles("set")
def _set(c: Compiler, raw: Raw, onward: str | None) -> Node:
    if raw["field"] == "language" and raw["value"] not in c.languages:
        c.fail(raw["id"], "value", f"the language must be one of the flow's languages {list(c.languages)}")
    action = SetFieldAction(field=raw["field"], value=raw["value"])
    return Node(id=raw["id"], type=raw["type"], actions=(action,), exits=frozen_map({NEXT: onward}))


@_compiles("start_poll")
def _start_poll(c: Compiler, raw: Raw, onward: str | None) -> Node:
    action = StartPollAction(slug=None if raw["poll"] == "active" else raw["poll"])
    return Node(id=raw["id"], type=raw["type"], actions=(action,), exits=frozen_map({NEXT: onward}))


@_compiles("branch")
def _branch(c: Compiler, raw: Raw, onward: str | None) -> Node:
    source, name = raw["on"].split(".", 1)
    allowed: set[str] | None = None
    if source == "result":
        earlier = next((q for q in c.questions if q.key == name), None)
        if earlier is None:
            c.fail(raw["id"], "on", f"no question before this node saves the result '{name}'")
        if earlier.categories:
            allowed = {category.id for category in earlier.categories} | {UNMATCHED}
    cases = tuple(_case(c, raw["id"], index, case, allowed) for index, case in enumerate(raw["cases"]))
    exits = {Switch.case_exit(index): case["goto"] for index, case in enumerate(raw["cases"])}
    exits[DEFAULT] = raw.get("default", onward)
    router = Switch(source=source, name=name, cases=cases)
    return Node(id=raw["id"], type=raw["type"], router=router, exits=frozen_map(exits))


def _case(c: Compiler, node: str, index: int, case: Raw, allowed: set[str] | None) -> Case:
    field = f"cases[{index}]"
    if "between" in case:
        low, high = case["between"]
        if low > high:
            c.fail(node, f"{field}.between", f"the low end {low} is above the high end {high}")
        return Between(low=low, high=high)
    values = [_scalar(value) for value in (case["in"] if "in" in case else [case["equals"]])]
    unknown = [value for value in values if allowed is not None and str(value) not in allowed]
    if unknown:
        c.fail(node, field, f"{unknown[0]!r} is not a category of that question: {sorted(allowed or ())}")
    return OneOf(values=tuple(values)) if "in" in case else Equals(value=values[0])


def _scalar(value: str | float) -> str | int:
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(value)
    return value


@_compiles(*QuestionType)
def _question(c: Compiler, raw: Raw, onward: str | None) -> Node:
    node, kind = raw["id"], QuestionType(raw["type"])
    categories = _categories(c, raw, kind)
    bounds = {"min": raw.get("min"), "max": raw.get("max")}
    if kind is QuestionType.NUMBER and raw["min"] > raw["max"]:
        c.fail(node, "min", f"must not be above max ({raw['min']} > {raw['max']})")
    if raw.get("min_age", 10) > raw.get("max_age", 100):
        c.fail(node, "min_age", "must not be above max_age")
    hint = c.texts(raw["hint"]) if "hint" in raw else DEFAULT_HINTS[kind]
    hint = frozen_map({lang: _fill(text, bounds) for lang, text in hint.items()})
    question = Question(
        key=c.question_key(raw),
        node_id=node,
        type=kind,
        text=c.texts(raw["question"]),
        categories=categories,
        hint=hint,
        retries=raw["retries"] if "retries" in raw else c.data.get("retries", DEFAULT_RETRIES),
        minimum=bounds["min"],
        maximum=bounds["max"],
        min_age=raw.get("min_age", 10),
        max_age=raw.get("max_age", 100),
        field=_field(c, raw, categories),
    )
    c.questions.append(question)
    branches: dict[str, str] = raw.get("branches", {})
    exits = {category.id: branches.get(category.id, onward) for category in categories}
    exits[ANSWERED] = onward
    exits[UNMATCHED] = raw.get("on_fail", onward)
    return Node(id=node, type=raw["type"], router=Ask(question=question), exits=frozen_map(exits))


def _categories(c: Compiler, raw: Raw, kind: QuestionType) -> tuple[Category, ...]:
    categories: tuple[Category, ...] = YES_NO_CATEGORIES
    if kind is not QuestionType.YES_NO:
        categories = tuple(
            Category(
                id=choice["id"],
                label=c.texts(choice["label"]),
                synonyms=frozen_map(
                    {lang: tuple(words) for lang, words in choice.get("synonyms", {}).items()}
                ),
            )
            for choice in raw.get("choices", [])
        )
    ids: set[str] = set()
    for index, category in enumerate(categories):
        if category.id == UNMATCHED:
            c.fail(raw["id"], f"choices[{index}].id", f"'{UNMATCHED}' is kept for answers not understood")
        if category.id in ids:
            c.fail(raw["id"], f"choices[{index}].id", f"'{category.id}' is used by another choice")
        ids.add(category.id)
    for choice in raw.get("branches", {}):
        if choice not in ids:
            c.fail(raw["id"], f"branches.{choice}", f"'{choice}' is not a choice of this question")
    return categories


def _field(c: Compiler, raw: Raw, categories: tuple[Category, ...]) -> str | None:
    field: str | None = raw.get("field")
    if field == "language":
        wrong = [cat.id for cat in categories if cat.id not in c.languages]
        if not categories or wrong:
            c.fail(
                raw["id"], "field", f"language answers must be choices whose ids are in {list(c.languages)}"
            )
    return field


def _fill(text: str, bounds: Mapping[str, float | None]) -> str:
    for name, value in bounds.items():
        if value is not None:
            text = text.replace(
                "{" + name + "}", str(int(value)) if float(value).is_integer() else str(value)
            )
    return text
