"""`ureport users`: add admins, viewers and ambassadors with their districts (matched like replies are),
list, disable and remove them; a password from standard input or typed twice at a prompt."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ureport.cli import main


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("UREPORT_DATABASE_URL", db_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", "cli-test-secret-key-0123456789")


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_users_add_list_disable_remove(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["locations", "load", "--country", "KE"]) == 0
    _stdin(monkeypatch, "a long enough password\n")
    command = ["users", "add", "Wanjiru@Example.org", "--role", "ambassador", "--password-stdin"]
    assert main([*command, "--district", "nairobi", "--district", "Kisumu"]) == 0
    assert "added wanjiru@example.org (ambassador) for Nairobi, Kisumu" in capsys.readouterr().out

    answers = iter(["another good password", "another good password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert main(["users", "add", "boss@example.org", "--role", "admin"]) == 0
    capsys.readouterr()

    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["boss@example.org", "admin", "-"]
    assert listing[1].split() == ["wanjiru@example.org", "ambassador", "Kisumu,", "Nairobi"]

    _stdin(monkeypatch, "a brand new password\n")
    assert main(["users", "set-password", "wanjiru@example.org", "--password-stdin"]) == 0
    assert "new password for wanjiru@example.org" in capsys.readouterr().out
    assert main(["users", "disable", "wanjiru@example.org"]) == 0
    assert main(["users", "list"]) == 0
    assert "(disabled)" in capsys.readouterr().out
    assert main(["users", "remove", "wanjiru@example.org"]) == 0
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    assert "wanjiru" not in capsys.readouterr().out

    # The account is gone; what was done to it, by whom, stays.
    assert main(["audit"]) == 0
    actions = [line.split()[2:5] for line in capsys.readouterr().out.splitlines()]
    assert actions == [
        ["command", "line", "account.remove"],
        ["command", "line", "account.disable"],
        ["command", "line", "account.password"],
        ["command", "line", "account.add"],
        ["command", "line", "account.add"],
    ]


def test_users_add_explains_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["locations", "load", "--country", "KE"]) == 0
    capsys.readouterr()
    _stdin(monkeypatch, "a long enough password\n")
    command = ["users", "add", "a@example.org", "--role", "ambassador", "--password-stdin"]
    assert main([*command, "--district", "Atlantis"]) == 2
    assert "no district named 'Atlantis'" in capsys.readouterr().err
    _stdin(monkeypatch, "short\n")
    assert main([*command, "--district", "Nairobi"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    answers = iter(["first password here", "second password here"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert main(["users", "add", "b@example.org", "--role", "viewer"]) == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert main(["users", "remove", "nobody@example.org"]) == 2
