"""The background machinery: inbox writer, inbox processor, outbox sender and USSD session sweeper."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ureport import db
from ureport.broadcast import Broadcaster
from ureport.channels.gateway import AfricasTalkingGateway, SmsGateway
from ureport.channels.ussd.expiry import SessionSweeper
from ureport.inbound import InboundHandler
from ureport.inbox import GroupCommitter, InboxProcessor
from ureport.limits import SenderCensus
from ureport.memory import settle_memory, unsettle_memory
from ureport.outbox import Sender
from ureport.polls import Catalog, ensure_registration
from ureport.privacy import Keyring
from ureport.schedule import Scheduler
from ureport.settings import Settings

log = logging.getLogger(__name__)

# Seconds between a worker's looks at the inbox (its own writer never wakes it): while messages keep
# coming, and when none came for a second. With 50 ms between batches under load, the inbox sat idle
# most of the time: bench/sms_inbound.py --split 1 processed 0.20 of the trivial endpoint, 0.24 with 5 ms.
WORKER_INBOX_POLL = (0.005, 0.05)


def default_gateway(settings: Settings) -> SmsGateway | None:
    """The Africa's Talking gateway when credentials are set; None disables sending (replies stay queued)."""
    if not (settings.at_username and settings.at_api_key):
        return None
    return AfricasTalkingGateway(
        username=settings.at_username,
        api_key=settings.at_api_key,
        sender=settings.at_sender,
        api_url=settings.at_api_url,
    )


@dataclass
class Machinery:
    """What turns accepted callbacks into replies; `start()` runs the loops, tests may drive them by hand."""

    catalog: Catalog
    writer: GroupCommitter
    processor: InboxProcessor
    sender: Sender | None
    sweeper: SessionSweeper = field(default_factory=SessionSweeper)  # expired USSD sessions
    scheduler: Scheduler | None = None  # scheduled poll starts, closing times, reminders

    @classmethod
    async def build(
        cls,
        settings: Settings,
        keyring: Keyring,
        gateway: SmsGateway | None,
        *,
        inbox_poll: tuple[float, float] = (1.0, 1.0),
        on_queued: Callable[[], None] | None = None,
    ) -> Machinery:
        """`inbox_poll`: seconds between looks at the inbox when nothing wakes the processor (the
        writer in the same process does; rows written by another process are only seen by looking),
        while messages keep coming and when they stopped. `on_queued`: what to call when replies are
        queued, with no sender here (this process's sender is woken, or handed them, otherwise)."""
        await ensure_registration()
        catalog = Catalog()
        await catalog.refresh()
        sender = None
        if gateway is not None:
            sender = Sender(
                gateway,
                keyring,
                batch=settings.send_batch,
                max_attempts=settings.send_max_attempts,
                rate=settings.send_rate,
                daily_cap=settings.daily_cap,
                lease=timedelta(seconds=settings.send_lease),
                channel_rate=settings.at_send_rate,
                census=None if db.is_sqlite(settings.db_url) else SenderCensus(settings.db_url),
            )
        handler = InboundHandler(
            catalog,
            keyring,
            region=settings.default_region,
            on_queued=sender.wake if sender else on_queued,
            sender=sender,
        )
        processor = InboxProcessor(handler, busy_seconds=inbox_poll[0], idle_seconds=inbox_poll[1])
        broadcaster = Broadcaster(catalog, settings.default_region)
        writer = GroupCommitter(on_commit=processor.wake)
        return cls(catalog, writer, processor, sender, scheduler=Scheduler(broadcaster))

    def start(self, *, process: bool = True) -> None:
        """Process the inbox (unless `process` is False: another process does), send the outbox,
        delete expired USSD sessions and start scheduled polls in the background."""
        if process:
            self.processor.start()
        self.sweeper.start()
        if self.scheduler is not None:
            self.scheduler.start()
        if self.sender is not None:
            self.sender.start()

    async def stop(self) -> None:
        for task in (self.writer, self.processor, self.sender, self.sweeper, self.scheduler):
            if task is not None:
                await task.stop()


async def run_worker(settings: Settings) -> None:
    """`ureport worker`: process and send until SIGTERM/SIGINT, with no web server."""
    keyring = settings.keyring()
    gateway = default_gateway(settings)
    if gateway is None:
        log.warning("no Africa's Talking credentials: replies are queued but not sent")
    await db.init(settings.db_url)
    # Callbacks are accepted by web processes: every reply waits for the next look at the inbox.
    machinery = await Machinery.build(settings, keyring, gateway, inbox_poll=WORKER_INBOX_POLL)
    machinery.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await run_until(stopping, machinery, log, "worker started")


async def run_until(
    stopping: asyncio.Event, machinery: Machinery, logger: logging.Logger, ready: str
) -> None:
    """A background process's life once its machinery runs: say `ready`, wait for `stopping`, then
    stop the machinery and close the database. Start-up's heap is kept out of the collector's way
    meanwhile, as the web process does."""
    thresholds = settle_memory()
    logger.info(ready)
    try:
        await stopping.wait()
    finally:
        unsettle_memory(thresholds)
        await machinery.stop()
        await db.close()
