"""Expired USSD sessions are deleted by the background machinery, batch by batch; live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness import running_app
from tests.ussd_harness import UssdPhone
from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.ussd.expiry import SessionSweeper
from ureport.clock import utcnow
from ureport.models import UssdSession
from ureport.settings import Settings


@pytest.mark.anyio
async def test_expired_sessions_are_deleted_in_batches_and_live_ones_kept(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        phones = [UssdPhone(app, f"+25471100040{n}") for n in range(5)]
        for phone in phones:
            await phone.dial()
        expired = [phone.session_id for phone in phones[:3]]
        past = utcnow() - timedelta(seconds=1)
        await UssdSession.filter(id__in=expired).update(expires_at=past)
        assert isinstance(app.app.state.machinery.sweeper, SessionSweeper)  # runs beside the processor
        assert await SessionSweeper(batch=2).drain() == 3
        assert set(await UssdSession.all().values_list("id", flat=True)) == {p.session_id for p in phones[3:]}
        assert await SessionSweeper(batch=2).drain() == 0
        assert (await phones[0].dial()).startswith("CON Welcome")  # dialling again simply starts afresh
