"""The public pages: every language (Arabic right to left), negotiation order, suppressed numbers shown
as the mark, drafts hidden, SVG with text alternatives, and the weight of a page on a slow link."""

from __future__ import annotations

import gzip
import re

import pytest

from tests import results_people
from tests.harness import Harness, running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.clock import utcnow
from ureport.models import Poll, PollStatus
from ureport.settings import Settings
from ureport.web import i18n
from ureport.web.ambassador import staff_polls

pytestmark = pytest.mark.anyio

TABS = ("all", "age", "sex", "location")
# The tests read text a visitor reads, in each language: the poll list heading on the dashboard.
POLLS_HEADING = {"en": "Polls", "fr": "Sondages", "sw": "Kura za maoni", "ar": "استطلاعات الرأي"}


async def _get(app: Harness, url: str, **headers: str) -> str:
    response = await app.client.get(url, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_pages_render_in_every_language(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)
        for lang in i18n.LANGUAGES:
            home = await _get(app, f"/?lang={lang}")
            direction = "rtl" if lang == "ar" else "ltr"
            assert f'<html lang="{lang}" dir="{direction}">' in home
            assert f"<h2>{POLLS_HEADING[lang]}</h2>" in home
            assert 'href="/polls/safe-streets"' in home
            for tab in TABS:
                page = await _get(app, f"/polls/safe-streets?tab={tab}&lang={lang}")
                assert f'dir="{direction}"' in page
                assert 'aria-current="page"' in page
                assert 'href="/polls/safe-streets/results.json"' in page


async def test_language_from_query_then_cookie_then_accept_language(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        assert '<html lang="en"' in await _get(app, "/")
        assert '<html lang="sw"' in await _get(app, "/", **{"Accept-Language": "de;q=1, sw;q=0.8, fr;q=0.5"})
        response = await app.client.get("/?lang=fr", headers={"Accept-Language": "sw"})
        assert '<html lang="fr"' in response.text
        assert response.cookies.get("lang") == "fr"  # the client now carries the cookie
        assert '<html lang="fr"' in await _get(app, "/", **{"Accept-Language": "sw"})
        assert '<html lang="ar"' in await _get(app, "/?lang=ar", **{"Accept-Language": "sw"})
        app.client.cookies.clear()
        assert '<html lang="en"' in await _get(app, "/?lang=xx", **{"Accept-Language": "xx"})


def test_negotiation_order() -> None:
    assert i18n.negotiate({"lang": "sw"}, {"lang": "fr"}, "ar") == "sw"
    assert i18n.negotiate({"lang": "zz"}, {"lang": "fr"}, "ar") == "fr"
    assert i18n.negotiate({}, {"lang": "zz"}, "ar-EG,en;q=0.5") == "ar"
    assert i18n.negotiate({}, {}, "en;q=0.2, fr-CA;q=0.9") == "fr"
    assert i18n.negotiate({}, {}, "fr;q=0") == "en"


def _numbers_in_cells(page: str) -> list[str]:
    return re.findall(r'<td class="n">([^<]*)', page)


async def test_suppressed_values_are_shown_as_the_mark(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)  # 6 Nairobi "always", 2 Mombasa "never", 1 Mombasa "sometimes"
        data = (await app.client.get("/polls/safe-streets/results.json")).json()
        overall = data["questions"][0]["tables"]["all"]
        # Mombasa's 3 are too few, so Nairobi's 6 are hidden, and with them the overall 6 "always"
        # (the same six people): linked tables are suppressed together. The 9 stays.
        assert overall["cells"][0] == [None, None, None] and overall["total"] == 9
        page = await _get(app, "/polls/safe-streets?tab=all")
        cells = _numbers_in_cells(page)
        assert "x" in cells
        assert not {"1", "2", "3"} & {c.split(" ")[0] for c in cells}  # the raw small numbers never appear
        home = await _get(app, "/")  # 7 female, 2 male; 6 in Nairobi, 3 in Mombasa
        assert "x" in _numbers_in_cells(home)
        assert not {"2", "3"} & set(_numbers_in_cells(home))
        location = await _get(app, "/polls/safe-streets?tab=location")
        assert "Mombasa: x" in location  # the map tile's text alternative
        assert "hatch" in location


async def test_draft_and_registration_are_not_public(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await Poll.filter(slug="safe-streets").update(status=PollStatus.DRAFT)
        assert (await app.client.get("/polls/safe-streets")).status_code == 404
        assert (await app.client.get("/polls/registration")).status_code == 404
        assert (await app.client.get("/polls/nope")).status_code == 404
        assert "/polls/safe-streets" not in await _get(app, "/")


async def test_a_draft_started_for_a_cohort_is_public(settings: Settings, fake_gateway: FakeGateway) -> None:
    """`polls start` runs a draft for its cohort without making it the poll registrants get: its
    results are public (unless held back) and listed as open, for visitors and ambassadors alike."""
    async with running_app(settings, fake_gateway) as app:
        await Poll.filter(slug="safe-streets").update(status=PollStatus.DRAFT, started_at=utcnow())
        assert "/polls/safe-streets" in await _get(app, "/")
        assert "Open since" in await _get(app, "/polls/safe-streets")
        assert (await app.client.get("/polls/safe-streets/results.json")).status_code == 200
        assert [p.slug for p in await staff_polls()] == ["safe-streets"]
        await Poll.filter(slug="safe-streets").update(published=False)
        assert (await app.client.get("/polls/safe-streets/results.json")).status_code == 404


async def test_charts_have_text_alternatives(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)
        for tab in TABS:
            page = await _get(app, f"/polls/safe-streets?tab={tab}")
            svgs = re.findall(r"<svg[^>]*>(?:(?!</svg>).)*</svg>", page, flags=re.S)
            assert svgs, tab
            for svg in svgs:
                assert 'role="img"' in svg
                labelled = re.search(r'aria-labelledby="([^"]+)"', svg)
                assert labelled and f'<title id="{labelled.group(1)}">' in svg
            assert page.count("<figure>") == page.count("<figcaption") >= 1
            assert "<table>" in page  # the table alternative next to every chart


async def test_pages_are_light_over_a_slow_link(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)
        for url in ["/", *(f"/polls/safe-streets?tab={tab}" for tab in TABS)]:
            response = await app.client.get(url, headers={"Accept-Encoding": "gzip"})
            assert response.headers.get("content-encoding") == "gzip", url
            size = len(gzip.compress(response.content))
            assert size < 50_000, (url, size)
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text), url  # no external asset
            assert "<script" not in response.text


async def test_the_dashboard_links_to_the_simulator_only_in_demo(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        assert 'href="/simulator"' not in await _get(app, "/")
        app.app.state.demo_gateway = fake_gateway
        assert 'href="/simulator"' in await _get(app, "/")


def test_charts_mirror_for_right_to_left_and_name_every_tile() -> None:
    from ureport.web import charts

    bars = (charts.Bar("Yes", 60.0, "60%"), charts.Bar("No", None, "x"))
    ltr = charts.bar_chart([charts.Group("", bars)], title="Q", chart_id="c")
    rtl = charts.bar_chart([charts.Group("", bars)], title="Q", chart_id="c", rtl=True)
    assert 'direction="ltr"' in ltr and 'direction="rtl"' in rtl
    assert '<rect x="0"' in ltr and '<rect x="0"' not in rtl  # bars grow from the right in Arabic
    assert '<desc id="c-d">Yes: 60%; No: x</desc>' in ltr
    assert charts.abbreviations(["Kisii", "Kisumu", "Kisii"]) == ["Kis", "Kiu", "Kii"]


async def test_an_empty_service_has_a_dashboard(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway, demo=False) as app:
        home = await _get(app, "/?lang=sw")
        assert "Bado hakuna kura ya maoni iliyochapishwa." in home  # no poll yet
        assert "Bado hakuna mtu" in home  # nobody has joined


async def test_numbers_and_percentages_follow_the_locale(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        # 10 of 15 answered "always": 66.7%, every group large enough to be shown.
        await results_people.answer(
            app, [("2005", "1", "Nairobi", "1")] * 10 + [("2005", "1", "Nairobi", "3")] * 5
        )
        assert "(66.7%)" in await _get(app, "/polls/safe-streets?lang=en")
        french = await _get(app, "/polls/safe-streets?lang=fr")
        assert "(66,7%)" in french and "Réponses : 15" in french
        assert "Pas encore de réponse." in french  # the questions nobody has reached: no chart of zeros
        assert "Ouvert depuis le" in french and "2026" in french  # a date written by Babel for fr


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("lang", "title", "detail"),
    [
        ("en", "Page not found", "No published poll has this name."),
        ("fr", "Page introuvable", "Aucun sondage publié ne porte ce nom."),
        ("sw", "Ukurasa haupatikani", "Hakuna kura iliyochapishwa yenye jina hili."),
        ("ar", "الصفحة غير موجودة", "لا يوجد استطلاع منشور بهذا الاسم."),
    ],
)
async def test_missing_pages_are_pages_in_the_readers_language(
    settings: Settings, fake_gateway: FakeGateway, lang: str, title: str, detail: str
) -> None:
    async with running_app(settings, fake_gateway) as app:
        response = await app.client.get(f"/polls/atlantis?lang={lang}")
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        assert f"<h1>{title}</h1>" in response.text and detail in response.text
        assert f'lang="{lang}"' in response.text
        nowhere = await app.client.get(f"/no/such/page?lang={lang}")  # no route: Starlette's own 404
        assert nowhere.status_code == 404 and f"<h1>{title}</h1>" in nowhere.text
        wrong = await app.client.delete("/?lang=en")
        assert wrong.status_code == 405 and "<h1>This page cannot do that</h1>" in wrong.text
        assert wrong.headers["allow"]


@pytest.mark.anyio
async def test_errors_for_machines_stay_plain_text(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        json = await app.client.get("/polls/atlantis/results.json")
        assert json.status_code == 404 and json.headers["content-type"].startswith("text/plain")
        callback = await app.client.get("/channels/africastalking/sms")
        assert callback.status_code == 405 and callback.headers["content-type"].startswith("text/plain")


def test_a_group_nobody_is_in_is_one_line_not_bars_of_zeros() -> None:
    from ureport.web import charts, views

    table = {
        "cells": [[3, 7], [0, 0]],
        "row_totals": [10, 0],
        "row_percentages": [[30.0, 70.0], [None, None]],
    }
    groups = [views._group(table, i, label, ["Yes", "No"]) for i, label in enumerate(["15-19", "35+"])]
    assert [len(g.bars) for g in groups] == [2, 0] and groups[1].note == "No answers"
    svg = charts.bar_chart(groups, title="Safe?", chart_id="q")
    assert ">No answers</text>" in svg and "35+: No answers" in svg  # drawn, and in the text alternative


@pytest.mark.anyio
async def test_any_error_status_gets_a_page() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.routing import Route

    from ureport.app import http_error

    async def fail(request: Request) -> None:
        raise HTTPException(int(request.path_params["status"]))

    app = Starlette(routes=[Route("/{status}", fail)], exception_handlers={HTTPException: http_error})
    app.state.demo_gateway = None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for status, title in [
            (429, "This request could not be understood"),
            (499, "This request could not be understood"),  # no standard phrase
            (503, "Something went wrong"),
        ]:
            response = await client.get(f"/{status}")
            assert response.status_code == status and f"<h1>{title}</h1>" in response.text
