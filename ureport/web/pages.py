"""The public pages: the dashboard at `/` and a poll's results, in the visitor's language, no script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ureport.aggregates.engagement import engagement
from ureport.aggregates.results import poll_results
from ureport.clock import utcnow
from ureport.models import Location, Poll, PollStatus
from ureport.web import i18n, views

COOKIE_SECONDS = 365 * 24 * 3600


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Callables that read the request's language from a context variable: one shared environment.
    env.install_gettext_callables(i18n.gettext_, i18n.ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(number=i18n.number, percent=i18n.percent, day=i18n.day, languages=_language_names())
    return env


def _language_names() -> dict[str, str]:
    """Each language named in itself, so a visitor can find their own whatever the page's language."""
    from babel import Locale

    return {lang: Locale.parse(lang).get_display_name(lang) or lang for lang in i18n.LANGUAGES}


templates = Jinja2Templates(env=_environment())


def _render(request: Request, name: str, context: dict[str, Any], lang: str) -> Response:
    links = {}
    for code in i18n.LANGUAGES:  # relative links: the page works behind any host name or proxy
        url = request.url.include_query_params(lang=code)
        links[code] = f"{url.path}?{url.query}"
    base = {
        "lang": lang,
        "dir": i18n.direction(lang),
        "language_links": links,
        "simulator": request.app.state.demo_gateway is not None,
    }
    response = templates.TemplateResponse(request, name, base | context)
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Language"] = lang
    if request.query_params.get("lang") == lang:  # an explicit choice is remembered
        secure = request.url.scheme == "https"  # behind TLS (uvicorn --proxy-headers reads the proxy's)
        response.set_cookie(
            i18n.COOKIE, lang, max_age=COOKIE_SECONDS, httponly=True, samesite="lax", secure=secure
        )
    return response


def _begin(request: Request) -> str:
    lang = i18n.request_language(request)
    i18n.use(lang)
    return lang


async def _public_polls() -> list[dict[str, Any]]:
    polls = await Poll.filter(kind="poll", status__in=[PollStatus.ACTIVE, PollStatus.CLOSED]).order_by(
        "-started_at", "-created_at"
    )
    listed = []
    for poll in sorted(polls, key=lambda p: p.status != PollStatus.ACTIVE):  # stable: active ones first
        title, title_lang = i18n.pick(poll.title, poll.default_language)
        listed.append(
            {
                "slug": poll.slug,
                "title": title,
                "title_lang": title_lang,
                "active": poll.status == PollStatus.ACTIVE,
                "started": i18n.day(poll.started_at or poll.created_at),
                "closed": i18n.day(poll.closed_at),
            }
        )
    return listed


async def home(request: Request) -> Response:
    lang = _begin(request)
    data = await engagement(k=request.app.state.settings.min_cell, now=utcnow())
    names = {str(i): n for i, n in await Location.filter(level=2).values_list("id", "name")}
    context = {
        "polls": await _public_polls(),
        "engagement": views.engagement_view(data, names, rtl=i18n.direction(lang) == "rtl"),
        "min_cell": data["min_cell"],
    }
    return _render(request, "home.html", context, lang)


async def poll_page(request: Request) -> Response:
    """A poll's results on one tab; drafts and the registration flow are not public."""
    lang = _begin(request)
    poll = await Poll.get_or_none(slug=request.path_params["slug"], kind="poll")
    if poll is None or poll.status == PollStatus.DRAFT:
        raise HTTPException(404, "no published poll with that name")
    tab = request.query_params.get("tab", "all")
    tab = tab if tab in views.TABS else "all"
    data = await poll_results(poll, k=request.app.state.settings.min_cell)
    rtl = i18n.direction(lang) == "rtl"
    title, title_lang = i18n.pick(poll.title, poll.default_language)
    context = {
        "poll": poll,
        "title": title,
        "title_lang": title_lang,
        "tab": tab,
        "tabs": [(key, views.tab_label(key)) for key in views.TABS],
        "questions": [views.question_view(q, tab, lang=lang, rtl=rtl) for q in data["questions"]],
        "min_cell": data["min_cell"],
        "map_legend": views.map_legend() if tab == "location" else [],
        "started": i18n.day(poll.started_at or poll.created_at),
        "closed": i18n.day(poll.closed_at),
    }
    return _render(request, "poll.html", context, lang)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/polls/{slug}", poll_page, methods=["GET"]),
]
