"""A real browser (Debian's chromium, driven by Playwright) reads a poll page, switches to Arabic and
moves between tabs with plain links; screenshots land in test-artifacts/ for a person to look at.
Skipped when chromium or Playwright is not installed."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import results_people
from tests.harness import running_app
from tests.processes import environment as _environment
from tests.test_server_processes import server
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


@contextmanager
def browsing(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The app in a real server process and a headless chromium to read it: (the app's URL, browser)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with server(_environment(settings), tmp_path / "server.log") as url:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield url, browser
            finally:
                browser.close()


async def _seed(settings: Settings, gateway: FakeGateway) -> None:
    """People join and answer through the real app, so the pages have published numbers to show."""
    async with running_app(settings, gateway) as app:
        await results_people.answer(app, PEOPLE)


def test_a_visitor_reads_a_poll_in_arabic(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    asyncio.run(_seed(settings, fake_gateway))
    with browsing(settings, tmp_path) as (url, browser):
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


async def _seed_admin(settings: Settings, gateway: FakeGateway) -> None:
    from ureport.accounts import add_user
    from ureport.models import Role

    async with running_app(settings, gateway):
        await add_user("admin@example.org", Role.ADMIN, "correct horse battery", [], language="fr")


def test_an_admin_previews_a_poll_and_plays_it_over_ussd(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    asyncio.run(_seed_admin(settings, fake_gateway))
    with browsing(settings, tmp_path) as (url, browser):
        page = browser.new_page(viewport={"width": 1024, "height": 900}, java_script_enabled=False)
        page.goto(f"{url}/admin")
        assert "/login" in page.url  # signed out: the log-in page first
        page.locator("input[name=email]").fill("admin@example.org")
        page.locator("input[name=password]").fill("correct horse battery")
        page.locator("form[action='/login'] button[type=submit]").click()
        assert page.url.endswith("/admin")
        assert page.get_by_role("heading", name="Sondages").count() == 1  # the account's language
        page.screenshot(path=ARTIFACTS / "admin-polls-fr.png", full_page=True)

        page.goto(f"{url}/admin/polls/safe-streets?lang=en")
        assert page.locator("pre.phone", has_text="CON Do you feel safe walking home").count() >= 1
        page.screenshot(path=ARTIFACTS / "admin-poll-preview.png", full_page=True)

        page.get_by_role("link", name="Try it in the phone simulator").first.click()
        page.get_by_label("USSD").check()
        page.get_by_role("button", name="Start").click()
        for reply in ("98", "2"):
            page.get_by_label("Your reply").fill(reply)
            page.get_by_role("button", name="Send").click()
        assert page.locator("pre.phone", has_text="CON Where does harassment happen").count() == 1
        page.screenshot(path=ARTIFACTS / "admin-simulator-ussd.png", full_page=True)

        page.goto(f"{url}/admin/users?lang=ar")
        assert page.locator("html").get_attribute("dir") == "rtl"
        page.screenshot(path=ARTIFACTS / "admin-users-ar.png", full_page=True)
