"""The admin pages under `/admin`: every route here is for admins only (see `routes`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport.models import Role
from ureport.web.admin import polls, simulator, start, users
from ureport.web.auth import Endpoint, requires


def _closing(endpoint: Endpoint) -> Endpoint:
    """Close the request's form after the response is made, whoever read it (the CSRF check, or the
    view): an uploaded file is spooled to a temporary file that must not wait for the garbage collector."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        finally:
            await request.close()  # closes the form if one was read (its files with it)

    return run


def _guarded(route: Route) -> Route:
    """The route with `requires(Role.ADMIN)` around its endpoint: applied here, once for all of them, so
    that no admin page can be added without it."""
    assert route.path.startswith("/admin")  # noqa: S101 - the access-walk test treats /admin/* as admin-only
    endpoint = _closing(requires(Role.ADMIN)(route.endpoint))
    return Route(route.path, endpoint, methods=route.methods, name=route.name)


routes = [_guarded(r) for r in (*polls.routes, *start.routes, *simulator.routes, *users.routes)]
