"""Starlette app factory: routes, and a lifespan that opens the database and runs the background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from tortoise.contrib.starlette import RegisterTortoise

from ureport.aggregates.results import warm_up
from ureport.channels import callbacks
from ureport.channels.callbacks import Endpoint
from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.gateway import SmsGateway
from ureport.channels.ussd import routes as ussd
from ureport.channels.ussd.batch import HopBatcher
from ureport.channels.ussd.sessions import UssdService
from ureport.db import tortoise_config
from ureport.inbox_process import InboxProcess
from ureport.memory import settle_memory, unsettle_memory
from ureport.metrics import routes as metrics_routes
from ureport.privacy import install_log_masking
from ureport.settings import Settings
from ureport.web import admin, ambassador, auth, layout, pages, results, simulator
from ureport.worker import Machinery, default_gateway

log = logging.getLogger(__name__)

GZIP_MINIMUM = 1000  # bytes: smaller bodies travel as they are


class UreportApp(Starlette):
    """Starlette, with the gateway callbacks dispatched before the middleware stack and the router.

    A callback is a POST to one of a few fixed paths, answered by a `guarded` endpoint that already
    turns bad input into a one-line 4xx; the layers it skipped (error pages, gzip for bodies that are
    never near the minimum, exception handlers for pages, a regex per route) cost about a sixth of a
    USSD hop's time on the hottest path. Any other method on those paths goes the usual way (405).
    """

    def __init__(self, *, callbacks: Sequence[Route], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.callbacks: dict[str, Endpoint] = {route.path: route.endpoint for route in callbacks}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.callbacks.get(_route_path(scope))
            if endpoint is not None:
                scope["app"] = self
                await self._callback(endpoint, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    @staticmethod
    async def _callback(endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:  # what ServerErrorMiddleware would do: a 500, logged, and the server goes on
            log.exception("callback %s failed", scope["path"])
            response = PlainTextResponse("Internal Server Error", status_code=500)
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router would match: without the root path a proxy mounted the app under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


MACHINE_FACING = ("/channels/", "/metrics", "/healthz", "/_fake/")  # errors stay short plain text there


async def http_error(request: Request, exc: Exception) -> Response:
    """HTTP errors: a page in the reader's language for people; for gateways, scrapers and JSON
    clients, Starlette's plain text (a gateway logs the detail, a JSON client has no use for a page)."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    path = request.url.path
    if path.startswith(MACHINE_FACING) or path.endswith(".json"):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    return layout.error_page(request, exc.status_code, exc.detail, exc.headers)


async def _warm_up(k: int) -> None:
    """Public results computed at start (seconds of suppression for a thin poll), not by the first
    reader; a failure here is logged and left to the first reader to meet again."""
    try:
        computed = await warm_up(k)
    except Exception:
        log.exception("computing the public results at start failed")
    else:
        log.info("results of %d public polls computed", computed)


def create_app(
    settings: Settings,
    *,
    background: bool = True,
    gateway: SmsGateway | None = None,
    demo_gateway: FakeGateway | None = None,
    inbox_process: InboxProcess | None = None,
) -> Starlette:
    """The ASGI app. `background=False` persists callbacks but leaves processing to the caller (tests);
    a `demo_gateway` adds the phone simulator, which reads the replies that fake gateway received;
    an `inbox_process` processes the inbox in a process of its own, started and stopped with the app,
    while this one accepts and sends."""
    install_log_masking()
    keyring = settings.keyring()
    gateway = gateway or default_gateway(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.db_url)):
            machinery = await Machinery.build(settings, keyring, gateway)
            app.state.machinery = machinery
            app.state.catalog, app.state.processor = machinery.catalog, machinery.processor
            app.state.sender, app.state.inbox_writer = machinery.sender, machinery.writer
            app.state.ussd = HopBatcher(UssdService(machinery.catalog, keyring, settings))
            machinery.writer.start()  # accepting callbacks needs the writer, whatever else runs here
            if background and settings.process_inbox:
                machinery.start(process=inbox_process is None)
                if inbox_process is not None:
                    machinery.writer.on_commit = inbox_process.wake
                    await inbox_process.start(on_replies=machinery.sender.wake if machinery.sender else None)
            warming = asyncio.create_task(_warm_up(settings.min_cell)) if background else None
            thresholds = settle_memory()
            try:
                yield
            finally:
                unsettle_memory(thresholds)  # what start-up built can be collected once the app is gone
                if warming is not None:
                    warming.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await warming
                await app.state.ussd.stop()
                await machinery.stop()
                if inbox_process is not None:  # after the writer: what it committed is processed
                    await inbox_process.stop()

    routes = [Route("/healthz", healthz), *callbacks.routes, *ussd.routes, *results.routes, *pages.routes]
    routes += auth.routes + ambassador.routes
    routes += metrics_routes
    routes += admin.routes
    if demo_gateway is not None:
        routes += simulator.routes
    # Pages and JSON travel compressed: many readers are on 2G/3G (bodies under 1 KB are left as they are).
    middleware = [Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM)]
    app = UreportApp(
        callbacks=[*callbacks.routes, *ussd.routes],
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.sender_keys = callbacks.SenderKeys(keyring, settings.default_region)
    app.state.demo_gateway = demo_gateway
    app.state.simulator_sent = {}
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` (several worker processes, PostgreSQL)."""
    return create_app(Settings.from_env())
