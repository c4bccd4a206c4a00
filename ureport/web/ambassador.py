"""District pages for ambassadors (their districts), viewers and admins (every district).

A district page shows a poll's dialogue brief: the district's published results next to the national
ones, built by `district_brief` from suppressed tables only (the same report `ureport export
--district` writes). Unpublished polls are listed too: the public does not see them, staff do.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport.aggregates.brief import district_brief
from ureport.aggregates.exports import ExportError, Report, categorical_questions
from ureport.aggregates.render import count_text, percent_text, render
from ureport.models import Location, Poll, Role, User
from ureport.polls import begun_polls, has_begun, open_first
from ureport.web import auth, i18n, layout, views
from ureport.web.i18n import _, defer_

STAFF = (Role.ADMIN, Role.VIEWER, Role.AMBASSADOR)
DISTRICT_LEVEL = 2
# format -> (media type, shown inline: the printable page opens in the browser, files download)
DOWNLOADS = {
    "pdf": ("application/pdf", False),
    "html": ("text/html; charset=utf-8", True),
    "csv": ("text/csv; charset=utf-8", False),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
}


async def visible_districts(user: User) -> list[Location]:
    districts = Location.filter(level=DISTRICT_LEVEL).order_by("name")
    if user.role is Role.AMBASSADOR:
        districts = districts.filter(id__in=sorted(auth.district_ids(user)))
    elif user.role not in auth.SEE_ALL_DISTRICTS:
        return []
    return await districts


async def staff_polls() -> list[Poll]:
    """Polls with results: every poll that has begun, published or not (unstarted drafts have none)."""
    return open_first(await begun_polls())


async def _district(request: Request, user: User) -> Location | None:
    """The district in the path, None when this user may not see it (404 when there is none)."""
    location = await Location.get_or_none(id=request.path_params["district"], level=DISTRICT_LEVEL)
    if location is None:
        raise HTTPException(404, defer_("There is no such district."))
    return location if auth.can_see_district(user, location.id) else None


def not_yours(request: Request) -> Response:
    return auth.forbidden(request, _("This district is not one of yours."))


async def _poll(request: Request) -> Poll:
    poll = await Poll.get_or_none(slug=request.path_params["slug"], kind="poll")
    if poll is None or not has_begun(poll):
        raise HTTPException(404, defer_("No poll with results has this name."))
    return poll


def _user(request: Request) -> User:
    user: User = request.state.user  # set by auth.requires
    return user


def report_language(request: Request, user: User, page_lang: str) -> str:
    """`?lang=`, else the account's language, else the page's."""
    for lang in (request.query_params.get("lang"), user.language, page_lang):
        if lang in i18n.LANGUAGES:
            return lang
    return "en"


@auth.requires(*STAFF)
async def index(request: Request) -> Response:
    lang = layout.begin(request)  # before any date or number is formatted
    user = _user(request)
    districts = await visible_districts(user)
    context = {
        "districts": districts,
        "polls": [views.poll_item(p) for p in await staff_polls()] if user.role is Role.AMBASSADOR else [],
        "all_districts": user.role in auth.SEE_ALL_DISTRICTS,
    }
    return layout.render(request, "ambassador.html", context, lang)


@auth.requires(*STAFF)
async def district_page(request: Request) -> Response:
    lang = layout.begin(request)
    district = await _district(request, _user(request))
    if district is None:
        return not_yours(request)
    context = {"district": district, "polls": [views.poll_item(p) for p in await staff_polls()]}
    return layout.render(request, "ambassador_district.html", context, lang)


@auth.requires(*STAFF)
async def brief_page(request: Request) -> Response:
    """The poll's brief for the district, in the page's language, with its downloads."""
    lang = layout.begin(request)
    user = _user(request)
    district = await _district(request, user)
    if district is None:
        return not_yours(request)
    poll = await _poll(request)
    questions = await categorical_questions(poll)
    lead = request.query_params.get("question")
    report: Report | None = None
    try:
        report = await district_brief(
            poll, district, k=request.app.state.settings.min_cell, language=lang, question=lead
        )
    except ExportError:
        report = None
    context = {
        "district": district,
        "poll": views.poll_item(poll),
        "report": report,
        "questions": [(q.key, i18n.pick(q.text, poll.default_language)[0]) for q in questions],
        "lead": lead or (questions[0].key if questions else ""),
        "brief_lang": report_language(request, user, lang),
        "count_text": count_text,
        "percent_text": percent_text,
        "min_cell": request.app.state.settings.min_cell,
    }
    return layout.render(request, "ambassador_brief.html", context, lang)


@auth.requires(*STAFF)
async def download(request: Request) -> Response:
    """The brief as a file, built exactly as `ureport export SLUG --district NAME` builds it."""
    fmt = request.path_params["fmt"]
    if fmt not in DOWNLOADS:
        raise HTTPException(404, defer_("Briefs come as PDF, HTML, CSV or XLSX only."))
    user = _user(request)
    district = await _district(request, user)
    if district is None:
        return not_yours(request)
    poll = await _poll(request)
    language = report_language(request, user, i18n.request_language(request))
    try:
        report = await district_brief(
            poll,
            district,
            k=request.app.state.settings.min_cell,
            language=language,
            question=request.query_params.get("question"),
        )
    except ExportError as exc:
        raise HTTPException(404, str(exc)) from None
    media_type, inline = DOWNLOADS[fmt]
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{poll.slug}-{district.name}-{language}").strip("-")
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{name}.{fmt}"',
        "Cache-Control": "private, no-store",
    }
    return Response(render(report, fmt), media_type=media_type, headers=headers)


routes = [
    Route("/ambassador", index, methods=["GET"]),
    Route("/ambassador/{district:int}", district_page, methods=["GET"]),
    Route("/ambassador/{district:int}/{slug}", brief_page, methods=["GET"]),
    Route("/ambassador/{district:int}/{slug}/brief.{fmt}", download, methods=["GET"]),
]
