"""Drive the real ASGI app the way Africa's Talking does, and read what the fake gateway was sent."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from ureport.app import create_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.demo import load_demo_content
from ureport.settings import Settings

_ids = itertools.count(1)


def sms_form(phone: str, text: str, *, gateway_id: str | None = None) -> dict[str, str]:
    """An inbound-SMS callback body exactly as Africa's Talking posts it."""
    return {
        "from": phone,
        "to": "12345",
        "text": text,
        "date": "2026-11-24 10:00:00",
        "id": gateway_id or f"ec9adc86-51d5-4bc8-8eb0-{next(_ids):012d}",
        "linkId": "03090445075804249226",
        "networkCode": "63902",
    }


@dataclass
class Harness:
    """The app, an HTTP client speaking ASGI to it, and the fake gateway its sender talks to."""

    app: Any
    client: httpx.AsyncClient
    gateway: FakeGateway
    seen: dict[str, int] = field(default_factory=dict)

    async def post_sms(self, phone: str, text: str, **kwargs: str) -> httpx.Response:
        return await self.client.post("/channels/africastalking/sms", data=sms_form(phone, text, **kwargs))

    async def settle(self) -> None:
        """Process every pending inbound message and send every due reply (what the background tasks do)."""
        await self.app.state.processor.drain()
        await self.app.state.sender.drain()  # what was handed over, then what is due in the outbox

    async def send(self, phone: str, text: str) -> list[str]:
        """A phone texts us; returns the replies that reached that phone."""
        response = await self.post_sms(phone, text)
        assert response.status_code == 200, response.text
        await self.settle()
        return self.received(phone)

    def received(self, phone: str) -> list[str]:
        """Messages to `phone` since the last call."""
        texts = [m.text for m in self.gateway.messages if m.number == phone]
        start = self.seen.get(phone, 0)
        self.seen[phone] = len(texts)
        return texts[start:]


@asynccontextmanager
async def running_app(
    settings: Settings, gateway: FakeGateway, *, demo: bool = True
) -> AsyncIterator[Harness]:
    """The real app with its lifespan, background tasks off so tests decide when work happens."""
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        if demo:
            await load_demo_content()
            await app.state.catalog.refresh()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(app=app, client=client, gateway=gateway)
