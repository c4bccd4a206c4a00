"""Starting a poll for a cohort from the admin pages: filters, a dry-run count, then a confirmation that
starts it now or schedules it, with the same functions as `ureport polls start`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport import audit
from ureport.broadcast import Broadcaster, BroadcastError, Cohort, count_cohort, find_broadcast_poll
from ureport.clock import utcnow
from ureport.models import Location, Poll
from ureport.web.admin.common import acting_admin, begin, render, see_other, text, values
from ureport.web.admin.polls import title_of
from ureport.web.i18n import _, defer_

SEXES = ("female", "male", "other_sex")
# Bigger first groups start in the background scheduler (PostgreSQL starts ~4,000 people a second).
INLINE_MAX = 20_000


@dataclass(frozen=True)
class StartForm:
    """What the admin asked for, as typed (so that a form shown again keeps it)."""

    cohort: Cohort
    start_at: str = ""
    close_at: str = ""
    reminder_hours: str = ""

    @classmethod
    def read(cls, form: FormData) -> StartForm:
        cohort = Cohort(
            districts=values(form, "district"),
            age_bands=values(form, "age_band"),
            sexes=values(form, "sex"),
            languages=values(form, "language"),
        )
        hours = text(form, "reminder_hours")
        return cls(cohort, text(form, "start_at"), text(form, "close_at"), hours)

    def timetable(self) -> dict[str, Any]:
        """The poll's columns to set, as `polls start` sets them; raises BroadcastError when unusable."""
        for band in self.cohort.age_bands:
            low, dash, high = band.partition("-")
            if not (dash and low.isdigit() and high.isdigit() and int(low) <= int(high)):
                message = _("Age band %(band)s: write the youngest and oldest ages, e.g. 15-19.")
                raise BroadcastError(message % {"band": band})
        out: dict[str, Any] = {"cohort": self.cohort.to_json()}
        if self.close_at:
            out["close_at"] = _moment(self.close_at)
        if self.reminder_hours:
            if not self.reminder_hours.isdigit() or int(self.reminder_hours) < 1:
                raise BroadcastError(_("The reminder needs a whole number of hours, 1 or more."))
            out["reminder_hours"] = int(self.reminder_hours)
        if self.start_at:
            out["start_at"] = _moment(self.start_at)
        return out


def _moment(value: str) -> datetime:
    """A time from a datetime-local field, taken as UTC (what the database and the scheduler use)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BroadcastError(_("%(value)s is not a date and time.") % {"value": value}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _context(request: Request, poll: Poll, form: StartForm) -> dict[str, Any]:
    catalog = request.app.state.catalog
    await catalog.refresh()
    districts = await Location.filter(level=2).order_by("name").values_list("code", "name")
    return {
        "poll": poll,
        "title": title_of(poll),
        "form": form,
        "districts": districts,
        "sexes": [(s, sex_label(s)) for s in SEXES],
        "contact_languages": catalog.registration.languages if "registration" in catalog.flows else (),
        "count": None,
        "problem": "",
    }


def sex_label(sex: str) -> str:
    return {"female": _("Female"), "male": _("Male"), "other_sex": _("Other")}[sex]


async def _poll(request: Request) -> Poll:
    try:
        return await find_broadcast_poll(request.path_params["slug"])
    except BroadcastError:
        raise HTTPException(404, defer_("No poll that can be started has this name.")) from None


async def page(request: Request) -> Response:
    begin(request)
    poll = await _poll(request)
    form = StartForm(Cohort.from_json(poll.cohort))
    return render(request, "admin_start.html", await _context(request, poll, form))


async def submit(request: Request) -> Response:
    """`count` shows how many would get it and asks to confirm; `start` starts (or schedules) it."""
    begin(request)
    poll = await _poll(request)
    raw = await request.form()
    form = StartForm.read(raw)
    context = await _context(request, poll, form)
    try:
        timetable = form.timetable()
        context["count"] = await count_cohort(poll.slug, form.cohort)
        if text(raw, "action") != "start":
            return render(request, "admin_start.html", context)
        if poll.closed_at is not None:
            raise BroadcastError(_("This poll has closed."))
        if "start_at" in timetable and poll.started_at is not None:
            # The scheduler starts a poll once (its claim is started_at): a later group starts now.
            raise BroadcastError(_("This poll has already started: start another group now, not later."))
        return await _start(request, poll, form.cohort, timetable, context["count"])
    except BroadcastError as exc:
        context["problem"], context["count"] = str(exc), None
        return render(request, "admin_start.html", context, status_code=400)


async def _start(
    request: Request, poll: Poll, cohort: Cohort, timetable: dict[str, Any], count: int
) -> Response:
    """Schedule it; or start it in this request, as `polls start` does; or, for a big first group, let
    the background scheduler start it now (a request should not wait tens of seconds, nor be cut off
    by a proxy's timeout half-way: the scheduler's batches carry on and the page shows their progress)."""
    background = "start_at" not in timetable and poll.started_at is None and count > INLINE_MAX
    if background:
        timetable["start_at"] = utcnow()
    await Poll.filter(id=poll.id).update(**timetable)
    scheduled = timetable["start_at"] if "start_at" in timetable and not background else None
    await audit.poll_started(acting_admin(request), poll.slug, count, cohort.to_json(), at=scheduled)
    state = request.app.state
    if background:
        if state.machinery.scheduler is not None:  # else a `ureport worker`'s scheduler, within a minute
            state.machinery.scheduler.wake()
        return see_other(f"/admin/polls/{poll.slug}?starting={count}")
    if "start_at" in timetable:
        return see_other(f"/admin/polls/{poll.slug}?scheduled=1")
    broadcaster = Broadcaster(state.catalog, state.settings.default_region)
    started = await broadcaster.start(poll.slug, cohort)
    return see_other(f"/admin/polls/{poll.slug}?started={started}")


routes = [
    Route("/admin/polls/{slug}/start", page, methods=["GET"]),
    Route("/admin/polls/{slug}/start", submit, methods=["POST"]),
]
