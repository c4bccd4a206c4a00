"""Starlette app factory: routes, and a lifespan that opens the database and runs the background tasks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from ureport.channels import callbacks
from ureport.channels.gateway import AfricasTalkingGateway, SmsGateway
from ureport.db import tortoise_config
from ureport.inbound import InboundHandler
from ureport.inbox import GroupCommitter, InboxProcessor
from ureport.outbox import Sender
from ureport.polls import Catalog, ensure_registration
from ureport.privacy import Keyring, install_log_masking
from ureport.settings import Settings

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


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


def create_app(
    settings: Settings, *, background: bool = True, gateway: SmsGateway | None = None
) -> Starlette:
    """The ASGI app. `background=False` persists callbacks but processes nothing (crash-recovery tests)."""
    install_log_masking()
    keyring = Keyring.from_secret(settings.require_secret())
    gateway = gateway or default_gateway(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.db_url)):
            await ensure_registration()
            catalog = Catalog()
            await catalog.refresh()
            sender = (
                Sender(gateway, keyring, batch=settings.send_batch, max_attempts=settings.send_max_attempts)
                if gateway
                else None
            )
            handler = InboundHandler(
                catalog, keyring, region=settings.default_region, on_queued=sender.wake if sender else None
            )
            processor = InboxProcessor(handler)
            writer = GroupCommitter(on_commit=processor.wake)
            app.state.catalog, app.state.processor, app.state.sender = catalog, processor, sender
            app.state.inbox_writer = writer
            writer.start()
            if background:
                processor.start()
                if sender is not None:
                    sender.start()
            try:
                yield
            finally:
                for task in (writer, processor, sender):
                    if task is not None:
                        await task.stop()

    app = Starlette(
        routes=[Route("/healthz", healthz), *callbacks.routes],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.keyring = keyring
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` (several worker processes, PostgreSQL)."""
    return create_app(Settings.from_env())
