"""CSRF tokens: one per session, stored with it; before log-in, a signed double-submit cookie.

Every form that changes something carries the token in a hidden `csrf_token` field (or a script sends
it as the `X-CSRF-Token` header); `auth.requires` checks it on every unsafe method. The log-in form
has no session yet: its token is a random nonce signed with the secret key, sent both as a cookie and
in the form, so another site can neither read it nor plant one of its own making.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from ureport.privacy import Keyring

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "ureport_login_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_TOKEN_LENGTH = 256


def is_secure(request: Request) -> bool:
    """Whether the request came over TLS: uvicorn's --proxy-headers sets the scheme from a trusted
    proxy's X-Forwarded-Proto (trusted: FORWARDED_ALLOW_IPS, 127.0.0.1 and ::1 by default)."""
    return request.url.scheme == "https"


def _same(a: str, b: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (hmac's str form would raise)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _signed(keyring: Keyring, nonce: str) -> str:
    return f"{nonce}.{keyring.mac('login-csrf', nonce)}"


def _valid_login_token(keyring: Keyring, token: str | None) -> bool:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    nonce, _sep, _mac = token.partition(".")
    return _same(token, _signed(keyring, nonce))


def csrf_token(request: Request) -> str:
    """The token forms on this page must send back: the session's, or the pre-login one."""
    session = getattr(request.state, "web_session", None)
    if session is not None:
        token: str = session.csrf_token
        return token
    pending: str | None = getattr(request.state, "login_csrf", None)
    if pending is not None:
        return pending
    keyring: Keyring = request.app.state.keyring
    cookie = request.cookies.get(LOGIN_COOKIE)
    if cookie is not None and _valid_login_token(keyring, cookie):
        request.state.login_csrf = cookie
        return cookie
    token = _signed(keyring, secrets.token_urlsafe(18))
    request.state.login_csrf = token
    request.state.login_csrf_new = True
    return token


def attach(request: Request, response: Response) -> Response:
    """Send the pre-login token's cookie when this page made a new one."""
    if getattr(request.state, "login_csrf_new", False):
        response.set_cookie(
            LOGIN_COOKIE,
            request.state.login_csrf,
            httponly=True,
            samesite="lax",
            secure=is_secure(request),
            path="/",
        )
    return response


async def submitted(request: Request) -> str:
    """The token a request sent: the header, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return ""
    form = await request.form()  # cached on the request: the view reads the same form
    value = form.get(FIELD)
    return value if isinstance(value, str) else ""


async def verify(request: Request) -> bool:
    """Whether an unsafe request carries the token of its session (or, signed out, its cookie's)."""
    sent = await submitted(request)
    if not sent or len(sent) > MAX_TOKEN_LENGTH:
        return False
    session = getattr(request.state, "web_session", None)
    if session is not None:
        return _same(sent, session.csrf_token)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    keyring: Keyring = request.app.state.keyring
    return _same(sent, cookie) and _valid_login_token(keyring, cookie)
