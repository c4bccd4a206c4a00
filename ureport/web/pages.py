"""The public pages: the dashboard at `/` and a poll's results, in the visitor's language, no script."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport.aggregates.engagement import engagement
from ureport.aggregates.results import poll_results
from ureport.clock import utcnow
from ureport.models import Location, Poll
from ureport.polls import begun_polls, has_begun, is_open, open_first
from ureport.web import auth, geo, i18n, layout, views
from ureport.web.i18n import defer_


async def _public_polls() -> list[dict[str, object]]:
    polls = await begun_polls().filter(published=True)  # unstarted drafts and held-back results stay private
    return [views.poll_item(poll) for poll in open_first(polls)]


async def home(request: Request) -> Response:
    await auth.current_user(request)  # the header names whoever is signed in
    lang = layout.begin(request)
    data = await engagement(k=request.app.state.settings.min_cell, now=utcnow())
    names = {str(i): n for i, n in await Location.filter(level=2).values_list("id", "name")}
    context = {
        "polls": await _public_polls(),
        "engagement": views.engagement_view(data, names, rtl=i18n.direction(lang) == "rtl"),
        "min_cell": data["min_cell"],
    }
    return layout.render(request, "home.html", context, lang)


async def poll_page(request: Request) -> Response:
    """A poll's results on one tab; drafts, unpublished results and the registration flow are not public."""
    await auth.current_user(request)
    lang = layout.begin(request)
    poll = await Poll.get_or_none(slug=request.path_params["slug"], kind="poll")
    if poll is None or not has_begun(poll) or not poll.published:
        raise HTTPException(404, defer_("No published poll has this name."))
    tab = request.query_params.get("tab", "all")
    tab = tab if tab in views.TABS else "all"
    data = await poll_results(poll, k=request.app.state.settings.min_cell)
    rtl = i18n.direction(lang) == "rtl"
    maps = None
    if tab == "location":
        show = dict(v.split(":", 1) for v in request.query_params.getlist("show") if ":" in v)
        maps = views.MapContext(await geo.district_shapes(), show, lang)
    title, title_lang = i18n.pick(poll.title, poll.default_language)
    context = {
        "poll": poll,
        "title": title,
        "title_lang": title_lang,
        "tab": tab,
        "tabs": [(key, views.tab_label(key)) for key in views.TABS],
        "questions": [views.question_view(q, tab, lang=lang, rtl=rtl, maps=maps) for q in data["questions"]],
        "min_cell": data["min_cell"],
        "map_legend": views.map_legend(data["min_cell"]) if tab == "location" else [],
        "open": is_open(poll),
        "started": i18n.day(poll.started_at or poll.created_at),
        "closed": i18n.day(poll.closed_at),
    }
    return layout.render(request, "poll.html", context, lang)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/polls/{slug}", poll_page, methods=["GET"]),
]
