"""Every golden transcript in tests/transcripts/ussd, played through the real app as USSD hops."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import running_app
from tests.transcripts import parse, updating
from tests.ussd_harness import UssdPhone
from ureport.channels.fake_gateway import FakeGateway
from ureport.settings import Settings

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts" / "ussd").glob("*.txt"))


@pytest.mark.anyio
@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(path: Path, settings: Settings, fake_gateway: FakeGateway) -> None:
    transcript = parse(path)
    actual: list[list[str]] = []
    async with running_app(settings, fake_gateway) as app:
        phone = UssdPhone(app, transcript.phone)
        for exchange in transcript.exchanges:
            actual.append(await phone.play(exchange.sent))
    if updating():
        path.write_text(transcript.render(actual))
        return
    for exchange, replies in zip(transcript.exchanges, actual, strict=True):
        assert replies == exchange.expected, f"after '> {exchange.sent}'"
