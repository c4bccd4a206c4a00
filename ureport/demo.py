"""Demo mode: a generated secret, Kenya's counties, the shipped polls and a local fake gateway."""

from __future__ import annotations

import logging
from dataclasses import replace

from ureport.channels.fake_gateway import FakeGateway
from ureport.flows.loader import shipped_flow_path
from ureport.locations import country_districts
from ureport.models import Location, Poll
from ureport.polls import ensure_registration, load_poll_file, save_places
from ureport.settings import Settings

log = logging.getLogger(__name__)

DEMO_POLL = "safe-streets"


def prepare_demo(settings: Settings, *, host: str, port: int) -> tuple[Settings, FakeGateway | None]:
    """Fill what a newcomer has not configured, and start a local fake gateway unless credentials
    are set: the demo never reaches a real gateway by accident."""
    settings = settings.with_demo_defaults()
    if settings.sending_enabled:
        return settings, None
    delivery = f"http://{host}:{port}/channels/africastalking/delivery"
    fake = FakeGateway(delivery_url=delivery).start()
    log.info("demo: replies go to the fake gateway at %s (see %s/_fake/messages)", fake.url, fake.url)
    fake_settings = replace(
        settings, at_username="demo", at_api_key="demo-key", at_sender="12345", at_api_url=fake.url
    )
    return fake_settings, fake


async def load_demo_content() -> None:
    """Kenya's 47 counties and the demo safety poll, made active; loads nothing twice."""
    if not await Location.exists():
        await save_places(country_districts("KE"))
    await ensure_registration()
    if not await Poll.exists(slug=DEMO_POLL):
        await load_poll_file(shipped_flow_path(DEMO_POLL), activate=True)
