"""Admin poll pages: the list with counts, uploading a poll file, a poll's previews and delivery figures,
publishing its results, and closing it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport import audit
from ureport.broadcast import Cohort
from ureport.clock import utcnow
from ureport.delivery import delivery_figures
from ureport.flows.loader import FlowError, load_flow_text
from ureport.flows.model import Flow
from ureport.flows.render import long_messages
from ureport.models import Poll, PollStatus
from ureport.polls import REGISTRATION, has_begun, save_flow
from ureport.schedule import close_poll
from ureport.web import i18n
from ureport.web.admin import figures
from ureport.web.admin.common import acting_admin, begin, render, see_other, text
from ureport.web.admin.previews import question_previews
from ureport.web.i18n import _, defer_

MAX_POLL_FILE = 512 * 1024  # a poll file is a few KB; anything this big is a mistake


def status_label(poll: Poll) -> str:
    """A draft started for a cohort is running (and public, see polls.has_begun), not a draft."""
    if poll.status == PollStatus.DRAFT and has_begun(poll):
        return _("Started for a group")
    return {"draft": _("Draft"), "active": _("Active"), "closed": _("Closed")}.get(poll.status, poll.status)


RECENT_ACTIONS = 20  # `ureport audit --limit N` shows more


def action_label(action: str) -> str:
    labels = {
        "account.add": _("Account added"),
        "account.remove": _("Account removed"),
        "account.disable": _("Account disabled"),
        "account.enable": _("Account enabled"),
        "account.password": _("Password changed"),
        "poll.load": _("Poll file loaded"),
        "poll.publish": _("Results published"),
        "poll.unpublish": _("Results held back"),
        "poll.activate": _("Made the active poll"),
        "poll.start": _("Started for a group"),
        "poll.schedule": _("Start scheduled"),
        "poll.close": _("Poll closed"),
    }
    return labels.get(action, action)


def run_label(status: str) -> str:
    labels = {
        "active": _("Waiting for an answer"),
        "completed": _("Completed"),
        "expired": _("Expired"),
        "interrupted": _("Interrupted"),
        "failed": _("Failed"),
        "closed": _("Closed with the poll"),
    }
    return labels.get(status, status)


def title_of(poll: Poll) -> str:
    return i18n.pick(poll.title, poll.default_language)[0]


async def _listing() -> list[dict[str, Any]]:
    counts = await figures.all_polls()
    rows = []
    for poll in await Poll.all().order_by("kind", "-created_at"):
        numbers = counts.get(poll.id, figures.PollFigures())
        rows.append({"poll": poll, "title": title_of(poll), "figures": numbers})
    return rows


async def index(request: Request) -> Response:
    begin(request)
    return await _index_page(request)


async def _index_page(request: Request, *, error: FlowError | None = None, problem: str = "") -> Response:
    context = {
        "rows": await _listing(),
        "statuses": figures.STATUSES,
        "error": error,
        "problem": problem,
        "status_label": status_label,
        "actions": await audit.recent(RECENT_ACTIONS),
        "action_label": action_label,
        "command_line": audit.COMMAND_LINE,
    }
    return render(request, "admin_index.html", context, status_code=400 if error or problem else 200)


async def _read_upload(request: Request) -> tuple[str, str]:
    """The uploaded file's name and text; raises ValueError with a message an admin can act on."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValueError(_("Choose a poll file (.yaml) to upload."))
    try:
        data = await upload.read(MAX_POLL_FILE + 1)
    finally:
        await upload.close()  # a spooled temporary file: closed now, not whenever it is collected
    if len(data) > MAX_POLL_FILE:
        raise ValueError(_("The file is too large for a poll file."))
    try:
        return upload.filename, data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(_("The file is not UTF-8 text.")) from None


