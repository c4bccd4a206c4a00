"""`/admin/simulator`: play any poll (drafts too) on a simulated phone over SMS or USSD, against the real
engine and renderers, without a gateway and without writing anything (see sandbox.py)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport.polls import Catalog
from ureport.web import i18n
from ureport.web.admin.common import begin, render, text
from ureport.web.admin.sandbox import CHANNELS, SimState, reply
from ureport.web.admin.sandbox import begin as begin_run
from ureport.web.admin.start import SEXES, sex_label
from ureport.web.i18n import _


def _choices(catalog: Catalog) -> list[tuple[str, str]]:
    out = []
    for slug, flow in sorted(catalog.flows.items()):
        out.append((slug, i18n.pick(flow.title, flow.default_language)[0] or slug))
    return out


def _profile(form: FormData, catalog: Catalog) -> dict[str, Any]:
    """The simulated person's fields a flow may branch on; what is left empty stays unknown."""
    profile: dict[str, Any] = {}
    if text(form, "sex") in SEXES:
        profile["sex"] = text(form, "sex")
    if text(form, "birth_year").isdigit():
        profile["birth_year"] = int(text(form, "birth_year"))
    if text(form, "district") in catalog.location_ids:
        profile["district"] = text(form, "district")
    return profile


def _page(request: Request, catalog: Catalog, state: SimState | None, problem: str = "") -> Response:
    flow = catalog.flows.get(state.slug) if state else None
    context = {
        "sexes": [(s, sex_label(s)) for s in SEXES],
        "districts": [(p.code, p.name) for p in catalog.locations.leaves()],
        "polls": _choices(catalog),
        "channels": [("sms", _("SMS")), ("ussd", _("USSD"))],
        "state": state,
        "flow": flow,
        "problem": problem,
        "demo": request.app.state.demo_gateway is not None,
    }
    return render(request, "admin_simulator.html", context, status_code=400 if problem else 200)


async def page(request: Request) -> Response:
    begin(request)
    catalog: Catalog = request.app.state.catalog
    await catalog.refresh()
    slug = request.query_params.get("poll", "")
    chosen = slug if slug in catalog.flows else (catalog.active or "")
    state = SimState(chosen, request.query_params.get("channel", "sms"), "") if chosen else None
    return _page(request, catalog, state)


async def play(request: Request) -> Response:
    """`start` a fresh run of the chosen poll, or `send` the simulated person's reply."""
    begin(request)
    catalog: Catalog = request.app.state.catalog
    await catalog.refresh()
    budget = request.app.state.settings.ussd_screen
    form = await request.form()
    if text(form, "action") == "send":
        state = SimState.load(text(form, "state"))
        if state is None or state.slug not in catalog.flows:
            return _page(request, catalog, None, _("The simulation could not be read: start again."))
        return _page(
            request, catalog, reply(catalog.flows[state.slug], catalog, state, text(form, "text"), budget)
        )
    slug, channel = text(form, "poll"), text(form, "channel")
    flow = catalog.flows.get(slug)
    if flow is None or channel not in CHANNELS:
        return _page(request, catalog, None, _("Choose a poll and a channel."))
    language = text(form, "language")
    language = language if language in flow.languages else flow.default_language
    state = begin_run(flow, catalog, SimState(slug, channel, language), budget, _profile(form, catalog))
    return _page(request, catalog, state)


routes = [
    Route("/admin/simulator", page, methods=["GET"]),
    Route("/admin/simulator", play, methods=["POST"]),
]
