"""Admin poll pages through the real app with a signed-in admin: upload (good, bad), previews that are the
real SMS and USSD renderings, publish/unpublish on the public pages, start for a cohort, close, delivery
figures; CSRF and roles enforced."""

from __future__ import annotations

import html
import re

import pytest

from tests.admin_helpers import admin_app, post
from tests.auth_helpers import log_in, make_user
from tests.broadcast_people import FIRST_QUESTION, make_people
from tests.harness import running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.segments import sms_segments
from ureport.flows.loader import shipped_flow_path
from ureport.models import (
    FlowRun,
    OutboundMessage,
    OutboxStatus,
    Poll,
    PollStatus,
    Question,
    Role,
    StaffAction,
)
from ureport.settings import Settings

pytestmark = pytest.mark.anyio

SHIPPED = shipped_flow_path("safe-streets").read_text(encoding="utf-8")
# The same poll under another slug, with a Swahili question long enough to need two SMS parts.
LONG_SW = "Je, unajisikia salama ukitembea kurudi nyumbani baada ya giza kuingia? " * 3
NEW_POLL = SHIPPED.replace("slug: safe-streets", "slug: night-walks").replace(
    'sw: "Je, unajisikia salama ukitembea kurudi nyumbani baada ya giza kuingia?"', f'sw: "{LONG_SW.strip()}"'
)


def _file(name: str, text: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, text.encode("utf-8"), "application/yaml")}


def _unescape(page: str) -> str:
    return html.unescape(page)


