"""An admin signed in through the real log-in form, and posting the admin pages' forms with the
session's CSRF token, as a browser does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.auth_helpers import log_in, make_user, page_token
from tests.harness import Harness, running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import Role
from ureport.settings import Settings

ADMIN = "admin@example.org"


@asynccontextmanager
async def admin_app(settings: Settings, gateway: FakeGateway) -> AsyncIterator[Harness]:
    """The demo content and an admin signed in on the harness's client."""
    async with running_app(settings, gateway) as app:
        await make_user(ADMIN, Role.ADMIN)
        response = await log_in(app.client, ADMIN)
        assert response.status_code == 303, response.text[:300]
        yield app


async def post(app: Harness, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
    """A form POST carrying the session's token (read from an admin page, as the form would)."""
    token = await page_token(app.client, "/admin")
    return await app.client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)
