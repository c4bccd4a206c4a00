"""What the engine takes and gives: the session it resumes and the events a sprint returns."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ureport.flows.matching import LocationLookup
from ureport.flows.model import FieldValue, QuestionType


class RunStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    EXPIRED = "expired"
    INTERRUPTED = "interrupted"
    FAILED = "failed"  # the flow content went wrong (a loop); a FlowErrorEvent says why


class EngineError(Exception):
    """The engine was misused (wrong flow, finished session, naive clock); `code` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True, kw_only=True)
class ContactView:
    language: str | None
    fields: Mapping[str, FieldValue]


@dataclass(frozen=True, kw_only=True)
class Env:
    now: datetime  # aware, UTC
    locations: LocationLookup | None = None


@dataclass(frozen=True, kw_only=True)
class Session:
    flow_slug: str
    flow_version: str
    node_id: str | None  # the question waiting for a reply; None once the run has ended
    language: str
    retries_used: int
    results: Mapping[str, str]  # result key -> category, or the number for number and birth-year questions
    status: RunStatus
    started_at: datetime
    expires_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "flow_slug": self.flow_slug,
            "flow_version": self.flow_version,
            "node_id": self.node_id,
            "language": self.language,
            "retries_used": self.retries_used,
            "results": dict(self.results),
            "status": self.status.value,
            "started_at": self.started_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        try:
            results = {str(key): str(value) for key, value in data["results"].items()}
            node_id = data["node_id"]
            return cls(
                flow_slug=str(data["flow_slug"]),
                flow_version=str(data["flow_version"]),
                node_id=None if node_id is None else str(node_id),
                language=str(data["language"]),
                retries_used=int(data["retries_used"]),
                results=results,
                status=RunStatus(data["status"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                expires_at=datetime.fromisoformat(data["expires_at"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise EngineError("bad_session", f"cannot read a session: {error!r}") from error


@dataclass(frozen=True, kw_only=True)
class Prompt:
    node_id: str
    type: QuestionType
    question: str
    choices: tuple[str, ...]  # localised labels, in order; reply 1 for the first
    hint: str | None
    retry: bool


@dataclass(frozen=True, kw_only=True)
class MsgOut:
    text: str
    prompt: Prompt | None = None


@dataclass(frozen=True, kw_only=True)
class ResultSaved:
    key: str
    category: str
    value: str
    input: str  # the raw reply: the host redacts free text before storing it
    node_id: str
    number: float | None


@dataclass(frozen=True, kw_only=True)
class FieldChanged:
    field: str
    value: FieldValue


@dataclass(frozen=True, kw_only=True)
class StartPoll:
    slug: str | None  # None: the active poll; the host starts it once this run has ended


@dataclass(frozen=True, kw_only=True)
class RunEnded:
    status: RunStatus


@dataclass(frozen=True, kw_only=True)
class FlowErrorEvent:
    message: str


Event = MsgOut | ResultSaved | FieldChanged | StartPoll | RunEnded | FlowErrorEvent


@dataclass(frozen=True)
class Sprint:
    session: Session
    events: tuple[Event, ...]
