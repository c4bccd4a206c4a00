"""The real server in its own process on 127.0.0.1: a message answered 200 survives a crash before
processing, and the fake gateway receives the replies once the server is back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.harness import sms_form
from ureport.channels.fake_gateway import FakeGateway
from ureport.settings import Settings

PHONE = "+254711000500"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "UREPORT_DATA_DIR": str(settings.data_dir),
        "UREPORT_DATABASE_URL": settings.db_url,
        "UREPORT_SECRET_KEY": settings.require_secret(),
        "UREPORT_AT_USERNAME": "testapp",
        "UREPORT_AT_API_KEY": "test-api-key",
        "UREPORT_AT_API_URL": str(settings.at_api_url),
    }
    return {**env, **extra}


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = _free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ureport.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            # Generous: a loaded 2-core CI machine can take a while to start a Python server.
            _wait_until(lambda: _healthy(url) or proc.poll() is not None, what="server start", timeout=90)
            assert proc.poll() is None, f"the server exited: {log.read_text()[-2000:]}"
            yield url
        finally:
            proc.send_signal(signal.SIGKILL)  # no graceful shutdown: a crash
            proc.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(condition: object, *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_accepted_message_survives_a_crash_before_processing(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    # First life: accepts and persists, but does not process (as a web-only worker would), then dies.
    with server(_environment(settings, UREPORT_PROCESS_INBOX="0"), log) as url:
        response = httpx.post(url + "/channels/africastalking/sms", data=sms_form(PHONE, "JOIN"), timeout=30)
        assert response.status_code == 200
    assert fake_gateway.messages == []
    # Second life: the pending message is found, processed, and its replies reach the gateway.
    with server(_environment(settings), log):
        replies = fake_gateway.wait_for(3, timeout=60)
    assert [m.number for m in replies] == [PHONE] * 3
    assert replies[0].text.startswith("Welcome to U-Report!")
    assert PHONE.removeprefix("+") not in log.read_text()  # the server's own log never shows the number


def test_demo_serves_the_simulator_with_no_configuration(tmp_path: Path) -> None:
    """README's first command, as a newcomer runs it: no settings at all, a phone plays through the page."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UREPORT_")}
    port = _free_port()
    with (tmp_path / "demo.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ureport.cli", "serve", "--demo", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until(lambda: _healthy(url), what="demo start", timeout=60)
            with httpx.Client(base_url=url, follow_redirects=True, timeout=10) as client:
                page = client.post("/simulator", data={"phone": "0711 000 700", "text": "JIUNGE"})
                assert page.status_code == 200
                assert "Karibu U-Report!" in page.text
                page = client.post("/simulator", data={"phone": "+254711000700", "text": "2008"})
                assert "Jinsia yako ni ipi?" in page.text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    assert (tmp_path / "ureport-data" / "ureport.sqlite3").exists()
    assert (tmp_path / "ureport-data" / "demo-secret-key").stat().st_mode & 0o077 == 0
    assert "711000700" not in (tmp_path / "demo.log").read_text()
