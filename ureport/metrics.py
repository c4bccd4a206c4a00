"""`GET /metrics` in Prometheus's text format: message counts and the outbox, read at scrape time.

Counts come from the database, not from process counters, so every web and sender process reports the
same figures and a restart loses nothing; each query is a GROUP BY over an indexed status column.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tortoise.functions import Count

from ureport.clock import utcnow
from ureport.models import InboundMessage, OutboundMessage, OutboxStatus

# Per process (a histogram cannot be rebuilt from the database); Prometheus sums the processes.
HOPS = CollectorRegistry()
USSD_HOP_SECONDS = Histogram(
    "ureport_ussd_hop_seconds",
    "Time to answer a USSD hop, callback in to screen out (Africa's Talking allows 10 s)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=HOPS,
)


class Snapshot(Collector):
    """Gauges filled from one set of database reads."""

    def __init__(self, inbound: dict[str, int], outbound: dict[str, int], oldest: datetime | None) -> None:
        self.inbound, self.outbound, self.oldest = inbound, outbound, oldest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        inbound = GaugeMetricFamily("ureport_inbound_messages", "Inbox rows by status", labels=["status"])
        for status, n in sorted(self.inbound.items()):
            inbound.add_metric([status], n)
        outbound = GaugeMetricFamily("ureport_outbound_messages", "Outbox rows by status", labels=["status"])
        for status in OutboxStatus:
            outbound.add_metric([status.value], self.outbound.get(status.value, 0))
        yield inbound
        yield outbound
        yield GaugeMetricFamily(
            "ureport_outbox_depth", "Messages queued, not yet sent", value=self.outbound.get("queued", 0)
        )
        age = (utcnow() - self.oldest).total_seconds() if self.oldest else 0.0
        yield GaugeMetricFamily(
            "ureport_outbox_oldest_queued_seconds", "Age of the oldest queued message", value=max(age, 0.0)
        )


async def _by_status(model: type[InboundMessage] | type[OutboundMessage]) -> dict[str, int]:
    rows = await model.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    return {str(status): int(n) for status, n in rows}


async def snapshot() -> Snapshot:
    oldest = await (
        OutboundMessage.filter(status=OutboxStatus.QUEUED).order_by("id").first().values_list("created_at")
    )
    created = oldest[0] if oldest else None
    return Snapshot(await _by_status(InboundMessage), await _by_status(OutboundMessage), created)


def _allowed(request: Request) -> bool:
    """Message and queue volumes are operational, not public: a token keeps them to the scraper."""
    token: str | None = request.app.state.settings.metrics_token
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: Request) -> Response:
    if not _allowed(request):
        return PlainTextResponse("metrics need Authorization: Bearer <UREPORT_METRICS_TOKEN>\n", 403)
    registry = CollectorRegistry()
    registry.register(await snapshot())
    body = await run_in_threadpool(lambda: generate_latest(registry) + generate_latest(HOPS))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics)]
