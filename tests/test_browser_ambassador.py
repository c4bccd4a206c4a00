"""An ambassador in a real browser (Debian's chromium, Playwright): log in, find their district's page
for the demo poll, read it next to the national figures and download the dialogue brief as PDF, then log
out. Screenshots land in test-artifacts/. Skipped without chromium or Playwright (see test_browser)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests import results_people
from tests.auth_helpers import PASSWORD, make_user
from tests.harness import running_app
from tests.test_browser import ARTIFACTS, CHROMIUM, PEOPLE, browsing
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import Role
from ureport.settings import Settings

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright for browser tests")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium")


async def _seed(settings: Settings, gateway: FakeGateway) -> None:
    async with running_app(settings, gateway) as app:
        await results_people.answer(app, PEOPLE)
        await make_user("amb@example.org", Role.AMBASSADOR, "Kisumu")


def test_an_ambassador_logs_in_and_downloads_a_brief(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    asyncio.run(_seed(settings, fake_gateway))
    with browsing(settings, tmp_path) as (url, browser):
        context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
        page = context.new_page()
        page.goto(f"{url}/?lang=fr")  # a visitor picks French, then follows the log-in link
        page.locator('footer a[href="/login"]').click()
        page.get_by_label("Adresse e-mail").fill("amb@example.org")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.screenshot(path=ARTIFACTS / "login-fr.png", full_page=True)
        page.get_by_role("button", name="Se connecter").click()
        assert page.url.endswith("/ambassador")
        assert page.get_by_role("heading", name="Kisumu").count() == 1
        assert page.get_by_text("Mombasa").count() == 0

        page.locator('a[href$="/safe-streets"]').first.click()
        assert page.get_by_role("table").count() >= 3  # district next to national, by sex, by age
        assert page.get_by_role("rowheader", name="National", exact=True).count() >= 1
        page.screenshot(path=ARTIFACTS / "ambassador-brief-fr.png", full_page=True)

        with page.expect_download() as info:
            page.get_by_role("link", name="Fiche de dialogue (PDF)").click()
        brief = tmp_path / info.value.suggested_filename
        info.value.save_as(brief)
        assert brief.suffix == ".pdf" and brief.read_bytes().startswith(b"%PDF")
        assert "Kisumu" in brief.name

        page.get_by_role("button", name="Se déconnecter").click()
        page.goto(f"{url}/ambassador")
        assert "/login" in page.url
