"""The one Jinja2 environment of the site's pages, and rendering a page in the visitor's language.

Every page extends base.html, whose header shows the language links and, when someone is signed in,
who it is and a log-out button. Forms put `{{ csrf_field() }}` inside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from ureport.web import csrf, i18n
from ureport.web.i18n import _, defer_

COOKIE_SECONDS = 365 * 24 * 3600


@jinja2.pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden input every form that changes something must carry."""
    token = csrf.csrf_token(context["request"])
    return Markup('<input type="hidden" name="{}" value="{}">').format(csrf.FIELD, token)


def _language_names() -> dict[str, str]:
    """Each language named in itself, so a visitor can find their own whatever the page's language."""
    from babel import Locale

    return {lang: Locale.parse(lang).get_display_name(lang) or lang for lang in i18n.LANGUAGES}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Callables that read the request's language from a context variable: one shared environment.
    env.install_gettext_callables(i18n.gettext_, i18n.ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        number=i18n.number,
        percent=i18n.percent,
        day=i18n.day,
        languages=_language_names(),
        csrf_field=csrf_field,
    )
    return env


templates = Jinja2Templates(env=_environment())


def page_language(request: Request) -> str:
    """`?lang=`, the cookie, then the signed-in account's language, then the browser's."""
    query, cookies = request.query_params, request.cookies
    user = getattr(request.state, "user", None)
    chosen = query.get("lang") in i18n.LANGUAGES or cookies.get(i18n.COOKIE) in i18n.LANGUAGES
    if not chosen and user is not None and user.language in i18n.LANGUAGES:
        return str(user.language)
    return i18n.request_language(request)


def begin(request: Request) -> str:
    """Negotiate the page's language and make it the one strings are translated into (after
    `auth.current_user`, so that an account's language counts)."""
    lang = page_language(request)
    i18n.use(lang)
    return lang


def render(
    request: Request, name: str, context: dict[str, Any], lang: str | None = None, *, status_code: int = 200
) -> Response:
    """A page in `lang` (negotiated when not given), with what base.html needs."""
    lang = lang or begin(request)
    links = {}
    for code in i18n.LANGUAGES:  # relative links: the page works behind any host name or proxy
        url = request.url.include_query_params(lang=code)
        links[code] = f"{url.path}?{url.query}"
    base = {
        "lang": lang,
        "dir": i18n.direction(lang),
        "language_links": links,
        "simulator": request.app.state.demo_gateway is not None,
        "user": getattr(request.state, "user", None),
    }
    response = templates.TemplateResponse(request, name, base | context, status_code=status_code)
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Language"] = lang
    if request.query_params.get("lang") == lang:  # an explicit choice is remembered
        response.set_cookie(
            i18n.COOKIE,
            lang,
            max_age=COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=csrf.is_secure(request),
        )
    if base["user"] is not None or name == "login.html":
        response.headers["Cache-Control"] = "private, no-store"  # it names its user: no shared cache
        response.headers["X-Frame-Options"] = "DENY"  # forms that act for a user are never framed
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        response.headers["Referrer-Policy"] = "same-origin"
    return csrf.attach(request, response)


def error_page(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An HTTP error as a page in the reader's language: a title for the status, and the detail when it
    is one of ours (marked with defer_ where raised), else a plain sentence for the status."""
    lang = begin(request)
    title = i18n.gettext_(_ERROR_TITLES.get(status, _ERROR_TITLES[400 if status < 500 else 500]))
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:  # a status outside the standard list has no phrase to tell apart
        phrase = ""
    if detail != phrase:
        message = i18n.gettext_(detail)
    else:
        message = _("There is nothing at this address.") if status == 404 else ""
    context = {"title": title, "message": message}
    response = render(request, "error.html", context, lang, status_code=status)
    response.headers.update(headers or {})
    return response


_ERROR_TITLES = {
    400: defer_("This request could not be understood"),
    403: defer_("Not allowed"),
    404: defer_("Page not found"),
    405: defer_("This page cannot do that"),
    409: defer_("This cannot be done"),
    500: defer_("Something went wrong"),
}
