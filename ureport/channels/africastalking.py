"""Africa's Talking SMS callback payloads and the gateway's status vocabularies, as data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ureport.channels.forms import PayloadError

# Formats AT has been seen to use for `date`; all are UTC whether or not they say so.
DATE_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%fZ")
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)  # "%Y-%m-%d %H:%M:%S"


class OutStatus(StrEnum):
    """Our state for an outgoing message; DELIVERED and FAILED are final."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def is_final(self) -> bool:
        return self in (OutStatus.DELIVERED, OutStatus.FAILED)


# Both finals share a rank so the first one to arrive sticks: DLRs come out of order.
_RANKS = {OutStatus.QUEUED: 0, OutStatus.SENT: 1, OutStatus.DELIVERED: 2, OutStatus.FAILED: 2}


def advance(current: OutStatus, new: OutStatus) -> OutStatus:
    """The status after `new` is reported: it only moves forward, and a final status stays."""
    return new if new.rank > current.rank else current


DELIVERY_STATUS: dict[str, OutStatus] = {
    "Sent": OutStatus.SENT,
    "Submitted": OutStatus.SENT,
    "Buffered": OutStatus.SENT,
    "Success": OutStatus.DELIVERED,
    "Rejected": OutStatus.FAILED,
    "Failed": OutStatus.FAILED,
    "Expired": OutStatus.FAILED,
    "AbsentSubscriber": OutStatus.FAILED,
}

FAILURE_REASONS: dict[str, str] = {
    "InsufficientCredit": "subscriber lacks airtime for a premium message",
    "InvalidLinkId": "invalid linkId for an on-demand service",
    "UserIsInactive": "subscriber inactive or deactivated by the network",
    "UserInBlackList": "subscriber blocked this sender",
    "UserInBlacklist": "subscriber blocked this sender",
    "UserAccountSuspended": "subscriber account suspended",
    "NotNetworkSubcriber": "routed to a network the subscriber is not on",
    "UserNotSubscribedToProduct": "subscriber not subscribed to the product",
    "UserDoesNotExist": "subscriber does not exist",
    "DeliveryFailure": "delivery failed, no reason given by the network",
    "DoNotDisturbRejection": "promotional sender used outside allowed hours (Nigeria)",
}

# AT spells it both ways (capital L in DLRs, lower-case in send replies).
OPT_OUT_REASONS = frozenset({"UserInBlackList", "UserInBlacklist"})

NETWORKS: dict[str, str] = {
    "62120": "Airtel Nigeria",
    "62130": "MTN Nigeria",
    "62150": "Glo Nigeria",
    "62160": "Etisalat Nigeria",
    "63510": "MTN Rwanda",
    "63513": "Tigo Rwanda",
    "63514": "Airtel Rwanda",
    "63902": "Safaricom",
    "63903": "Airtel Kenya",
    "63907": "Orange Kenya",
    "63999": "Equitel Kenya",
    "64002": "Tigo Tanzania",
    "64003": "Zantel Tanzania",
    "64004": "Vodacom Tanzania",
    "64005": "Airtel Tanzania",
    "64007": "TTCL Tanzania",
    "64009": "Halotel Tanzania",
    "64101": "Airtel Uganda",
    "64110": "MTN Uganda",
    "64111": "UTL Uganda",
    "64114": "Africell Uganda",
    "65001": "TNM Malawi",
    "65010": "Airtel Malawi",
    "99999": "Athena (sandbox)",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class SmsInbound:
    """An incoming SMS (AT "Incoming Messages" callback)."""

    gateway_id: str
    sender: str
    to: str
    text: str
    received_at: datetime
    link_id: str | None
    network_code: str | None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> SmsInbound:
        return cls(
            gateway_id=_required(form, "id"),
            sender=_phone(_required(form, "from"), "from"),
            to=_required(form, "to"),
            text=_required(form, "text", allow_empty=True),
            received_at=_parse_date(_required(form, "date")),
            link_id=_optional(form, "linkId"),
            network_code=_optional(form, "networkCode"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryReport:
    """A delivery report; `status` is None for a status we do not know (log it, answer 200)."""

    gateway_id: str
    raw_status: str
    status: OutStatus | None
    phone: str | None
    network_code: str | None
    failure_reason: str | None
    retry_count: int | None

    @property
    def opted_out(self) -> bool:
        return self.failure_reason in OPT_OUT_REASONS

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> DeliveryReport:
        raw_status = _required(form, "status")
        phone = _optional(form, "phoneNumber")
        return cls(
            gateway_id=_required(form, "id"),
            raw_status=raw_status,
            status=DELIVERY_STATUS.get(raw_status),
            phone=None if phone is None else _phone(phone, "phoneNumber"),
            network_code=_optional(form, "networkCode"),
            failure_reason=_optional(form, "failureReason"),
            retry_count=_optional_int(form, "retryCount"),
        )


# The longest value each field may carry (the columns that keep them): anything longer is refused
# here with a 400 naming the field, rather than failing a whole group commit in the database.
MAX_LENGTHS = {"id": 128, "to": 32, "linkId": 64, "networkCode": 16, "status": 32, "failureReason": 64}


def _bounded(field: str, value: str) -> str:
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(value) > limit:
        raise PayloadError(f"field {field!r} is longer than {limit} characters", field=field)
    return value


def _required(form: Mapping[str, str], field: str, *, allow_empty: bool = False) -> str:
    value = form.get(field)
    if value is None:
        raise PayloadError(f"missing field {field!r}", field=field)
    if not allow_empty and not value.strip():
        raise PayloadError(f"empty field {field!r}", field=field)
    return _bounded(field, value)


def _optional(form: Mapping[str, str], field: str) -> str | None:
    value = form.get(field, "").strip()
    return _bounded(field, value) or None


def _optional_int(form: Mapping[str, str], field: str) -> int | None:
    value = _optional(form, field)
    if value is None:
        return None
    if not value.isdigit():
        raise PayloadError(f"field {field!r} is not a whole number", field=field)
    return int(value)


def _phone(value: str, field: str) -> str:
    # An unencoded `+` decodes to a space; restore it rather than lose the country code.
    stripped = value.strip()
    if value[:1].isspace() and stripped[:1].isdigit():
        return "+" + stripped
    if not stripped:
        raise PayloadError(f"empty field {field!r}", field=field)
    return stripped


def _parse_date(value: str) -> datetime:
    text = value.strip()
    if _PLAIN_DATE.fullmatch(text):  # AT's usual form, read without strptime (a tenth of a callback)
        try:
            return datetime(
                int(text[:4]), int(text[5:7]), int(text[8:10]),
                int(text[11:13]), int(text[14:16]), int(text[17:19]), tzinfo=UTC,
            )  # fmt: skip
        except ValueError:
            pass  # out of range: strptime below says so in its own way
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise PayloadError("field 'date' has an unknown format", field="date")
