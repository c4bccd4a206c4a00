"""The USSD callbacks: a hop answered with a CON/END screen, and the end-of-session notification."""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ureport.channels.callbacks import SenderKeys, guarded, optional_digest
from ureport.channels.forms import read_form
from ureport.channels.ussd.batch import HopBatcher
from ureport.channels.ussd.payloads import UssdNotification, UssdRequest
from ureport.channels.ussd.texts import text
from ureport.clock import utcnow
from ureport.metrics import USSD_HOP_SECONDS
from ureport.models import UssdSession, UssdSessionEvent

log = logging.getLogger(__name__)

HOP_HEADER = "at-ussd-hop-metadata"  # echoed by AT into the notification's hopsMetadata


class ScreenResponse(Response):
    """A screen as PlainTextResponse(body, headers={HOP_HEADER: screen_id}) sends it, its headers
    written out directly: Response.init_headers lowercases, encodes and searches them on every hop."""

    media_type = "text/plain"

    def __init__(self, body: str, screen_id: str) -> None:
        self.status_code = 200
        self.background = None
        self.body = body.encode("utf-8")
        self.raw_headers = [
            (HOP_HEADER.encode("latin-1"), screen_id.encode("latin-1")),
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"text/plain; charset=utf-8"),
        ]


@guarded
async def ussd_hop(request: Request) -> Response:
    """Always a 200 screen for a well-formed callback: a failure shows an error line, never an END."""
    start = time.perf_counter()
    try:
        return await _hop(request)
    finally:
        USSD_HOP_SECONDS.observe(time.perf_counter() - start)


async def _hop(request: Request) -> Response:
    state = request.app.state
    payload = UssdRequest.from_form(await read_form(request))
    senders: SenderKeys = state.sender_keys  # normalised once per phone, not on every hop
    sender = senders.of(payload.phone)
    batcher: HopBatcher = state.ussd
    try:
        reply = await batcher.hop(payload, sender)
    except Exception:  # logged by the batcher
        return PlainTextResponse("CON " + text("session_error", None))
    return ScreenResponse(reply.body, reply.screen_id)


@guarded
async def ussd_event(request: Request) -> Response:
    """Record the notification once per session (it may come twice); a success closes the session."""
    state = request.app.state
    note = UssdNotification.from_form(await read_form(request))
    digest = optional_digest(state, note.phone)
    event = UssdSessionEvent(
        session_id=note.session_id,
        status=note.status,
        duration_ms=note.duration_ms,
        hops=note.hops,
        error=note.error,
        last_screen_id=note.last_screen_id,
        network_code=note.network_code,
        cost=note.cost,
        urn_digest=digest,
        received_at=utcnow(),
    )
    await UssdSessionEvent.bulk_create([event], ignore_conflicts=True)
    if note.status == "success":  # reached its end: nothing to continue on the next dial
        await UssdSession.filter(id=note.session_id).update(ended=True)
    return Response(status_code=200)


routes = [
    Route("/channels/africastalking/ussd", ussd_hop, methods=["POST"]),
    Route("/channels/africastalking/ussd/events", ussd_event, methods=["POST"]),
]
