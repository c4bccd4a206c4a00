"""Sending SMS: the `SmsGateway` protocol, its Africa's Talking implementation and send errors."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import requests
from africastalking.Service import DEFAULT_TIMEOUT_S, AfricasTalkingException, validate_phone
from africastalking.SMS import SMSService

# How long a reason taken from a gateway reply may be; keeps log lines to one short line.
_MAX_REASON = 200


class RecipientOutcome(StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    PERMANENT = "permanent"
    OPTED_OUT = "opted_out"


RECIPIENT_STATUS: dict[int, RecipientOutcome] = {
    100: RecipientOutcome.ACCEPTED,
    101: RecipientOutcome.ACCEPTED,
    102: RecipientOutcome.ACCEPTED,
    401: RecipientOutcome.PERMANENT,
    402: RecipientOutcome.PERMANENT,
    403: RecipientOutcome.PERMANENT,
    404: RecipientOutcome.PERMANENT,
    # Account-level (no credit): nothing is wrong with the recipient, so try again later.
    405: RecipientOutcome.RETRY,
    406: RecipientOutcome.OPTED_OUT,
    407: RecipientOutcome.PERMANENT,
    409: RecipientOutcome.PERMANENT,
    500: RecipientOutcome.RETRY,
    501: RecipientOutcome.RETRY,
    502: RecipientOutcome.PERMANENT,
}

RECIPIENT_STATUS_NAMES: dict[int, str] = {
    100: "Processed",
    101: "Sent",
    102: "Queued",
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}


def recipient_outcome(status_code: int) -> RecipientOutcome:
    """Outcome for a per-recipient statusCode; an unknown 1xx is accepted, anything else unknown
    is permanent, because retrying a message AT may have taken risks sending it twice."""
    if status_code in RECIPIENT_STATUS:
        return RECIPIENT_STATUS[status_code]
    return RecipientOutcome.ACCEPTED if 100 <= status_code < 200 else RecipientOutcome.PERMANENT


@dataclass(frozen=True, kw_only=True)
class RecipientResult:
    number: str
    status_code: int
    outcome: RecipientOutcome
    message_id: str | None
    cost: str | None
    parts: int | None
    status: str


class SendError(Exception):
    """A whole send failed; `retryable` says whether the same request may be tried again."""

    retryable: ClassVar[bool] = False

    def __init__(self, reason: str, *, http_status: int | None = None) -> None:
        self.reason = " ".join(reason.split())[:_MAX_REASON]
        self.http_status = http_status
        super().__init__(self.reason)


class TransientSendError(SendError):
    retryable = True


class PermanentSendError(SendError):
    retryable = False


class SmsGateway(Protocol):
    def send(self, text: str, recipients: Sequence[str]) -> list[RecipientResult]:
        """Send one text to recipients (E.164); blocking, so call it via `run_in_threadpool`."""
        ...


def mask_number(number: str) -> str:
    """A phone number fit for a log line: +254711000178 -> +2547******78."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]


class _HttpStatusError(Exception):
    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body


