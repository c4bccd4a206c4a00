"""A phone dialling the USSD code against the real app, the way Africa's Talking relays it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

from tests.harness import Harness
from ureport.clock import utcnow
from ureport.models import Poll
from ureport.schedule import close_poll

SERVICE_CODE = "*384*123#"
USSD_URL = "/channels/africastalking/ussd"


def ussd_form(session_id: str, phone: str, text: str) -> dict[str, str]:
    """A USSD hop exactly as Africa's Talking posts it."""
    return {
        "sessionId": session_id,
        "serviceCode": SERVICE_CODE,
        "phoneNumber": phone,
        "networkCode": "63902",
        "text": text,
    }


@dataclass
class UssdPhone:
    """Keeps what the gateway keeps: the session id and every input so far."""

    app: Harness
    phone: str
    session_id: str = ""
    inputs: list[str] = field(default_factory=list)

    async def post(self, text: str) -> httpx.Response:
        return await self.app.client.post(USSD_URL, data=ussd_form(self.session_id, self.phone, text))

    async def screen(self, text: str) -> str:
        response = await self.post(text)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.startswith(("CON ", "END ")), response.text
        return response.text

    async def dial(self, *inputs: str) -> str:
        """A new session (a dropped one is simply abandoned, as the network does); with inputs, a deep
        dial (`*384*123*1*2#`), whose first hop carries them."""
        self.session_id, self.inputs = f"ATUid_{uuid.uuid4().hex}", list(inputs)
        return await self.screen("*".join(inputs))

    async def press(self, given: str) -> str:
        self.inputs.append(given)
        return await self.screen("*".join(self.inputs))

    async def play(self, sent: str) -> list[str]:
        """One transcript line: the service code dials (`*384*123*1#` with inputs), `sms: ...` texts in,
        `close: SLUG` closes a poll (as its closing time does), anything else is typed."""
        if sent == SERVICE_CODE:
            return [await self.dial()]
        if sent.startswith(SERVICE_CODE.removesuffix("#") + "*") and sent.endswith("#"):  # a deep dial
            return [await self.dial(*sent[len(SERVICE_CODE) : -1].split("*"))]
        if sent.startswith("close: "):
            await close_now(self.app, sent.removeprefix("close: "))
            return []
        if sent.startswith("sms: "):
            return await self.app.send(self.phone, sent.removeprefix("sms: "))
        return [await self.press(sent)]


async def close_now(app: Harness, slug: str) -> None:
    """Close a poll the way the scheduler does at its closing time (open runs become closed)."""
    await close_poll(await Poll.get(slug=slug), utcnow())
    await app.app.state.catalog.refresh()
