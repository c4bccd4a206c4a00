"""`ureport polls share-results`: one SMS per opted-in participant, suppressed figures, never twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.harness import Harness, running_app
from tests.results_people import phone
from ureport.aggregates.exports import ExportError
from ureport.channels.fake_gateway import FakeGateway
from ureport.cli import main
from ureport.models import OutboundMessage, ResultShare
from ureport.settings import Settings
from ureport.share_results import share_results

# Nairobi 6 always, Mombasa 5 never (one of them in Kiswahili) and a sixth who answers never and then
# leaves: every figure is published, and the one who left is counted but not messaged.
PEOPLE = [
    *[("Nairobi", "1", "1")] * 6,
    *[("Mombasa", "3", "1")] * 4,
    ("Mombasa", "3", "2"),
]
NATIONAL = "National: Always 50%, Sometimes 0%, Never 50%."


async def join_and_answer(app: Harness, people: list[tuple[str, str, str]] = PEOPLE, first: int = 0) -> None:
    for i, (county, after_dark, language) in enumerate(people, first):
        for text in ["JOIN", "2005", "1", county, language, after_dark]:
            await app.send(phone(i), text)


@pytest.mark.anyio
async def test_share_results_dry_run_then_once(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await join_and_answer(app)
        stopped = phone(len(PEOPLE))
        for text in ["JOIN", "2005", "2", "Mombasa", "1", "3", "STOP"]:  # answered, then left
            await app.send(stopped, text)
        queued_before = await OutboundMessage.all().count()

        dry = await share_results("safe-streets", k=5, dry_run=True)
        assert (dry.people, dry.dry_run) == (len(PEOPLE), True)
        assert dry.sample is not None and dry.sample.endswith(NATIONAL)
        assert await OutboundMessage.all().count() == queued_before
        assert await ResultShare.all().count() == 0

        done = await share_results("safe-streets", k=5)
        assert done.people == len(PEOPLE)
        await app.settle()
        texts = {i: app.received(phone(i)) for i in range(len(PEOPLE))}
        assert all(len(got) == 1 for got in texts.values())
        assert app.received(stopped) == []
        nairobi, mombasa, swahili = texts[0][0], texts[6][0], texts[10][0]
        assert nairobi == (
            "U-Report results, Safe streets: Do you feel safe walking home after dark?"
            f" Nairobi: Always 100%, Sometimes 0%, Never 0%. {NATIONAL}"
        )
        assert "Mombasa: Always 0%, Sometimes 0%, Never 100%." in mombasa and mombasa.endswith(NATIONAL)
        assert swahili.startswith("Matokeo ya U-Report, Mitaa salama: Je, unajisikia salama")
        assert "Kitaifa: Kila mara 50%, Wakati mwingine 0%, Kamwe 50%." in swahili

        again = await share_results("safe-streets", k=5)
        assert again.people == 0
        await app.settle()
        assert all(app.received(phone(i)) == [] for i in range(len(PEOPLE)))
        assert await ResultShare.all().count() == len(PEOPLE)


@pytest.mark.anyio
async def test_hidden_figures_are_not_shared(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await join_and_answer(app, [("Kisumu", "1", "1")])
        with pytest.raises(ExportError, match="national figures are hidden"):
            await share_results("safe-streets", k=5)
        with pytest.raises(ExportError, match="no choice or yes/no question 'walk_minutes'"):
            await share_results("safe-streets", k=5, question="walk_minutes")
        assert await ResultShare.all().count() == 0
        # Six more in Nairobi: the national figures are published, Kisumu's single answer is not.
        await join_and_answer(app, [("Nairobi", "1", "1")] * 6, first=1)
        assert (await share_results("safe-streets", k=5)).people == 7
        await app.settle()
        kisumu = app.received(phone(0))[-1]
        assert kisumu.endswith(
            "Kisumu: too few answers to show. National: Always 100%, Sometimes 0%, Never 0%."
        )


def test_cli_dry_run(
    settings: Settings,
    fake_gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def populate() -> None:
        async with running_app(settings, fake_gateway) as app:
            await join_and_answer(app)

    asyncio.run(populate())
    monkeypatch.setenv("UREPORT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", "cli-test-secret-key-0123456789")
    assert main(["polls", "share-results", "safe-streets", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would queue {len(PEOPLE)} results SMS (dry run: nothing queued)" in out
    assert "sample: U-Report results, Safe streets" in out and "+254" not in out
    assert main(["polls", "share-results", "nope"]) == 2
