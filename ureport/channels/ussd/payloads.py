"""Africa's Talking USSD payloads: the session callback and the end-of-session notification."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ureport.channels.africastalking import _optional, _optional_int, _phone, _required
from ureport.channels.forms import PayloadError

# AT's end-of-session statuses; anything else is kept as sent and logged, never refused.
SESSION_STATUS = {"Success": "success", "Incomplete": "incomplete", "Failed": "failed"}
MAX_TEXT = 1000  # operators cap input near 80-90 characters a hop; a longer path is not a phone


@dataclass(frozen=True, kw_only=True, slots=True)
class UssdRequest:
    """One hop of a session: `text` is every input so far joined by `*` (empty on the first)."""

    session_id: str
    service_code: str
    phone: str
    text: str
    network_code: str | None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> UssdRequest:
        text = _required(form, "text", allow_empty=True) if "text" in form else ""
        if len(text) > MAX_TEXT:
            raise PayloadError(f"field 'text' longer than {MAX_TEXT} characters", field="text")
        session_id = _required(form, "sessionId").strip()
        if len(session_id) > 128:
            raise PayloadError("field 'sessionId' longer than 128 characters", field="sessionId")
        return cls(
            session_id=session_id,
            service_code=(_optional(form, "serviceCode") or "")[:32],
            phone=_phone(_required(form, "phoneNumber"), "phoneNumber"),
            text=text,
            network_code=_optional(form, "networkCode"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class UssdNotification:
    """The end-of-session notification; `status` is ours (success/incomplete/failed) or the raw value."""

    session_id: str
    status: str
    phone: str | None
    duration_ms: int | None
    hops: int | None
    last_screen_id: str | None
    error: str | None
    network_code: str | None
    cost: str | None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> UssdNotification:
        raw = _required(form, "status").strip()
        metadata = _optional(form, "hopsMetadata")
        phone = _optional(form, "phoneNumber")
        return cls(
            session_id=_required(form, "sessionId").strip()[:128],
            status=SESSION_STATUS.get(raw, raw[:16]),
            phone=None if phone is None else _phone(form["phoneNumber"], "phoneNumber"),
            duration_ms=_optional_int(form, "durationInMillis"),
            hops=_optional_int(form, "hopsCount"),
            last_screen_id=metadata.split("|")[-1][:64] if metadata else None,
            error=(_optional(form, "errorMessage") or "")[:255] or None,
            network_code=_optional(form, "networkCode"),
            cost=(_optional(form, "cost") or "")[:32] or None,
        )
