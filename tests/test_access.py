"""The access walk: every route of the app, as every kind of visitor.

Routes are read from the app itself, so a page added later is walked too: anything not listed here as
public must turn a signed-out visitor away, anything under /admin is for admins only, a district's
pages are for its ambassadors (and viewers and admins), and every form that changes something needs
its CSRF token, whoever sends it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from tests import results_people
from tests.auth_helpers import log_in, make_user
from ureport.app import create_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.demo import load_demo_content
from ureport.models import Location, Role, User
from ureport.settings import Settings

pytestmark = pytest.mark.anyio

# What a signed-out visitor may open: the public results, the log-in page, health and metrics.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/polls/{slug}"),
    ("GET", "/polls/{slug}/results.json"),
    ("GET", "/engagement.json"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/login"),
    ("POST", "/login"),  # with its pre-login CSRF token, checked below like every other form
    ("GET", "/simulator"),  # the demo's phone: plays the public SMS path, opens no session
    ("POST", "/simulator"),
}
# Machine-to-machine: Africa's Talking posts these (protected by UREPORT_CALLBACK_TOKEN, not a session).
GATEWAY = re.compile(r"^/channels/")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /ambassador/{district:int}/{slug}

    @property
    def admin(self) -> bool:
        return self.path == "/admin" or self.path.startswith("/admin/")

    @property
    def district(self) -> bool:
        return "{district" in self.path

    def url(self, values: dict[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return values.get(name, "1" if match.group(2) == ":int" else "safe-streets")

        return re.sub(r"\{(\w+)(:\w+)?\}", fill, self.path)


def walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield Endpoint(method, prefix + route.path)


@dataclass
class World:
    client: httpx.AsyncClient
    endpoints: list[Endpoint]
    values: dict[str, str]  # path parameters: real ones, the ambassador's own district
    other_district: str


@asynccontextmanager
async def world(settings: Settings, gateway: FakeGateway) -> AsyncIterator[World]:
    """The demo app with every route (the simulator too), people's answers and four accounts."""
    from tests.harness import Harness

    app = create_app(settings, background=False, demo_gateway=gateway)
    async with app.router.lifespan_context(app):
        await load_demo_content()
        await app.state.catalog.refresh()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await results_people.answer(Harness(app=app, client=client, gateway=gateway))
            ambassador = await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
            await make_user("other@example.org", Role.AMBASSADOR, "Mombasa")
            await make_user("viewer@example.org", Role.VIEWER)
            await make_user("admin@example.org", Role.ADMIN)
            nairobi = await Location.get(name="Nairobi")
            mombasa = await Location.get(name="Mombasa")
            values = {
                "slug": "safe-streets",
                "district": str(nairobi.id),
                "fmt": "pdf",
                "id": str(ambassador.id),
            }
            yield World(client, list(walk(app.routes)), values, str(mombasa.id))


def _turned_away(response: httpx.Response) -> bool:
    if response.status_code == 303:
        return response.headers["location"].startswith("/login?next=")
    return response.status_code in (401, 403, 404)


async def _as(w: World, email: str | None) -> None:
    w.client.cookies.clear()
    if email is not None:
        assert (await log_in(w.client, email)).status_code == 303


async def _request(w: World, endpoint: Endpoint, values: dict[str, str]) -> httpx.Response:
    return await w.client.request(endpoint.method, endpoint.url(values), data={})


async def test_the_walk_covers_every_kind_of_page(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with world(settings, fake_gateway) as w:
        paths = {e.path for e in w.endpoints}
        assert {"/", "/login", "/logout", "/ambassador", "/ambassador/{district:int}/{slug}"} <= paths
        assert any(GATEWAY.match(p) for p in paths)
        assert all((e.method, e.path) in PUBLIC for e in w.endpoints if e.path in {"/", "/healthz"})


async def test_signed_out_visitors_reach_only_public_pages(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with world(settings, fake_gateway) as w:
        await _as(w, None)
        for endpoint in w.endpoints:
            if GATEWAY.match(endpoint.path):
                continue
            response = await _request(w, endpoint, w.values)
            if (endpoint.method, endpoint.path) in PUBLIC:
                if endpoint.method == "GET":
                    assert response.status_code == 200, endpoint
                continue
            assert _turned_away(response), (endpoint, response.status_code)
            assert "Nairobi" not in response.text or endpoint.path == "/", endpoint


async def test_ambassadors_reach_only_their_own_districts(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with world(settings, fake_gateway) as w:
        await _as(w, "amb@example.org")
        other = {**w.values, "district": w.other_district}
        for endpoint in w.endpoints:
            if GATEWAY.match(endpoint.path) or (endpoint.method, endpoint.path) in PUBLIC:
                continue
            response = await _request(w, endpoint, w.values)
            if endpoint.admin:
                assert response.status_code == 403, endpoint
            elif endpoint.district and endpoint.method == "GET":
                assert response.status_code == 200, endpoint
                assert "private" in response.headers["cache-control"], endpoint
                assert (await _request(w, endpoint, other)).status_code in (403, 404), endpoint
        index = (await w.client.get("/ambassador")).text
        assert "Nairobi" in index and "Mombasa" not in index


async def test_viewers_see_every_district_and_no_admin_page(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with world(settings, fake_gateway) as w:
        await _as(w, "viewer@example.org")
        for endpoint in w.endpoints:
            if endpoint.method != "GET" or (endpoint.method, endpoint.path) in PUBLIC:
                continue
            response = await _request(w, endpoint, w.values)
            if endpoint.admin:
                assert response.status_code == 403, endpoint
            elif endpoint.district:
                assert response.status_code == 200, endpoint
                other = {**w.values, "district": w.other_district}
                assert (await _request(w, endpoint, other)).status_code == 200, endpoint


async def test_only_admins_reach_the_admin_pages(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with world(settings, fake_gateway) as w:
        await _as(w, "admin@example.org")
        admin_pages = [e for e in w.endpoints if e.admin and e.method == "GET"]
        for endpoint in admin_pages:
            response = await _request(w, endpoint, w.values)
            assert response.status_code < 500 and not _turned_away(response), (endpoint, response.status_code)
        for endpoint in w.endpoints:
            if endpoint.district and endpoint.method == "GET":
                other = {**w.values, "district": w.other_district}
                assert (await _request(w, endpoint, other)).status_code == 200, endpoint


@pytest.mark.parametrize("email", ["admin@example.org", "amb@example.org"])
async def test_every_form_refuses_a_request_without_its_csrf_token(
    settings: Settings, fake_gateway: FakeGateway, email: str
) -> None:
    async with world(settings, fake_gateway) as w:
        await _as(w, email)
        users = await User.all().count()
        checked = 0
        for endpoint in w.endpoints:
            if endpoint.method not in UNSAFE or GATEWAY.match(endpoint.path) or endpoint.path == "/simulator":
                continue
            response = await _request(w, endpoint, w.values)
            assert response.status_code == 403, (endpoint, response.status_code)
            checked += 1
        assert checked >= 2  # /login and /logout at least; the admin forms too once they exist
        assert await User.all().count() == users  # nothing was added or removed
        assert (await w.client.get("/ambassador")).status_code == 200  # and the session is still open
