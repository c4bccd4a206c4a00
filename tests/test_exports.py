"""`ureport export`: CSV, XLSX, HTML and PDF of the suppressed tables, and the district dialogue brief."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import openpyxl
import pytest

from tests.harness import running_app
from tests.results_people import PEOPLE, answer, phone
from ureport.channels.fake_gateway import FakeGateway
from ureport.cli import main
from ureport.models import Contact
from ureport.settings import Settings


@pytest.fixture
def answered(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[str]:
    """Nine people answered safe-streets; returns every id the exports must not contain."""

    async def populate() -> list[str]:
        async with running_app(settings, fake_gateway) as app:
            await answer(app)
            return [str(i) for i in await Contact.all().values_list("id", flat=True)]

    ids = asyncio.run(populate())
    monkeypatch.setenv("UREPORT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", "cli-test-secret-key-0123456789")
    return ids


def export(tmp_path: Path, *args: str) -> bytes:
    out = tmp_path / "export.out"
    assert main(["export", "safe-streets", *args, "-o", str(out)]) == 0
    return out.read_bytes()


def assert_anonymous(data: str, ids: list[str]) -> None:
    """No phone number, contact id or birth year, in any form."""
    for i in range(len(PEOPLE)):
        assert phone(i)[1:] not in data and phone(i)[4:] not in data
    for contact_id in ids:
        assert contact_id not in data and contact_id.replace("-", "") not in data
    for year in {year for year, *_ in PEOPLE}:
        assert year not in data


def test_csv_has_every_breakdown_suppressed(answered: list[str], tmp_path: Path) -> None:
    data = export(tmp_path, "--format", "csv").decode("utf-8-sig")
    assert_anonymous(data, answered)
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0] == ["Safe streets"] and rows[1][0].startswith("x: hidden to protect privacy")
    titles = {row[1] for row in rows if len(row) == 2}
    assert {"Overall", "By age band", "By sex", "By district", "By district and sex"} <= titles
    assert "By region" not in titles  # the demo's counties have no regions: no empty table
    assert "By age band and sex" in titles
    # 6 always (all Nairobi), 1 sometimes, 2 never (Mombasa). Mombasa's 3 are too few, and 9 minus
    # Nairobi's 6 would give them away, so Nairobi's 6 are hidden, and with them every "always" count:
    # each of them is those same 6 people (linked tables are suppressed together). The 9 stays.
    assert ["Overall", "x", "x", "x", "x", "x", "x", "9"] in rows
    assert ["Nairobi · Female", "x", "x", "0", "x", "0", "x", "x"] in rows
    assert not any(cell in {"1", "2", "3"} for row in rows for cell in row[1:])


def test_xlsx_has_one_sheet_per_question(answered: list[str], tmp_path: Path) -> None:
    book = openpyxl.load_workbook(io.BytesIO(export(tmp_path, "--format", "xlsx")))
    assert book.sheetnames == ["after_dark", "where", "harassed", "reported"]
    values = [v for row in book["after_dark"].iter_rows(values_only=True) for v in row if v is not None]
    assert_anonymous(" ".join(map(str, values)), answered)
    overall = next(r for r in book["after_dark"].iter_rows(values_only=True) if r[0] == "Overall")
    assert overall[:8] == ("Overall", "x", "x", "x", "x", "x", "x", 9)  # numbers stay numbers


def test_html_is_a_printable_page_with_captions(answered: list[str], tmp_path: Path) -> None:
    page = export(tmp_path, "--format", "html").decode()
    assert_anonymous(page, answered)
    assert "<caption>By district and sex</caption>" in page and "@media print" in page
    assert "http" not in page  # no external assets
    assert "<td>x</td>" in page and '<th scope="row">Overall</th>' in page


def test_pdf_renders(answered: list[str], tmp_path: Path) -> None:
    data = export(tmp_path, "--format", "pdf")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


def test_district_brief(answered: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = export(tmp_path, "--district", "nairobi", "--format", "html").decode()
    assert_anonymous(page, answered)
    assert "Safe streets: Nairobi" in page and "Nairobi · Female" in page and "National · Male" in page
    assert "People who answered: Nairobi x, National 9" in page
    assert "Answers from 20" in page and ":" not in page.split("Answers from")[1].split("<")[0]  # no times
    assert "Do girls and boys answer differently here?" in page  # the author's discussion prompts
    swahili = export(tmp_path, "--district", "NAIROBI", "--lang", "sw", "--format", "html").decode()
    assert (
        "Mitaa salama: Nairobi" in swahili and "Kitaifa" in swahili and "Je, wasichana na wavulana" in swahili
    )
    assert "Je, unajisikia salama ukitembea" in swahili
    assert pages(export(tmp_path, "--district", "Nairobi", "--lang", "sw", "--format", "pdf")) == 1
    harassed = export(tmp_path, "--district", "Mombasa", "--question", "harassed", "--format", "csv")
    assert b"In the last month" in harassed.split(b"Also asked")[0]
    assert main(["export", "safe-streets", "--district", "Atlantis", "--format", "pdf"]) == 2
    assert "no district named 'Atlantis'" in capsys.readouterr().err
    assert main(["export", "nope", "--format", "csv"]) == 2
