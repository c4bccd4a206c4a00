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
            _wait_until(lambda: _healthy(url), what="server start")
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
        response = httpx.post(url + "/channels/africastalking/sms", data=sms_form(PHONE, "JOIN"))
        assert response.status_code == 200
    assert fake_gateway.messages == []
    # Second life: the pending message is found, processed, and its replies reach the gateway.
    with server(_environment(settings), log):
        replies = fake_gateway.wait_for(3, timeout=20)
    assert [m.number for m in replies] == [PHONE] * 3
    assert replies[0].text.startswith("Welcome to U-Report!")
    assert PHONE.removeprefix("+") not in log.read_text()  # the server's own log never shows the number