class _SMSService(SMSService):  # type: ignore[misc]  # the SDK ships no type hints
    """The SDK's SMS service with a configurable base URL and a status-preserving transport.

    The SDK still validates numbers and builds the form, the parts that follow AT's API. We
    override only `_make_request` because the SDK raises `AfricasTalkingException(res.text)`
    for every non-2xx reply, dropping the HTTP status: a 503 "Service Unavailable" and a 401
    "The supplied authentication is invalid" would then differ only in free text. Owning the
    ten lines of transport keeps the status, so 429/5xx can be retried and 401/4xx not. Requests go
    through one `requests.Session`, so the connection to the gateway is kept alive between them (the
    SDK's `requests.request` opened a connection, and built a session, for every request).

    The environment's proxy and CA bundle settings are read once, here: left to requests, they were
    read again from the whole environment on every request, about a quarter of a send's CPU.
    """

    def __init__(self, username: str, api_key: str, *, api_url: str | None) -> None:
        # Set before super().__init__, which calls _init_service().
        self._api_url = api_url.rstrip("/") if api_url else None
        self._session = requests.Session()
        super().__init__(username, api_key)
        url = self._make_url("/messaging")
        self._session.proxies.update(requests.utils.get_environ_proxies(url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self._session.verify = bundle
        self._session.trust_env = False

    def _init_service(self) -> None:
        super()._init_service()
        if self._api_url is not None:
            self._baseUrl = self._contentUrl = self._api_url + "/version1"

    def _make_request(
        self,
        url: str,
        method: str,
        headers: Mapping[str, str],
        data: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        callback: object = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT_S,
    ) -> Any:
        if callback is not None:
            raise NotImplementedError("callback mode is not supported")
        res = self._session.request(method, url, headers=headers, data=data, params=params, timeout=timeout)
        if not 200 <= res.status_code < 300:
            raise _HttpStatusError(res.status_code, res.text)
        # Same contract as the SDK: JSON only for this exact content type, else the text.
        if res.headers.get("content-type") == "application/json":
            return res.json()
        return res.text


class AfricasTalkingGateway:
    """`SmsGateway` over the `africastalking` SDK; `api_url` (e.g. a fake gateway) replaces
    https://api.africastalking.com, and None keeps the SDK's URL (sandbox for user `sandbox`)."""

    def __init__(
        self,
        *,
        username: str,
        api_key: str,
        sender: str | None,
        api_url: str | None = None,
        timeout: tuple[float, float] = (3.05, 9.05),
    ) -> None:
        self._service = _SMSService(username, api_key, api_url=api_url)
        self._sender = sender
        self._timeout = timeout

    @property
    def messaging_url(self) -> str:
        return str(self._service._make_url("/messaging"))

    def send(self, text: str, recipients: Sequence[str]) -> list[RecipientResult]:
        # The SDK refuses the whole request for one malformed number: that one fails alone, as
        # InvalidPhoneNumber (what AT answers for it), and the others go.
        numbers = [number for number in recipients if validate_phone(number)]
        invalid = [_invalid_recipient(number) for number in recipients if not validate_phone(number)]
        if not numbers:
            return invalid
        return invalid + self._send(text, numbers)

    def _send(self, text: str, numbers: list[str]) -> list[RecipientResult]:
        try:
            reply = self._service.send(
                text,
                numbers,
                sender_id=self._sender,
                enqueue=len(numbers) > 1,
                timeout=self._timeout,
            )
        except _HttpStatusError as exc:
            raise http_send_error(exc.status_code, exc.body) from None
        except requests.exceptions.JSONDecodeError:
            raise PermanentSendError("malformed reply: body is not JSON") from None
        except requests.RequestException as exc:
            raise _request_error(exc) from None
        except AfricasTalkingException as exc:
            raise PermanentSendError(f"gateway error: {exc}") from None
        except ValueError:
            raise PermanentSendError(_invalid_number_reason(numbers)) from None
        return parse_send_reply(reply, expected=len(numbers))


def http_send_error(status_code: int, body: str) -> SendError:
    """The error for a non-2xx reply: throttling and server errors are worth retrying."""
    reason = f"HTTP {status_code}: {body}"
    if status_code in (408, 429) or status_code >= 500:
        return TransientSendError(reason, http_status=status_code)
    return PermanentSendError(reason, http_status=status_code)


def _request_error(exc: requests.RequestException) -> SendError:
    # A malformed configured URL raises a RequestException that is also a ValueError.
    if isinstance(exc, ValueError):
        return PermanentSendError(f"bad gateway URL: {type(exc).__name__}")
    # Timeouts included: the request may have reached AT, so a retry can duplicate it.
    return TransientSendError(f"network error: {type(exc).__name__}")


def _invalid_recipient(number: str) -> RecipientResult:
    return RecipientResult(
        number=number,
        status_code=403,
        outcome=RecipientOutcome.PERMANENT,
        message_id=None,
        cost=None,
        parts=None,
        status=RECIPIENT_STATUS_NAMES[403],
    )


def _invalid_number_reason(numbers: Sequence[str]) -> str:
    bad = [number for number in numbers if not validate_phone(number)]
    return "invalid phone number: " + (mask_number(bad[0]) if bad else "?")


def parse_send_reply(reply: object, *, expected: int) -> list[RecipientResult]:
    """Recipients from a send reply (a dict, or its JSON text when the content type was off)."""
    if isinstance(reply, str | bytes):
        try:
            reply = json.loads(reply)
        except ValueError:
            raise PermanentSendError("malformed reply: body is not JSON") from None
    data = reply.get("SMSMessageData") if isinstance(reply, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("Recipients"), list):
        raise PermanentSendError("malformed reply: no SMSMessageData.Recipients")
    entries: list[object] = data["Recipients"]
    if not entries and expected:
        # e.g. {"Message": "InvalidSenderId", "Recipients": []}: nothing was sent to anyone.
        raise PermanentSendError(f"no recipients in reply: {data.get('Message', '')}")
    return [_recipient(entry) for entry in entries]


def _recipient(entry: object) -> RecipientResult:
    if not isinstance(entry, dict):
        raise PermanentSendError("malformed reply: recipient is not an object")
    number, code = entry.get("number"), entry.get("statusCode")
    if not isinstance(number, str) or not isinstance(code, int | str) or not str(code).isdigit():
        raise PermanentSendError("malformed reply: recipient lacks number or statusCode")
    message_id, cost, parts = entry.get("messageId"), entry.get("cost"), entry.get("messageParts")
    return RecipientResult(
        number=number,
        status_code=int(code),
        outcome=recipient_outcome(int(code)),
        # AT puts the string "None" where a failed recipient has no id.
        message_id=message_id if isinstance(message_id, str) and message_id not in ("", "None") else None,
        cost=cost if isinstance(cost, str) else None,
        parts=parts if isinstance(parts, int) and not isinstance(parts, bool) else None,
        status=str(entry.get("status", "")),
    )
