"""Public results as JSON: every table suppressed, nothing but aggregates (docs/aggregates.md)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ureport.aggregates.engagement import engagement
from ureport.aggregates.results import poll_results
from ureport.clock import utcnow
from ureport.models import Poll
from ureport.polls import has_begun


async def results_json(request: Request) -> Response:
    """A poll's published results; drafts and results an admin unpublished are not public."""
    poll = await Poll.get_or_none(slug=request.path_params["slug"], kind="poll")
    if poll is None or not has_begun(poll) or not poll.published:
        raise HTTPException(404, "no published poll with that name")
    data = await poll_results(poll, k=request.app.state.settings.min_cell)
    return JSONResponse(data, headers={"Cache-Control": "public, max-age=60"})


async def engagement_json(request: Request) -> Response:
    """Who takes part, suppressed: opted-in people by district, sex and age band, sign-ups, activity."""
    data = await engagement(k=request.app.state.settings.min_cell, now=utcnow())
    return JSONResponse(data, headers={"Cache-Control": "public, max-age=300"})


routes = [
    Route("/polls/{slug}/results.json", results_json, methods=["GET"]),
    Route("/engagement.json", engagement_json, methods=["GET"]),
]
