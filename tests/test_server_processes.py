"""The real server in its own processes on 127.0.0.1: a message answered 200 survives a crash before
processing; two web processes and a separate sender (on SQLite as on PostgreSQL) carry a whole
conversation whose hops alternate between them; the demo runs with no configuration at all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from tests.harness import sms_form
from tests.processes import environment, free_port, healthy, kill, start, wait_until
from tests.transcripts import parse
from ureport import db
from ureport.channels.fake_gateway import FakeGateway
from ureport.demo import load_demo_content
from ureport.models import OutboundMessage, OutboxStatus
from ureport.settings import Settings

PHONE = "+254711000500"
TRANSCRIPT = Path(__file__).parent / "transcripts" / "sms" / "register_en_and_poll.txt"


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    """`ureport serve` on a free port until the block ends, then SIGKILL (a crash, not a shutdown)."""
    port = free_port()
    proc = start(["serve", "--port", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        # Generous: a loaded 2-core CI machine can take a while to start a Python server.
        wait_until(lambda: healthy(url) or proc.poll() is not None, what="server start", timeout=90)
        assert proc.poll() is None, f"the server exited: {log.read_text()[-2000:]}"
        yield url
    finally:
        kill(proc)


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`ureport worker` until the block ends, then SIGTERM (a graceful stop)."""
    proc = start(["worker"], env, log)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_accepted_message_survives_a_crash_before_processing(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    # First life: accepts and persists, but does not process (as a web-only worker would), then dies.
    with server(environment(settings, UREPORT_PROCESS_INBOX="0"), log) as url:
        response = httpx.post(url + "/channels/africastalking/sms", data=sms_form(PHONE, "JOIN"), timeout=30)
        assert response.status_code == 200
    assert fake_gateway.messages == []
    # Second life: the pending message is found, processed, and its replies reach the gateway.
    with server(environment(settings), log):
        replies = fake_gateway.wait_for(3, timeout=60)
    assert [m.number for m in replies] == [PHONE] * 3
    assert replies[0].text.startswith("Welcome to U-Report!")
    assert PHONE.removeprefix("+") not in log.read_text()  # the server's own log never shows the number


async def _demo_content(url: str) -> None:
    await db.init(url)
    try:
        await load_demo_content()
    finally:
        await db.close()


async def _outbox(url: str) -> tuple[int, int]:
    """(messages in the outbox, of which still queued)."""
    await db.init(url)
    try:
        queued = await OutboundMessage.filter(status=OutboxStatus.QUEUED).count()
        return await OutboundMessage.all().count(), queued
    finally:
        await db.close()


def test_two_web_processes_and_a_sender_carry_a_conversation_hop_by_hop(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    """The golden English transcript (registration, then the whole demo poll), each text posted to the
    other web process than the one before; only the `ureport worker` processes and sends. The phone
    gets every reply, in order, exactly as in the transcript."""
    asyncio.run(_demo_content(settings.db_url))
    transcript = parse(TRANSCRIPT)
    web_only = environment(settings, UREPORT_PROCESS_INBOX="0")
    with ExitStack() as stack:
        webs = [stack.enter_context(server(web_only, tmp_path / f"web{i}.log")) for i in (1, 2)]
        stack.enter_context(worker(environment(settings), tmp_path / "worker.log"))
        expected: list[str] = []
        with httpx.Client(timeout=30) as client:
            for hop, exchange in enumerate(transcript.exchanges):
                form = sms_form(transcript.phone, exchange.sent)
                response = client.post(webs[hop % 2] + "/channels/africastalking/sms", data=form)
                assert response.status_code == 200, response.text
                expected += exchange.expected
                # Each hop's replies arrive before the next text is sent, as on a real phone.
                fake_gateway.wait_for(len(expected), timeout=90)
    got = [m.text for m in fake_gateway.messages if m.number == transcript.phone]
    assert got == expected
    assert asyncio.run(_outbox(settings.db_url)) == (len(expected), 0)  # nothing else queued or sent
    for log in tmp_path.glob("*.log"):
        assert transcript.phone.removeprefix("+") not in log.read_text()


def test_demo_serves_the_simulator_with_no_configuration(tmp_path: Path) -> None:
    """README's first command, as a newcomer runs it: no settings at all, a phone plays through the page."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UREPORT_")}
    port = free_port()
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
            wait_until(lambda: healthy(url), what="demo start", timeout=60)
            with httpx.Client(base_url=url, follow_redirects=True, timeout=10) as client:
                page = client.post("/simulator", data={"phone": "0711 000 700", "text": "JIUNGE"})
                assert page.status_code == 200
                assert "Karibu U-Report!" in page.text
                page = client.post("/simulator", data={"phone": "+254711000700", "text": "2008"})
                assert "Jinsia yako ni ipi?" in page.text
                # A populated dashboard, computed at start: every question's national results shown.
                log = tmp_path / "demo.log"
                wait_until(lambda: "results of 1 public polls computed" in log.read_text(), what="warm-up")
                results = client.get("/polls/safe-streets/results.json").json()
                overall = {q["key"]: q["tables"]["all"] for q in results["questions"]}
                assert overall["after_dark"]["total"] == 400  # the demo's synthetic young people
                assert None not in overall["after_dark"]["cells"][0]
                assert all(t["total"] for t in overall.values()), overall
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    assert (tmp_path / "ureport-data" / "ureport.sqlite3").exists()
    assert (tmp_path / "ureport-data" / "demo-secret-key").stat().st_mode & 0o077 == 0
    assert "711000700" not in (tmp_path / "demo.log").read_text()
