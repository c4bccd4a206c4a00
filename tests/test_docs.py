"""Documentation is part of the interface: every setting and command is in README.md."""

from __future__ import annotations

import re
from pathlib import Path

from ureport.cli import build_parser
from ureport.settings import Settings, documented_settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    rows = {
        m.group(1): m.group(2) for m in re.finditer(r"^\| `(UREPORT_[A-Z_]+)` \| ([^|]+) \|", README, re.M)
    }
    for variable, _default, help_text in documented_settings():
        assert variable in rows, f"{variable} is missing from README.md"
        assert rows[variable].strip().replace("`", "") == help_text.replace("`", ""), variable


def test_every_documented_variable_is_a_setting() -> None:
    declared = {variable for variable, _, _ in documented_settings()}
    mentioned = set(re.findall(r"`(UREPORT_[A-Z_]+)`", README)) - {"UREPORT_TEST_DATABASE_URL"}
    assert mentioned <= declared


def test_every_command_is_in_the_readme() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"`ureport {name}" in README, f"ureport {name} is missing from README.md"


def test_settings_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.default_region == "KE" and settings.min_cell == 5
    assert settings.db_url.startswith("sqlite://")
