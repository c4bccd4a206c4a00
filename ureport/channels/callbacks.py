"""Starlette endpoints for Africa's Talking callbacks: parse, turn the number into a key, persist, answer."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tortoise.exceptions import BaseORMException

from ureport.channels.africastalking import DeliveryReport, SmsInbound
from ureport.channels.forms import PayloadError, read_form
from ureport.clock import utcnow
from ureport.models import InboxStatus
from ureport.privacy import Identity, Keyring, PhoneError, normalise_phone
from ureport.recipients import apply_delivery_report

log = logging.getLogger(__name__)

SMS_CHANNEL = "at-sms"
Endpoint = Callable[[Request], Awaitable[Response]]


def _reject(status: int, reason: str) -> Response:
    return PlainTextResponse(reason + "\n", status_code=status)


def guarded(endpoint: Endpoint) -> Endpoint:
    """Check the optional callback token, and turn bad input into a one-line 4xx (never a 500)."""

    async def wrapper(request: Request) -> Response:
        token = request.app.state.settings.callback_token
        if token:  # the query string is parsed only when there is a token to find in it
            given = request.query_params.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return _reject(403, "missing or wrong callback token")
        try:
            return await endpoint(request)
        except PayloadError as exc:
            return _reject(exc.status_code, str(exc))
        except PhoneError as exc:
            return _reject(400, f"field 'from': {exc}")
        except BaseORMException:  # not stored: the gateway retries, and nothing was lost
            log.exception("callback could not be stored")
            return _reject(503, "could not store the message now; try again")

    return wrapper


@guarded
async def sms_inbound(request: Request) -> Response:
    """Persist the message (idempotent on the gateway id) before answering 200; processing comes after."""
    await accept_sms(request.app.state, SmsInbound.from_form(await read_form(request)))
    return Response(status_code=200)


class SenderKeys:
    """The identities (digests and a ciphertext) of the numbers that wrote lately, found by a keyed hash
    of the raw `from` field. Normalising with phonenumbers cost more than everything else in accepting
    a callback, and people send several texts; no number is held in clear, only what the inbox stores.
    """

    def __init__(self, keyring: Keyring, region: str, *, size: int = 10_000) -> None:
        self.keyring, self.region, self.size = keyring, region, size
        self._known: dict[bytes, Identity] = {}

    def of(self, raw: str) -> Identity:
        """The identity of the number `raw` names; PhoneError when it names none."""
        key = self.keyring.memo_key(f"{self.region}\x00{raw}")
        found = self._known.get(key)
        if found is None:
            found = self.keyring.identity(normalise_phone(raw, self.region))
            if len(self._known) >= self.size:
                del self._known[next(iter(self._known))]  # the oldest entry
            self._known[key] = found
        return found


async def accept_sms(state: State, message: SmsInbound) -> None:
    """Turn the number into its digest and ciphertext at the edge, then persist (group commit)."""
    keyring: Keyring = state.keyring
    senders: SenderKeys = state.sender_keys
    sender = senders.of(message.sender)
    row = {
        "channel": SMS_CHANNEL,
        "gateway_id": message.gateway_id,
        "urn_digest": sender.digest,
        "urn_cipher": sender.cipher,
        "text_cipher": keyring.encrypt_text(message.text),
        "to": message.to,
        "link_id": message.link_id,
        "network_code": message.network_code,
        "gateway_date": message.received_at,
        "received_at": utcnow(),
        "status": InboxStatus.PENDING,
        "attempts": 0,
        "error": None,
        "processed_at": None,
    }
    await state.inbox_writer.persist(row)


def optional_digest(state: State, phone: str | None) -> str | None:
    """The digest of a number a notification may carry, for audit rows; None when absent or invalid."""
    if not phone:
        return None
    try:
        digest: str = state.keyring.digest(normalise_phone(phone, state.settings.default_region))
    except PhoneError:
        return None
    return digest


@guarded
async def delivery_report(request: Request) -> Response:
    """Update the outbox; unknown ids and statuses are logged and still answered 200 (no gateway retries)."""
    state = request.app.state
    report = DeliveryReport.from_form(await read_form(request))
    digest = optional_digest(state, report.phone)
    if report.status is None:
        log.warning("delivery report %s has unknown status %r", report.gateway_id, report.raw_status)
    known = await apply_delivery_report(report, digest)
    if not known:
        log.info("delivery report for unknown message id %s", report.gateway_id)
    return Response(status_code=200)


routes = [
    Route("/channels/africastalking/sms", sms_inbound, methods=["POST"]),
    Route("/channels/africastalking/delivery", delivery_report, methods=["POST"]),
]
