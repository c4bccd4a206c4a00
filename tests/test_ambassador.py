"""The ambassador's side: their districts, every poll with results (unpublished ones too), a district's
results next to the national ones (suppressed: a small count never shows), and the downloads, which are
the very files `ureport export --district` writes; the demo's accounts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import results_people
from tests.auth_helpers import PASSWORD, log_in, make_user
from tests.harness import running_app
from ureport.accounts import add_user
from ureport.aggregates.render import export
from ureport.channels.fake_gateway import FakeGateway
from ureport.demo import ensure_demo_accounts
from ureport.models import Location, Poll, PollStatus, Role
from ureport.settings import Settings

pytestmark = pytest.mark.anyio


async def test_an_ambassador_reads_and_downloads_their_districts_brief(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)  # 6 in Nairobi answer "always"; 3 in Mombasa (hidden)
        await Poll.filter(slug="safe-streets").update(published=False)  # held back from the public
        await make_user("amb@example.org", Role.AMBASSADOR, "Mombasa")
        await log_in(app.client, "amb@example.org")
        mombasa = await Location.get(name="Mombasa")

        index = (await app.client.get("/ambassador")).text
        assert "Mombasa" in index and f'href="/ambassador/{mombasa.id}/safe-streets"' in index
        assert "not published" in index
        french = (await app.client.get("/ambassador?lang=fr")).text
        assert "Ouvert depuis le" in french and "non publié" in french  # dates written for the page too

        page = (await app.client.get(f"/ambassador/{mombasa.id}/safe-streets?lang=fr")).text
        assert "Mombasa" in page and "National" in page and '<html lang="fr"' in page
        cells = re.findall(r'<td class="n">([^<]*)', page)
        assert "x" in cells and not {"1", "2", "3"} & {c.split(" ")[0] for c in cells}
        assert "/brief.pdf?lang=fr" in page

        base = f"/ambassador/{mombasa.id}/safe-streets/brief"
        pdf = await app.client.get(f"{base}.pdf?lang=fr")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "attachment" in pdf.headers["content-disposition"]
        assert pdf.headers["cache-control"] == "private, no-store"
        xlsx = await app.client.get(f"{base}.xlsx")
        assert xlsx.content.startswith(b"PK")  # a zip, as every .xlsx is
        html = await app.client.get(f"{base}.html?lang=sw")
        assert html.headers["content-type"].startswith("text/html") and "Muhtasari" in html.text
        csv = await app.client.get(f"{base}.csv?lang=en")
        same = await export("safe-streets", "csv", k=settings.min_cell, district="Mombasa", language="en")
        assert csv.content == same  # exactly what `ureport export` writes
        assert (await app.client.get(f"{base}.doc")).status_code == 404

        await Poll.filter(slug="safe-streets").update(status=PollStatus.DRAFT)  # drafts have no results
        assert (await app.client.get(f"/ambassador/{mombasa.id}/safe-streets")).status_code == 404


async def test_downloads_follow_the_accounts_language(settings: Settings, fake_gateway: FakeGateway) -> None:

    async with running_app(settings, fake_gateway) as app:
        await add_user("sw@example.org", Role.AMBASSADOR, PASSWORD, ["Nairobi"], language="sw")
        await log_in(app.client, "sw@example.org")
        nairobi = await Location.get(name="Nairobi")
        html = await app.client.get(f"/ambassador/{nairobi.id}/safe-streets/brief.html")
        assert '<html lang="sw">' in html.text


async def test_the_demo_has_one_account_of_each_role(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        path, fresh = await ensure_demo_accounts(settings.data_dir)
        assert set(fresh) == {"admin@example.org", "ambassador@example.org", "viewer@example.org"}
        assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
        assert len(set(fresh.values())) == 3 and all(len(p) >= 16 for p in fresh.values())
        assert (await ensure_demo_accounts(settings.data_dir))[1] == {}  # made once
        assert (
            await log_in(app.client, "ambassador@example.org", fresh["ambassador@example.org"])
        ).status_code == 303

        Path(path).unlink()  # a lost file: new passwords, and they open the accounts
        _path, again = await ensure_demo_accounts(settings.data_dir)
        app.client.cookies.clear()
        assert (await log_in(app.client, "admin@example.org", again["admin@example.org"])).status_code == 303
        assert again["admin@example.org"] != fresh["admin@example.org"]
