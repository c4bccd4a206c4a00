"""The demo phone simulator: play a phone against the real SMS path; read what the fake gateway got."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ureport.channels.africastalking import SmsInbound
from ureport.channels.callbacks import accept_sms
from ureport.channels.fake_gateway import FakeGateway
from ureport.clock import utcnow
from ureport.privacy import PhoneError, normalise_phone

DEFAULT_PHONE = "+254700000001"
REPLY_WAIT_SECONDS = 3.0
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
_ids = itertools.count(1)


@dataclass(frozen=True)
class Line:
    direction: str  # "sent" by the phone, or "received" from the service
    text: str
    at: float


def _gateway(request: Request) -> FakeGateway:
    gateway: FakeGateway = request.app.state.demo_gateway
    return gateway


def _conversation(request: Request, phone: str) -> list[Line]:
    sent: list[Line] = request.app.state.simulator_sent.get(phone, [])
    received = [
        Line("received", m.text, m.sent_at.timestamp())
        for m in _gateway(request).messages
        if m.number == phone
    ]
    return sorted(sent + received, key=lambda line: line.at)


async def page(request: Request) -> Response:
    phone = request.query_params.get("phone", DEFAULT_PHONE)
    context = {"phone": phone, "conversation": _conversation(request, phone), "error": None}
    return templates.TemplateResponse(request, "simulator.html", context)


async def send(request: Request) -> Response:
    """Accept the text exactly as a callback would, then give the replies a moment to arrive."""
    form = await request.form()
    raw_phone, text = str(form.get("phone", DEFAULT_PHONE)), str(form.get("text", ""))
    try:
        phone = normalise_phone(raw_phone, request.app.state.settings.default_region)
    except PhoneError as exc:
        context = {"phone": raw_phone, "conversation": [], "error": str(exc)}
        return templates.TemplateResponse(request, "simulator.html", context, status_code=400)
    before = len(_gateway(request).messages)
    request.app.state.simulator_sent.setdefault(phone, []).append(Line("sent", text, time.time()))
    message = SmsInbound(
        gateway_id=f"simulator-{time.time_ns()}-{next(_ids)}",
        sender=phone,
        to="simulator",
        text=text,
        received_at=utcnow(),
        link_id=None,
        network_code=None,
    )
    await accept_sms(request.app.state, message)
    deadline = time.monotonic() + REPLY_WAIT_SECONDS
    while time.monotonic() < deadline and len(_gateway(request).messages) == before:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # a reply often comes in several SMS: let the rest of the batch arrive
    return RedirectResponse(f"/simulator?phone={quote(phone)}", status_code=303)


routes = [
    Route("/simulator", page, methods=["GET"]),
    Route("/simulator", send, methods=["POST"]),
]
