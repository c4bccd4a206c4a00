"""The `ureport` command: migrate, load and list polls, load locations; errors name file, node and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ureport.cli import main
from ureport.flows.loader import shipped_flow_path


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("UREPORT_DATABASE_URL", db_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", "cli-test-secret-key-0123456789")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "migrate", "polls", "aggregates", "locations", "worker", "fake-gateway"):
        assert command in out


def test_polls_load_then_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["polls", "load", str(shipped_flow_path("safe-streets")), "--activate"]) == 0
    assert "loaded safe-streets (poll" in capsys.readouterr().out
    assert main(["polls", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["safe-streets", "poll", "active"] for line in listing)


def test_invalid_poll_file_names_file_node_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    source = shipped_flow_path("safe-streets").read_text()
    broken.write_text(source.replace("    branches: {no: walk_minutes}", "    branches: {no: nowhere}"))
    assert main(["polls", "load", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml" in err and "harassed" in err and "branches" in err


def test_locations_from_country_csv_and_geojson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locations", "load", "--country", "KE"]) == 0
    assert "loaded 47 locations" in capsys.readouterr().out
    csv = tmp_path / "districts.csv"
    csv.write_text("code,name,parent,number\nR1,Lakeside,,\nD1,Harbour,R1,1\nD2,Hillview,R1,2\n")
    assert main(["locations", "load", str(csv)]) == 0
    assert "loaded 3 locations" in capsys.readouterr().out
    square = [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]
    feature = {
        "type": "Feature",
        "properties": {"code": "D3", "name": "Riverside", "number": 3},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    geojson = tmp_path / "districts.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert main(["locations", "load", str(geojson)]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n,Nameless\n")
    assert main(["locations", "load", str(bad)]) == 2
    assert "bad.csv" in capsys.readouterr().err


def test_serve_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("UREPORT_SECRET_KEY")
    assert main(["serve"]) == 2
    assert "UREPORT_SECRET_KEY" in capsys.readouterr().err


def test_malformed_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UREPORT_MIN_CELL", "zero")
    assert main(["polls", "list"]) == 2
    assert "UREPORT_MIN_CELL" in capsys.readouterr().err


def test_aggregates_rebuild_reports_no_drift_on_a_fresh_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aggregates", "rebuild"]) == 0
    assert "no drift" in capsys.readouterr().out
