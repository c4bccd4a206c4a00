"""A real browser (Debian's chromium, driven by Playwright) reads a poll page, switches to Arabic and
moves between tabs with plain links; screenshots land in test-artifacts/ for a person to look at.
Skipped when chromium or Playwright is not installed."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests import results_people
from tests.harness import running_app
from tests.test_server_processes import _environment, server
from ureport.channels.fake_gateway import FakeGateway
from ureport.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# No group below the threshold, so the map shows shades (hatched districts are tested in test_pages).
PEOPLE = [
    *[("2005", "1", "Nairobi", "1")] * 6,
    *[("2004", "2", "Kisumu", "1")] * 5,
    *[("2006", "1", "Kisumu", "3")] * 5,
    *[("2003", "1", "Nakuru", "2")] * 6,
    *[("2007", "2", "Nakuru", "1")] * 6,
]

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright for browser tests")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium")


async def _seed(settings: Settings, gateway: FakeGateway) -> None:
    """People join and answer through the real app, so the pages have published numbers to show."""
    async with running_app(settings, gateway) as app:
        await results_people.answer(app, PEOPLE)


def test_a_visitor_reads_a_poll_in_arabic(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    asyncio.run(_seed(settings, fake_gateway))
    ARTIFACTS.mkdir(exist_ok=True)
    with server(_environment(settings), tmp_path / "server.log") as url:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                # A small phone screen, as many readers have.
                page = browser.new_page(viewport={"width": 360, "height": 740}, java_script_enabled=False)
                page.goto(f"{url}/polls/safe-streets?lang=en")
                assert page.locator("html").get_attribute("dir") == "ltr"
                assert page.get_by_role("img", name="Do you feel safe walking home after dark?").count() == 1
                page.screenshot(path=ARTIFACTS / "poll-en.png", full_page=True)

                page.get_by_role("link", name="العربية").click()
                assert page.locator("html").get_attribute("dir") == "rtl"
                assert page.locator("html").get_attribute("lang") == "ar"
                page.screenshot(path=ARTIFACTS / "poll-ar.png", full_page=True)

                page.get_by_role("link", name="الموقع").click()  # the Location tab, still in Arabic (cookie)
                assert "tab=location" in page.url
                assert page.locator("html").get_attribute("dir") == "rtl"
                assert page.locator("svg[role=img] g title").first.text_content()
                page.screenshot(path=ARTIFACTS / "poll-ar-location.png", full_page=True)

                page.goto(f"{url}/?lang=fr")
                assert page.get_by_role("heading", name="Sondages").count() == 1
                page.screenshot(path=ARTIFACTS / "home-fr.png", full_page=True)
            finally:
                browser.close()