async def upload(request: Request) -> Response:
    """Compile first, save only a flow with no error: a bad file changes nothing."""
    begin(request)
    try:
        filename, source = await _read_upload(request)
        flow = load_flow_text(source, source=filename)
    except ValueError as exc:
        return await _index_page(request, problem=str(exc))
    except FlowError as exc:
        return await _index_page(request, error=exc)
    activate = text(await request.form(), "activate") == "1"
    poll = await save_flow(flow, activate=activate)
    await audit.poll_loaded(acting_admin(request), poll.slug, poll.version, activated=activate)
    return see_other(f"/admin/polls/{poll.slug}?loaded=1")


async def _poll(request: Request) -> Poll:
    poll = await Poll.get_or_none(slug=request.path_params["slug"])
    if poll is None:
        raise HTTPException(404, defer_("No poll has this name."))
    return poll


def _previews(request: Request, flow: Flow) -> list[dict[str, Any]]:
    state = request.app.state
    budget = state.settings.ussd_screen
    return [
        {"language": lang, "questions": question_previews(flow, lang, state.catalog, budget)}
        for lang in flow.languages
    ]


async def detail(request: Request) -> Response:
    """The poll as phones will see it, its counts and its delivery figures, and what can be done."""
    begin(request)
    poll = await _poll(request)
    await request.app.state.catalog.refresh()  # district menus in the previews follow loaded locations
    flow = load_flow_text(poll.source, source=poll.slug)
    counts = (await figures.all_polls()).get(poll.id, figures.PollFigures())
    delivery = await delivery_figures(poll.slug)
    context = {
        "poll": poll,
        "title": title_of(poll),
        "flow": flow,
        "previews": _previews(request, flow),
        "notes": long_messages(flow),
        "figures": counts,
        "delivery": delivery,
        "statuses": figures.STATUSES,
        "status_label": status_label,
        "has_begun": has_begun,
        "run_label": run_label,
        "loaded": request.query_params.get("loaded") == "1",
        "broadcastable": poll.kind != REGISTRATION,
        "cohort": Cohort.from_json(poll.cohort),
        "budget": request.app.state.settings.ussd_screen,
        "when": _when,
    }
    return render(request, "admin_poll.html", context)


def _when(value: Any) -> str:
    if value is None:
        return ""
    from babel.dates import format_datetime

    return format_datetime(value, format="medium", tzinfo=UTC, locale=i18n.current()) + " UTC"


async def publish(request: Request) -> Response:
    """Publish or hold back the poll's results on the public pages and JSON."""
    poll = await _poll(request)
    published = text(await request.form(), "published") == "1"
    await Poll.filter(id=poll.id).update(published=published)
    await audit.record(acting_admin(request), "poll.publish" if published else "poll.unpublish", poll.slug)
    return see_other(f"/admin/polls/{poll.slug}")


async def activate(request: Request) -> Response:
    """Make a draft the active poll, from its stored source, as `ureport polls load --activate` does."""
    poll = await _poll(request)
    if poll.kind != REGISTRATION and poll.status == PollStatus.DRAFT:
        await save_flow(load_flow_text(poll.source, source=poll.slug), activate=True)
        await audit.record(acting_admin(request), "poll.activate", poll.slug)
    return see_other(f"/admin/polls/{poll.slug}")


async def close(request: Request) -> Response:
    """Close now, as a due `close_at` would: open runs end and unsent messages of the poll fail."""
    poll = await _poll(request)
    if poll.kind != REGISTRATION and poll.closed_at is None:
        await close_poll(poll, utcnow())
        await audit.record(acting_admin(request), "poll.close", poll.slug)
    return see_other(f"/admin/polls/{poll.slug}")


routes = [
    Route("/admin", index, methods=["GET"]),
    Route("/admin/polls", upload, methods=["POST"]),
    Route("/admin/polls/{slug}", detail, methods=["GET"]),
    Route("/admin/polls/{slug}/publish", publish, methods=["POST"]),
    Route("/admin/polls/{slug}/activate", activate, methods=["POST"]),
    Route("/admin/polls/{slug}/close", close, methods=["POST"]),
]
