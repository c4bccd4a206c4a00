"""Who is signed in, and who may see what: log-in and log-out, roles, districts, CSRF on every form.

Restricted endpoints are wrapped in `requires(Role...)`: signed-out visitors are sent to the log-in
page, the wrong role gets a 403 page, and every unsafe method must carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ureport.accounts import authenticate
from ureport.clock import utcnow
from ureport.models import Role, User
from ureport.privacy import Keyring
from ureport.web import csrf, layout, sessions
from ureport.web.csrf import csrf_token
from ureport.web.i18n import _

__all__ = ["can_see_district", "csrf_token", "current_user", "district_ids", "requires", "routes"]

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
SEE_ALL_DISTRICTS = frozenset({Role.ADMIN, Role.VIEWER})


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def current_user(request: Request) -> User | None:
    """The signed-in user (with their districts loaded), or None; read once per request."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    session = await sessions.find_session(_keyring(request), request.cookies.get(sessions.COOKIE))
    user = session.user if session is not None else None
    if user is not None:
        await user.fetch_related("districts")
    request.state.web_session = session
    request.state.user = user
    return user


def district_ids(user: User) -> set[int]:
    """The ids of an ambassador's districts (loaded by current_user; raises if they were not)."""
    return {d.location_id for d in user.districts}  # type: ignore[attr-defined]


def can_see_district(user: User, location_id: int) -> bool:
    """Admins and viewers see every district; an ambassador only their own."""
    if user.role in SEE_ALL_DISTRICTS:
        return True
    return user.role is Role.AMBASSADOR and location_id in district_ids(user)


def forbidden(request: Request, message: str) -> Response:
    context = {"title": _("Not allowed"), "message": message}
    return layout.render(request, "error.html", context, status_code=403)


def bad_token(request: Request) -> Response:
    return forbidden(
        request,
        _("This form has expired or did not come from this site. Go back, reload the page and try again."),
    )


def _login_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"


def requires(*roles: Role) -> Callable[[Endpoint], Endpoint]:
    """Restrict an endpoint to signed-in users with one of `roles` (any role when none is given)."""

    def decorate(view: Endpoint) -> Endpoint:
        @functools.wraps(view)
        async def guarded(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                return RedirectResponse(_login_url(request), status_code=303)
            if roles and user.role not in roles:
                return forbidden(request, _("Your account does not give access to this page."))
            if request.method in csrf.UNSAFE_METHODS and not await csrf.verify(request):
                await request.close()  # an uploaded file read for the token is not left open
                return bad_token(request)
            return await view(request)

        return guarded

    return decorate


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would lend our name to a phishing page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    if any(c.isspace() or not c.isprintable() for c in target):  # browsers drop tabs: "/\t/evil"
        return ""
    return target


def home_for(request: Request, user: User) -> str:
    admin_pages = any(getattr(r, "path", "") == "/admin" for r in request.app.routes)
    return "/admin" if user.role is Role.ADMIN and admin_pages else "/ambassador"


def _login_page(request: Request, *, error: str = "", email: str = "", status_code: int = 200) -> Response:
    context = {
        "error": error,
        "email": email,
        "next": safe_next(request.query_params.get("next")),
    }
    return layout.render(request, "login.html", context, status_code=status_code)


async def login_form(request: Request) -> Response:
    await current_user(request)
    return _login_page(request)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login(request: Request) -> Response:
    """Check the pre-login token, the throttle, then the password; open a new session."""
    await current_user(request)
    if not await csrf.verify(request):
        return bad_token(request)
    form = await request.form()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))
    keys = sessions.throttle_keys(_keyring(request), email, _client_address(request))
    if await sessions.locked_until(keys) is not None:
        log.warning("log-in refused: too many failures for this account or address")
        error = _("Too many failed attempts. Wait 15 minutes, then try again.")
        return _login_page(request, error=error, email=email, status_code=429)
    user = await authenticate(email, password)
    if user is None:
        await sessions.record_failure(keys)
        error = _("Wrong e-mail address or password.")
        return _login_page(request, error=error, email=email, status_code=400)
    await sessions.forget_failures(keys)
    await sessions.close_session(_keyring(request), request.cookies.get(sessions.COOKIE))  # no fixation
    token, _session = await sessions.open_session(_keyring(request), user)
    user.last_login_at = utcnow()
    await user.save(update_fields=["last_login_at"])
    log.info("user %s signed in", user.id)
    target = safe_next(str(form.get("next", ""))) or home_for(request, user)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(sessions.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=csrf.is_secure(request),
        path="/",
    )
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/")
    return response


@requires()
async def logout(request: Request) -> Response:
    await sessions.close_session(_keyring(request), request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax")
    return response


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
