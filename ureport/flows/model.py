"""The compiled flow graph: localised texts, questions, actions, routers, nodes and flows."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

Texts = Mapping[str, str]
FieldValue = str | int | None
K = TypeVar("K")
V = TypeVar("V")

# Category saved when an answer is still not understood after the retries; choice ids may not use it.
UNMATCHED = "other"
# Category and exit of a question without choices (number, text, birth year, location) that was answered.
ANSWERED = "answered"
# Exit of a node without a router.
NEXT = "next"
# Exit of a branch when no case matches.
DEFAULT = "default"


class FlowKind(enum.StrEnum):
    POLL = "poll"
    REGISTRATION = "registration"


class QuestionType(enum.StrEnum):
    CHOICE = "choice"
    YES_NO = "yes_no"
    NUMBER = "number"
    BIRTH_YEAR = "birth_year"
    TEXT = "text"
    LOCATION = "location"


def localise(texts: Texts, language: str, default_language: str) -> str:
    """The text in `language`, else in the default language, else in any language ("" if none)."""
    for lang in (language, default_language):
        text = texts.get(lang)
        if text:
            return text
    return next((text for text in texts.values() if text), "")


def frozen_map(items: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(items))


@dataclass(frozen=True, kw_only=True, slots=True)
class Category:
    """One answer a question accepts: a stable id, its label and extra words that mean it."""

    id: str
    label: Texts
    synonyms: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def phrases(self, languages: Collection[str]) -> tuple[str, ...]:
        """Labels and synonyms in the given languages: any of them, anywhere in a reply, picks this one."""
        found = [text for lang, text in self.label.items() if lang in languages]
        for lang, words in self.synonyms.items():
            if lang in languages:
                found.extend(words)
        return tuple(found)


@dataclass(frozen=True, kw_only=True, slots=True)
class Question:
    """A node that asks something and waits: everything the engine, aggregates and renderers need."""

    key: str
    node_id: str
    type: QuestionType
    text: Texts
    categories: tuple[Category, ...] = ()
    hint: Texts = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    retries: int = 0
    minimum: float | None = None
    maximum: float | None = None
    min_age: int = 10
    max_age: int = 100
    field: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SendMsgAction:
    text: Texts


@dataclass(frozen=True, kw_only=True, slots=True)
class SetFieldAction:
    field: str
    value: FieldValue


@dataclass(frozen=True, kw_only=True, slots=True)
class StartPollAction:
    slug: str | None  # None: whichever poll is active when the run ends


Action = SendMsgAction | SetFieldAction | StartPollAction


@dataclass(frozen=True, kw_only=True, slots=True)
class Equals:
    value: str | int

    def matches(self, operand: FieldValue) -> bool:
        return operand is not None and _norm(operand) == _norm(self.value)


@dataclass(frozen=True, kw_only=True, slots=True)
class OneOf:
    values: tuple[str | int, ...]

    def matches(self, operand: FieldValue) -> bool:
        return operand is not None and _norm(operand) in {_norm(value) for value in self.values}


@dataclass(frozen=True, kw_only=True, slots=True)
class Between:
    low: float
    high: float

    def matches(self, operand: FieldValue) -> bool:
        try:
            number = float(operand) if operand is not None else None
        except ValueError:
            return False
        return number is not None and self.low <= number <= self.high


Case = Equals | OneOf | Between


def _norm(value: str | int) -> str:
    return str(value).strip().lower()


@dataclass(frozen=True, kw_only=True, slots=True)
class Ask:
    """Router that sends the question, waits for the reply and exits by its category."""

    question: Question


@dataclass(frozen=True, kw_only=True, slots=True)
class Switch:
    """Router that exits by the first case that holds for a result or contact field, without waiting."""

    source: str  # "result" or "field"
    name: str
    cases: tuple[Case, ...]

    @staticmethod
    def case_exit(index: int) -> str:
        return f"case{index}"


Router = Ask | Switch


@dataclass(frozen=True, kw_only=True, slots=True)
class Node:
    id: str
    type: str  # the authoring type it was compiled from, for error messages and tooling
    actions: tuple[Action, ...] = ()
    router: Router | None = None
    # exit -> node id; None ends the run
    exits: Mapping[str, str | None] = dataclasses.field(
        default_factory=lambda: MappingProxyType({NEXT: None})
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Flow:
    slug: str
    kind: FlowKind
    title: Texts
    default_language: str
    languages: tuple[str, ...]
    expire_after_minutes: int
    nodes: Mapping[str, Node]  # in authoring order; the first one starts the flow
    questions: tuple[Question, ...]
    keywords: Mapping[str, Mapping[str, tuple[str, ...]]]
    messages: Mapping[str, Texts]
    source: str  # the YAML it was compiled from: store it, and recompile with load_flow_text()
    version: str  # first 16 hex digits of the sha256 of `source`
    # Prompts for community dialogues about the results, printed on the ambassador's brief.
    discussion: tuple[Texts, ...] = ()

    @property
    def start_node(self) -> str | None:
        return next(iter(self.nodes), None)

    def text(self, texts: Texts, language: str) -> str:
        return localise(texts, language, self.default_language)

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


def _cat(cid: str, label: Texts, synonyms: Mapping[str, tuple[str, ...]]) -> Category:
    return Category(id=cid, label=frozen_map(label), synonyms=frozen_map(synonyms))


YES_NO_CATEGORIES = (
    _cat(
        "yes",
        {"en": "Yes", "sw": "Ndiyo", "fr": "Oui", "ar": "نعم"},
        {
            "en": ("yes", "y", "yeah", "yep", "ok", "sure"),
            "sw": ("ndiyo", "ndio", "naam"),
            "fr": ("oui", "o", "ouais"),
            "ar": ("نعم", "ايوه", "أيوه", "اي"),
        },
    ),
    _cat(
        "no",
        {"en": "No", "sw": "Hapana", "fr": "Non", "ar": "لا"},
        {"en": ("no", "n", "nope"), "sw": ("hapana", "la"), "fr": ("non",), "ar": ("لا", "كلا")},
    ),
)

# Sent before the question again after a wrong answer when the flow gives no `hint`.
DEFAULT_HINTS: Mapping[QuestionType, Texts] = {
    QuestionType.CHOICE: {
        "en": "Please reply with the number of your answer.",
        "sw": "Tafadhali jibu kwa namba ya jibu lako.",
        "fr": "Merci de répondre avec le numéro de ta réponse.",
        "ar": "يرجى الرد برقم إجابتك.",
    },
    QuestionType.YES_NO: {
        "en": "Please reply 1 for Yes or 2 for No.",
        "sw": "Tafadhali jibu 1 kwa Ndiyo au 2 kwa Hapana.",
        "fr": "Merci de répondre 1 pour Oui ou 2 pour Non.",
        "ar": "يرجى الرد بـ 1 لنعم أو 2 للا.",
    },
    QuestionType.NUMBER: {
        "en": "Please reply with a number between {min} and {max}.",
        "sw": "Tafadhali jibu kwa namba kati ya {min} na {max}.",
        "fr": "Merci de répondre avec un nombre entre {min} et {max}.",
        "ar": "يرجى الرد برقم بين {min} و{max}.",
    },
    QuestionType.BIRTH_YEAR: {
        "en": "Please reply with your year of birth, e.g. 2008, or your age.",
        "sw": "Tafadhali jibu kwa mwaka uliozaliwa, mfano 2008, au umri wako.",
        "fr": "Merci de répondre avec ton année de naissance, par ex. 2008, ou ton âge.",
        "ar": "يرجى الرد بسنة ميلادك، مثلاً 2008، أو بعمرك.",
    },
    QuestionType.TEXT: {
        "en": "Please reply with a few words.",
        "sw": "Tafadhali jibu kwa maneno machache.",
        "fr": "Merci de répondre en quelques mots.",
        "ar": "يرجى الرد ببضع كلمات.",
    },
    QuestionType.LOCATION: {
        "en": "We could not find that place. Please check the spelling and reply again.",
        "sw": "Hatukupata mahali hapo. Tafadhali angalia tahajia kisha ujibu tena.",
        "fr": "Nous n'avons pas trouvé ce lieu. Vérifie l'orthographe et réponds encore.",
        "ar": "لم نجد هذا المكان. يرجى التحقق من الكتابة والرد مرة أخرى.",
    },
}
