"""Admin pages for accounts and districts, and the admin's phone simulator (SMS and USSD through the real
engine and renderers, nothing saved, nothing sent)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.admin_helpers import ADMIN, admin_app, post
from tests.harness import Harness
from ureport import accounts
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import (
    Answer,
    Contact,
    FlowRun,
    InboundMessage,
    Location,
    OutboundMessage,
    Role,
    StaffAction,
    User,
)
from ureport.settings import Settings

pytestmark = pytest.mark.anyio

DATA = Path(__file__).with_name("data")


async def test_add_an_ambassador_with_a_made_up_password_shown_once(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        form = {"email": "Wanjiru@Example.org", "role": "ambassador", "district": ["Nairobi", "Mombasa"]}
        response = await post(app, "/admin/users", form)
        assert response.status_code == 200
        shown = re.search(r"shown this once only[^<]*<code>([^<]+)</code>", html.unescape(response.text))
        assert shown is not None
        user = await User.get(email="wanjiru@example.org")
        assert user.role is Role.AMBASSADOR and shown.group(1) not in user.password_hash
        assert await accounts.authenticate("wanjiru@example.org", shown.group(1)) is not None
        listing = (await app.client.get("/admin/users")).text
        assert "Mombasa, Nairobi" in listing and shown.group(1) not in listing
        districts = html.unescape((await app.client.get("/admin/districts")).text)
        assert re.search(
            r"Nairobi</th><td><code>KE-30</code></td><td>[^<]*</td><td>wanjiru@example.org</td>", districts
        )

        response = await post(
            app,
            "/admin/users",
            {"email": "viewer@example.org", "role": "viewer", "password": "long enough pass"},
        )
        assert response.status_code == 200 and "shown this once" not in response.text
        assert await accounts.authenticate("viewer@example.org", "long enough pass") is not None


async def test_bad_accounts_are_refused_with_the_reason(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        cases = [
            ({"email": "not-an-address", "role": "viewer"}, "not-an-address is not an e-mail address."),
            ({"email": "a@example.org", "role": "ambassador"}, "An ambassador needs at least one district."),
            ({"email": "a@example.org", "role": "viewer", "district": "Nairobi"}, "Only ambassadors have"),
            ({"email": "a@example.org", "role": "viewer", "password": "short"}, "at least 10 characters"),
            ({"email": ADMIN.upper(), "role": "admin"}, f"{ADMIN} already has an account."),
            ({"email": "a@example.org", "role": "boss"}, "Choose a role."),
            ({"email": "a@example.org", "role": "ambassador", "district": "Atlantis"}, "no district named"),
        ]
        for form, reason in cases:
            response = await post(app, "/admin/users", form)
            assert response.status_code == 400 and reason in html.unescape(response.text), form
        assert await User.all().count() == 1
        response = await post(app, "/admin/users?lang=fr", {"email": "a@example.org", "role": "ambassador"})
        assert "Un ambassadeur a besoin d'au moins un district." in html.unescape(response.text)


async def test_disable_and_remove_but_never_yourself(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with admin_app(settings, fake_gateway) as app:
        other, _places = await accounts.add_user("other@example.org", Role.VIEWER, "long enough pass", [])
        assert (await post(app, f"/admin/users/{other.id}/active", {"active": "0"})).status_code == 303
        assert not (await User.get(id=other.id)).active
        assert await accounts.authenticate("other@example.org", "long enough pass") is None
        await post(app, f"/admin/users/{other.id}/active", {"active": "1"})
        assert (await User.get(id=other.id)).active
        assert (await post(app, f"/admin/users/{other.id}/remove")).status_code == 303
        assert not await User.exists(id=other.id)

        me = await User.get(email=ADMIN)
        assert (await post(app, f"/admin/users/{me.id}/remove")).status_code == 409
        assert (await post(app, f"/admin/users/{me.id}/active", {"active": "0"})).status_code == 409
        assert (await User.get(id=me.id)).active
        assert (await app.client.post(f"/admin/users/{other.id}/remove", data={})).status_code in (403, 404)

        # Who did it stays on record after the account is gone, with the admin's e-mail.
        done = [(a.actor, a.action, a.subject) for a in await StaffAction.all().order_by("id")]
        assert done[-4:] == [
            ("command line", "account.add", "other@example.org"),
            (ADMIN, "account.disable", "other@example.org"),
            (ADMIN, "account.enable", "other@example.org"),
            (ADMIN, "account.remove", "other@example.org"),
        ]
        page = (await app.client.get("/admin")).text
        assert "Account removed" in page and "other@example.org" in page


async def test_load_districts_from_an_uploaded_file(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with admin_app(settings, fake_gateway) as app:
        before = await Location.all().count()
        csv = (DATA / "zembla_districts.csv").read_bytes()
        response = await post(app, "/admin/districts", files={"file": ("zembla.csv", csv, "text/csv")})
        assert response.status_code == 200 and "places loaded." in response.text
        assert await Location.filter(code="ZZ-N1", name="Onhava").exists()
        assert await Location.all().count() > before
        page = (await app.client.get("/admin/districts")).text
        assert "Onhava" in page and "North Region" in page

        bad = b"code,name,level\nZZ-X,,2\n"
        response = await post(app, "/admin/districts", files={"file": ("broken.csv", bad, "text/csv")})
        assert response.status_code == 400
        message = html.unescape(response.text)
        assert "broken.csv" in message and "'name'" in message and "tmp" not in message
        assert not await Location.filter(code="ZZ-X").exists()


def _state(page: str) -> str:
    found = re.search(r'name="state" value="([^"]*)"', page)
    assert found is not None, "no simulation state on the page"
    return html.unescape(found.group(1))


async def _play(app: Harness, channel: str, replies: list[str], language: str = "") -> str:
    response = await post(
        app,
        "/admin/simulator",
        {"action": "start", "poll": "safe-streets", "channel": channel, "language": language},
    )
    assert response.status_code == 200, response.text[:300]
    page = response.text
    for text in replies:
        response = await post(
            app, "/admin/simulator", {"action": "send", "state": _state(page), "text": text}
        )
        assert response.status_code == 200
        page = response.text
    return html.unescape(page)


async def test_simulator_plays_a_poll_over_sms_and_ussd_and_saves_nothing(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with admin_app(settings, fake_gateway) as app:
        sms = await _play(app, "sms", ["maybe", "1", "2"])
        assert "Do you feel safe walking home after dark?\n1. Always\n2. Sometimes\n3. Never</pre>" in sms
        assert "Reply 1, 2 or 3.\nDo you feel safe" in sms  # "maybe" is not an answer
        assert "Where does harassment happen most where you live?\n1. Street" in sms
        assert "In the last month, have you seen or experienced harassment" in sms

        ussd = await _play(app, "ussd", ["1", "98", "1", "2", "2", "15", "lights"], language="sw")
        assert "CON Kura ya maoni ya U-Report: Mitaa salama." in ussd
        assert "Chaguo si sahihi." in ussd or "Invalid choice." in ussd  # "1" before the question shows
        assert "CON Je, unajisikia salama ukitembea" in ussd and "1. Kila mara" in ussd
        assert "END " in ussd and "The run has ended." in ussd
        assert 'name="state"' not in ussd

        for model in (Contact, FlowRun, Answer, InboundMessage, OutboundMessage):
            assert await model.all().count() == 0, model
        assert fake_gateway.messages == []


async def test_simulator_refuses_what_it_cannot_read(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with admin_app(settings, fake_gateway) as app:
        tampered = [
            "{not json",
            '{"slug": "safe-streets", "channel": "ussd", "language": "en", "deck": {}}',
            '{"slug": "safe-streets", "channel": "fax", "language": "en"}',
            '{"slug": "safe-streets", "channel": "sms", "language": "en", "session": {"node_id": 1}}',
            '{"slug": "safe-streets", "channel": "sms", "language": "en", "lines": [1]}',
        ]
        for state in tampered:
            response = await post(app, "/admin/simulator", {"action": "send", "state": state, "text": "1"})
            assert response.status_code == 400 and "start again" in response.text, state
        response = await post(app, "/admin/simulator", {"action": "start", "poll": "nope", "channel": "sms"})
        assert response.status_code == 400
        page = (await app.client.get("/admin/simulator?poll=registration")).text
        assert '<option value="registration" selected>' in page


BY_SEX = """
slug: by-sex
kind: poll
title: {en: Who answers}
default_language: en
languages: [en]
nodes:
  - id: who
    type: branch
    on: field.sex
    cases:
      - {equals: female, goto: girls}
    default: everyone
  - {id: girls, type: end, text: {en: "A question for girls."}}
  - {id: everyone, type: end, text: {en: "A question for everyone."}}
"""


async def test_simulator_plays_the_person_it_is_given(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with admin_app(settings, fake_gateway) as app:
        files = {"file": ("by-sex.yaml", BY_SEX.encode(), "application/yaml")}
        assert (await post(app, "/admin/polls", files=files)).status_code == 303
        start = {"action": "start", "poll": "by-sex", "channel": "sms"}
        page = (await post(app, "/admin/simulator", {**start, "sex": "female", "district": "KE-30"})).text
        assert "A question for girls." in page and '<option value="KE-30" selected>' in page
        page = (await post(app, "/admin/simulator", {**start, "sex": "nonsense"})).text
        assert "A question for everyone." in page
