"""`ureport polls start` and `ureport polls status` from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.broadcast_people import OPTED_IN, make_people
from ureport import db
from ureport.cli import main
from ureport.flows.loader import shipped_flow_path
from ureport.settings import Settings

SECRET = "cli-test-secret-key-0123456789"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("UREPORT_DATABASE_URL", db_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", SECRET)


def _people(db_url: str) -> None:
    async def make() -> None:
        await db.init(db_url)
        try:
            await make_people(Settings(secret_key=SECRET))
        finally:
            await db.close()

    asyncio.run(make())


def test_dry_run_start_and_status(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locations", "load", "--country", "KE"]) == 0
    assert main(["polls", "load", str(shipped_flow_path("safe-streets"))]) == 0
    _people(db_url)
    capsys.readouterr()
    args = ["polls", "start", "safe-streets", "--district", "Nairobi", "--age-band", "15-19"]
    assert main([*args, "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == (
        "2 contacts would get safe-streets (dry run: nothing queued); 0 skipped as undeliverable"
    )
    assert main(["polls", "start", "safe-streets", "--reminder-hours", "24"]) == 0
    assert capsys.readouterr().out.strip().startswith(f"started safe-streets for {OPTED_IN} contacts")
    assert main(["polls", "status", "safe-streets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"safe-streets: messages queued {2 * OPTED_IN}, sent 0, delivered 0, failed 0"
    assert out[1] == f"safe-streets: runs active {OPTED_IN}"
    assert main(["polls", "start", "safe-streets", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("0 contacts would get")


def test_errors_name_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["polls", "load", str(shipped_flow_path("safe-streets"))]) == 0
    assert main(["polls", "start", "nope", "--dry-run"]) == 2
    assert "no poll 'nope'" in capsys.readouterr().err
    assert main(["polls", "start", "safe-streets", "--at", "tomorrow"]) == 2
    assert "not an ISO time" in capsys.readouterr().err
    assert main(["polls", "status", "nope"]) == 2
    assert "no poll 'nope'" in capsys.readouterr().err
