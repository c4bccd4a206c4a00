"""The dialogue brief in the ambassador's language, through the Babel catalogs (context `brief`): HTML
and a one-page PDF in French, Swahili and Arabic, DejaVu Sans embedded when the system has it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.harness import running_app
from tests.results_people import answer
from ureport.aggregates import pdf
from ureport.aggregates.texts import TEXTS, text
from ureport.channels.fake_gateway import FakeGateway
from ureport.cli import main
from ureport.settings import Settings

# What an ambassador reads at the top of their brief, in each language.
BRIEF = {
    "fr": ("Fiche de dialogue", "Personnes ayant répondu: Nairobi x, National 9", "Pour la discussion"),
    "sw": ("Muhtasari wa mazungumzo", "Walioshiriki: Nairobi x, Kitaifa 9", "Maswali ya majadiliano"),
    "ar": ("موجز الحوار", "الأشخاص الذين أجابوا: Nairobi x, على المستوى الوطني 9", "للنقاش"),
}


@pytest.fixture
def answered(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def populate() -> None:
        async with running_app(settings, fake_gateway) as app:
            await answer(app)

    asyncio.run(populate())
    monkeypatch.setenv("UREPORT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", "cli-test-secret-key-0123456789")


def _brief(tmp_path: Path, lang: str, fmt: str) -> bytes:
    out = tmp_path / f"brief.{lang}.{fmt}"
    assert (
        main(
            [
                "export",
                "safe-streets",
                "--district",
                "Nairobi",
                "--lang",
                lang,
                "--format",
                fmt,
                "-o",
                str(out),
            ]
        )
        == 0
    )
    return out.read_bytes()


@pytest.mark.usefixtures("answered")
def test_the_brief_speaks_the_ambassadors_language(tmp_path: Path) -> None:
    for lang, (heading, answered, discussion) in BRIEF.items():
        page = _brief(tmp_path, lang, "html").decode()
        assert heading in page and answered in page and discussion in page, lang
        assert f'<html lang="{lang}">' in page
        data = _brief(tmp_path, lang, "pdf")
        assert data.startswith(b"%PDF-") and data.count(b"/Type /Page") - data.count(b"/Type /Pages") == 1
        if (
            pdf.unicode_font() is not None
        ):  # whole words, Arabic included, instead of "?" for what latin-1 lacks
            assert b"DejaVu" in data, lang


def test_every_brief_text_is_translated_and_english_is_the_fallback() -> None:
    for key in TEXTS:
        values = {"k": 5, "first": "1", "last": "2", "title": "T", "question": "Q", "district": "D"}
        english = text(key, "en", **values)
        for lang in BRIEF:
            assert text(key, lang, **values) not in ("", None)
        assert text(key, "lg", **values) == english  # a poll language without a catalog
    assert text("legend", "fr", k=5).startswith(
        "x : masqué pour protéger la vie privée (moins de 5 personnes"
    )
    assert (
        text("share", "sw", title="Mitaa salama", question="Je?") == "Matokeo ya U-Report, Mitaa salama: Je?"
    )
