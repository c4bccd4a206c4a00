"""Settings handed to a process this one starts, and where `ureport serve` processes the inbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from ureport import settings as settings_module
from ureport.settings import Settings


def test_settings_survive_the_trip_through_the_environment() -> None:
    """A child process rebuilds exactly the parent's settings, including what the demo filled in."""
    settings = Settings(
        data_dir=Path("/srv/ureport data"),
        database_url="postgres://u@db:5432/ureport",
        secret_key="s3cret with spaces",
        previous_secret_keys="1:old",
        secret_key_version=2,
        at_username="demo",
        at_api_key="demo-key",
        default_region="UG",
        process_inbox=True,
        inbox_process=False,
        send_rate=2.5,
        daily_cap=0,
    )
    assert Settings.from_env(settings.environment()) == settings
    assert Settings.from_env(Settings().environment()) == Settings()
    assert "UREPORT_SECRET_KEY" not in Settings().environment()  # unset stays unset


@pytest.mark.parametrize(
    ("process_inbox", "inbox_process", "cores", "apart"),
    [
        (True, None, 2, True),  # two cores: processing in a process of its own
        (True, None, 1, False),  # one core: a second process would only add switching
        (True, False, 8, False),
        (True, True, 1, True),
        (False, True, 8, False),  # nothing processed in `ureport serve` at all: `ureport worker` does
    ],
)
def test_inbox_apart_follows_the_settings_then_the_cores(
    monkeypatch: pytest.MonkeyPatch, process_inbox: bool, inbox_process: bool | None, cores: int, apart: bool
) -> None:
    monkeypatch.setattr(settings_module, "_cores", lambda: cores)
    settings = Settings(process_inbox=process_inbox, inbox_process=inbox_process)
    assert settings.inbox_apart is apart


def test_inbox_process_setting_is_read_as_a_flag() -> None:
    assert Settings.from_env({"UREPORT_INBOX_PROCESS": "0"}).inbox_process is False
    assert Settings.from_env({"UREPORT_INBOX_PROCESS": "yes"}).inbox_process is True
    assert Settings.from_env({}).inbox_process is None
