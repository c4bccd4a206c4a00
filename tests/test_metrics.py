"""`GET /metrics`: Prometheus text with message counts, outbox depth and age, USSD hop latency."""

from __future__ import annotations

import dataclasses

import pytest

from tests.harness import running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.settings import Settings


@pytest.mark.anyio
async def test_metrics_expose_the_series(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await app.send("+254711000001", "JOIN")
        await app.post_sms("+254711000002", "JOIN")  # accepted, not yet processed
        await app.client.post(
            "/channels/africastalking/ussd",
            data={"sessionId": "s1", "serviceCode": "*384#", "phoneNumber": "+254711000003", "text": ""},
        )
        response = await app.client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        body = response.text
        assert 'ureport_inbound_messages{status="processed"} 1.0' in body
        assert 'ureport_inbound_messages{status="pending"} 1.0' in body
        assert 'ureport_outbound_messages{status="sent"} 3.0' in body
        assert 'ureport_outbound_messages{status="failed"} 0.0' in body
        assert "ureport_outbox_depth 0.0" in body
        assert "ureport_outbox_oldest_queued_seconds 0.0" in body
        assert "ureport_ussd_hop_seconds_count" in body
        assert "+2547" not in body


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 403), ("Bearer wrong", 403), ("Basic s3cret-scrape", 403), ("Bearer s3cret-scrape", 200)],
)
async def test_a_metrics_token_keeps_the_figures_to_the_scraper(
    settings: Settings, fake_gateway: FakeGateway, header: str | None, status: int
) -> None:
    guarded = dataclasses.replace(settings, metrics_token="s3cret-scrape")
    async with running_app(guarded, fake_gateway) as app:
        headers = {"Authorization": header} if header else {}
        response = await app.client.get("/metrics", headers=headers)
        assert response.status_code == status
        assert ("ureport_outbox_depth" in response.text) is (status == 200)