async def test_upload_a_bad_file_shows_where_and_keeps_nothing(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        polls_before = await Poll.all().count()
        broken = NEW_POLL.replace("    type: choice\n", "    type: choise\n", 1)
        response = await post(app, "/admin/polls", files=_file("night.yaml", broken))
        assert response.status_code == 400
        page = _unescape(response.text)
        assert "nothing was saved" in page
        assert "<dd>night.yaml</dd>" in page and "<dd>after_dark</dd>" in page and "<dd>type</dd>" in page
        assert await Poll.all().count() == polls_before

        unknown_key = NEW_POLL.replace("retries: 2\n", "retries: 2\nsurprise: 1\n")
        response = await post(app, "/admin/polls", files=_file("night.yaml", unknown_key))
        assert response.status_code == 400 and "<dd>surprise</dd>" in response.text
        response = await post(app, "/admin/polls", files=_file("night.yaml", "slug: [unclosed"))
        assert response.status_code == 400 and "not valid YAML" in response.text
        response = await post(app, "/admin/polls", data={})
        assert response.status_code == 400 and "Choose a poll file" in response.text
        assert await Poll.all().count() == polls_before


async def test_upload_then_preview_shows_the_real_sms_and_ussd_texts(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        response = await post(app, "/admin/polls", files=_file("night.yaml", NEW_POLL))
        assert (
            response.status_code == 303
            and response.headers["location"] == "/admin/polls/night-walks?loaded=1"
        )
        poll = await Poll.get(slug="night-walks")
        assert poll.status == PollStatus.DRAFT and await Question.filter(poll=poll).count() == 6

        page = _unescape((await app.client.get(response.headers["location"])).text)
        assert "The poll file was loaded." in page
        # The SMS the engine sends for the first question: the numbered choices on their own lines.
        assert f"{FIRST_QUESTION}\n1. Always\n2. Sometimes\n3. Never</pre>" in page
        assert "Reply 1, 2 or 3.\nDo you feel safe walking home after dark?" in page  # after a wrong answer
        # USSD: the intro does not fit with the question, so it gets its own page and a "More" line.
        assert re.search(r"CON U-Report poll: Safe streets\.[^<]*\n98\. More</pre>", page)
        assert f"CON {FIRST_QUESTION}\n1. Always\n2. Sometimes\n3. Never</pre>" in page
        # Swahili too, with the long question's parts as segments.py counts them.
        long_sms = f"{LONG_SW.strip()}\n1. Kila mara\n2. Wakati mwingine\n3. Kamwe"
        assert sms_segments(long_sms).parts == 2
        assert long_sms + "</pre>" in page and "2 parts · GSM-7" in page
        assert "sw: 2 SMS parts (GSM-7)" in page  # the loader's note for authors

        assert (
            "Make it the active poll" in page
            and (await app.client.get("/polls/night-walks")).status_code == 404
        )
        assert (await post(app, "/admin/polls/night-walks/activate")).status_code == 303
        assert (await Poll.get(slug="night-walks")).status == PollStatus.ACTIVE
        assert (await Poll.get(slug="safe-streets")).status == PollStatus.CLOSED  # one active poll at a time
        assert (await app.client.get("/polls/night-walks")).status_code == 200

        # Loading it again replaces it by slug (the loader's rule): still one poll of that name.
        response = await post(
            app, "/admin/polls", files=_file("night.yaml", SHIPPED.replace("safe-streets", "night-walks"))
        )
        assert response.status_code == 303
        assert await Poll.filter(slug="night-walks").count() == 1


async def test_publish_and_unpublish_change_the_public_pages(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        assert 'href="/polls/safe-streets"' in (await app.client.get("/")).text
        response = await post(app, "/admin/polls/safe-streets/publish", {"published": "0"})
        assert response.status_code == 303
        assert not (await Poll.get(slug="safe-streets")).published
        assert 'href="/polls/safe-streets"' not in (await app.client.get("/")).text
        assert (await app.client.get("/polls/safe-streets")).status_code == 404
        assert (await app.client.get("/polls/safe-streets/results.json")).status_code == 404
        assert "Results are held back" in (await app.client.get("/admin/polls/safe-streets")).text

        await post(app, "/admin/polls/safe-streets/publish", {"published": "1"})
        assert 'href="/polls/safe-streets"' in (await app.client.get("/")).text
        assert (await app.client.get("/polls/safe-streets")).status_code == 200
        assert (await app.client.get("/polls/safe-streets/results.json")).status_code == 200


async def test_forms_without_the_csrf_token_are_refused(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        response = await app.client.post("/admin/polls/safe-streets/publish", data={"published": "0"})
        assert response.status_code == 403
        response = await app.client.post("/admin/polls/safe-streets/close", data={"csrf_token": "forged"})
        assert response.status_code == 403
        poll = await Poll.get(slug="safe-streets")
        assert poll.published and poll.closed_at is None
        response = await app.client.post("/admin/polls", files=_file("night.yaml", NEW_POLL))
        assert response.status_code == 403 and not await Poll.exists(slug="night-walks")


@pytest.mark.parametrize("role", [None, Role.AMBASSADOR, Role.VIEWER])
async def test_only_admins_reach_the_admin_pages(
    settings: Settings, fake_gateway: FakeGateway, role: Role | None
) -> None:
    async with running_app(settings, fake_gateway) as app:
        if role is not None:
            await make_user("someone@example.org", role, *(["Nairobi"] if role is Role.AMBASSADOR else []))
            assert (await log_in(app.client, "someone@example.org")).status_code == 303
        for url in (
            "/admin",
            "/admin/polls/safe-streets",
            "/admin/simulator",
            "/admin/users",
            "/admin/districts",
        ):
            response = await app.client.get(url)
            if role is None:
                assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
            else:
                assert response.status_code == 403, url
        response = await app.client.post("/admin/polls/safe-streets/publish", data={"published": "0"})
        assert response.status_code in (303, 403) and (await Poll.get(slug="safe-streets")).published


async def test_start_counts_first_then_queues_for_the_cohort(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        phones = await make_people(settings)
        poll = await Poll.get(slug="safe-streets")
        cohort = {"district": ["KE-30"], "sex": ["female"], "age_band": "15-19, 30-34", "action": "count"}
        response = await post(app, "/admin/polls/safe-streets/start", cohort)
        assert response.status_code == 200
        assert (
            "2 people would get this poll." in response.text
        )  # Nairobi women of 18 and 31, not the one who left
        assert "Confirm: start it now" in response.text
        assert await OutboundMessage.all().count() == 0 and await FlowRun.filter(poll=poll).count() == 0

        response = await post(app, "/admin/polls/safe-streets/start", {**cohort, "action": "start"})
        assert response.status_code == 303 and response.headers["location"].endswith("?started=2")
        assert await FlowRun.filter(poll=poll).count() == 2
        queued = await OutboundMessage.filter(poll_id=poll.id, status=OutboxStatus.QUEUED).count()
        assert queued == 4  # the intro and the first question each
        assert (await Poll.get(id=poll.id)).cohort == {
            "districts": ["KE-30"],
            "age_bands": ["15-19", "30-34"],
            "sexes": ["female"],
            "languages": [],
        }
        await app.settle()
        assert FIRST_QUESTION in "".join(app.received(phones[0])) and FIRST_QUESTION in "".join(
            app.received(phones[3])
        )
        assert app.received(phones[1]) == [] and app.received(phones[4]) == []

        page = _unescape((await app.client.get("/admin/polls/safe-streets")).text)
        assert "Participants: 2 · answered at least one question: 0" in page
        assert 'Waiting for an answer</th><td class="n">2</td>' in page  # runs by status
        assert re.search(
            r'<td class="n">0</td><td class="n">4</td><td class="n">0</td><td class="n">0</td>', page
        )


async def test_bad_filters_schedule_and_close(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with admin_app(settings, fake_gateway) as app:
        await make_people(settings)
        response = await post(
            app, "/admin/polls/safe-streets/start", {"district": "Atlantis", "action": "start"}
        )
        assert response.status_code == 400 and "no district named" in _unescape(response.text)
        bad_band = {"age_band": "19-15", "action": "count"}
        response = await post(app, "/admin/polls/safe-streets/start", bad_band)
        assert response.status_code == 400 and "Age band 19-15: write the youngest" in response.text
        response = await post(
            app, "/admin/polls/safe-streets/start", {"reminder_hours": "soon", "action": "count"}
        )
        assert response.status_code == 400 and "whole number of hours" in response.text
        form = {"start_at": "2099-01-01T08:00", "close_at": "2099-01-03T08:00", "reminder_hours": "24"}
        response = await post(app, "/admin/polls/safe-streets/start", {**form, "action": "start"})
        assert response.status_code == 303 and response.headers["location"].endswith("?scheduled=1")
        poll = await Poll.get(slug="safe-streets")
        assert poll.start_at is not None and poll.start_at.year == 2099 and poll.reminder_hours == 24
        assert await OutboundMessage.all().count() == 0  # the scheduler starts it when due

        await post(app, "/admin/polls/safe-streets/start", {"action": "start", "start_at": ""})
        response = await post(app, "/admin/polls/safe-streets/start", {**form, "action": "start"})
        assert response.status_code == 400 and "already started" in response.text  # no second schedule
        await post(app, "/admin/polls/safe-streets/close")  # before the sender ran: the queue fails
        poll = await Poll.get(slug="safe-streets")
        assert poll.status == PollStatus.CLOSED and poll.closed_at is not None
        page = _unescape((await app.client.get("/admin/polls/safe-streets")).text)
        assert (
            "Failed messages by reason" in page and '<code>PollClosed</code></th><td class="n">8</td>' in page
        )
        assert "Start it for a group of people" not in page
        response = await post(app, "/admin/polls/safe-streets/start", {"action": "start"})
        assert response.status_code == 400 and "closed" in response.text


async def test_registration_cannot_be_started_and_unknown_polls_are_404(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        assert (await app.client.get("/admin/polls/registration/start")).status_code == 404
        assert (await app.client.get("/admin/polls/nothing-here")).status_code == 404
        page = (await app.client.get("/admin/polls/registration")).text
        assert "What year were you born?" in page and "Publish" not in page


async def test_admin_pages_speak_the_admins_language(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with admin_app(settings, fake_gateway) as app:
        for lang, heading in (("fr", "Sondages"), ("sw", "Kura za maoni"), ("ar", "استطلاعات الرأي")):
            page = (await app.client.get(f"/admin?lang={lang}")).text
            assert f'<html lang="{lang}"' in page and f"<h1>{heading}</h1>" in page


async def test_a_big_first_group_starts_in_the_background(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ureport.web.admin import start

    monkeypatch.setattr(start, "INLINE_MAX", 1)  # the four opted-in people count as a big group
    async with admin_app(settings, fake_gateway) as app:
        await make_people(settings)
        response = await post(app, "/admin/polls/safe-streets/start", {"action": "start"})
        assert response.status_code == 303 and response.headers["location"].endswith("?starting=4")
        poll = await Poll.get(slug="safe-streets")
        assert poll.start_at is not None and await OutboundMessage.all().count() == 0
        page = (await app.client.get(response.headers["location"])).text
        assert "Starting in the background for about 4 people: 0 so far." in page
        assert await app.app.state.machinery.scheduler.drain() == 4  # what the background loop does
        assert await OutboundMessage.filter(poll_id=poll.id).count() == 8
        page = (await app.client.get(response.headers["location"])).text
        assert "4 people: 4 so far." in page


async def test_a_draft_started_for_a_group_reads_as_started_and_links_its_public_page(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        await make_people(settings)
        await post(app, "/admin/polls", files=_file("night.yaml", NEW_POLL))
        page = _unescape((await app.client.get("/admin/polls/night-walks")).text)
        assert "Status: Draft" in page and 'href="/polls/night-walks"' not in page
        response = await post(
            app, "/admin/polls/night-walks/start", {"district": ["KE-30"], "action": "start"}
        )
        assert response.status_code == 303
        poll = await Poll.get(slug="night-walks")
        assert (
            poll.status == PollStatus.DRAFT and poll.started_at is not None
        )  # a cohort, not the active poll
        page = _unescape((await app.client.get("/admin/polls/night-walks")).text)
        assert "Status: Started for a group" in page and 'href="/polls/night-walks"' in page
        assert "Started for a group" in (await app.client.get("/admin")).text
        assert (await app.client.get("/polls/night-walks")).status_code == 200
        done = [(a.action, a.subject) for a in await StaffAction.all().order_by("id")]
        assert done[-2:] == [("poll.load", "night-walks"), ("poll.start", "night-walks")]
