"""What every admin page shares: the admin's language, rendering with the site's Jinja2 environment,
and reading forms."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ureport.models import User
from ureport.web import i18n, layout


def admin_language(request: Request, user: User | None) -> str:
    """`?lang=`, the cookie, then the language saved on the account, then the browser's."""
    query, cookies = request.query_params, request.cookies
    if query.get("lang") in i18n.LANGUAGES or cookies.get(i18n.COOKIE) in i18n.LANGUAGES:
        return i18n.request_language(request)
    if user is not None and user.language in i18n.LANGUAGES:
        return str(user.language)
    return i18n.request_language(request)


def acting_admin(request: Request) -> str:
    """The signed-in admin's e-mail, as the record of staff actions names them (ureport.audit)."""
    user: User = request.state.user  # set by auth.requires
    return user.email


def begin(request: Request) -> str:
    """Set the page's language for the gettext callables; returns it."""
    user: User | None = getattr(request.state, "user", None)
    lang = admin_language(request, user)
    i18n.use(lang)
    return lang


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """A page through the site's layout (header, languages, the signed-in user), never cached."""
    response = layout.render(request, name, context, i18n.current(), status_code=status_code)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def see_other(url: str) -> Response:
    """After a POST that changed something: the browser GETs the result (no re-post on reload)."""
    return RedirectResponse(url, status_code=303)


def values(form: FormData, name: str) -> tuple[str, ...]:
    """Every non-empty value of a repeated field, or of a comma-separated text field."""
    out: list[str] = []
    for raw in form.getlist(name):
        if isinstance(raw, str):
            out += [part.strip() for part in raw.split(",") if part.strip()]
    return tuple(out)


def text(form: FormData, name: str) -> str:
    raw = form.get(name)
    return raw.strip() if isinstance(raw, str) else ""
