"""`ureport serve` with its inbox processor in a process of its own (UREPORT_INBOX_PROCESS=1), as it
runs on a machine with two cores: a whole conversation through the callbacks, the processor killed
and started again, and the processor never outliving the server, whether it stops or is killed."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.harness import sms_form
from tests.processes import environment, free_port, healthy, start, wait_until
from tests.test_server_processes import _demo_content
from tests.transcripts import parse
from ureport import inbox_process
from ureport.channels.fake_gateway import FakeGateway
from ureport.inbox_process import InboxProcess
from ureport.settings import Settings

TRANSCRIPT = Path(__file__).parent / "transcripts" / "sms" / "register_en_and_poll.txt"
STARTED = re.compile(r"inbox process (\d+) started")


@contextmanager
def serving(settings: Settings, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ureport serve` with the processor apart, until the block ends (then SIGKILL, if still up)."""
    port = free_port()
    proc = start(["serve", "--port", str(port)], environment(settings, UREPORT_INBOX_PROCESS="1"), log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthy(url) or proc.poll() is not None, what="server start", timeout=90)
        assert proc.poll() is None, f"the server exited: {log.read_text()[-2000:]}"
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def processors(log: Path) -> list[int]:
    """The process ids of the inbox processors the server started, in order, from its log."""
    return [int(pid) for pid in STARTED.findall(log.read_text())]


def running(pid: int) -> bool:
    """Whether `pid` is a live inbox processor (not a zombie, not a process that reused the id)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    return b"ureport.inbox_process" in command and "State:\tZ" not in status


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:  # the field after the state is the parent's id
            found.add(int(stat.parent.name))
    return found


def post(client: httpx.Client, url: str, phone: str, text: str) -> None:
    response = client.post(url + "/channels/africastalking/sms", data=sms_form(phone, text))
    assert response.status_code == 200, response.text


def test_a_conversation_runs_with_the_processor_apart_and_survives_its_death(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    """The golden English transcript, hop by hop: the server's child processes, the server sends.
    Halfway through, the processor is SIGKILLed; the server starts another, which goes on."""
    asyncio.run(_demo_content(settings.db_url))
    transcript = parse(TRANSCRIPT)
    log = tmp_path / "server.log"
    half = len(transcript.exchanges) // 2
    with serving(settings, log) as (url, proc), httpx.Client(timeout=30) as client:
        wait_until(lambda: bool(processors(log)), what="the inbox process")
        first = processors(log)[0]
        assert running(first) and children(proc.pid) == {first}
        expected: list[str] = []
        for hop, exchange in enumerate(transcript.exchanges):
            if hop == half:
                os.kill(first, signal.SIGKILL)
                wait_until(lambda: len(processors(log)) == 2, what="a new inbox process")
            post(client, url, transcript.phone, exchange.sent)
            expected += exchange.expected
            fake_gateway.wait_for(len(expected), timeout=90)  # each hop's replies before the next text
        assert children(proc.pid) == {processors(log)[1]}
    got = [m.text for m in fake_gateway.messages if m.number == transcript.phone]
    assert got == expected
    assert "exited with -9; starting another" in log.read_text()
    assert transcript.phone.removeprefix("+") not in log.read_text()  # nor in the processor's lines


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_the_processor_never_outlives_the_server(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path, ending: signal.Signals
) -> None:
    """A graceful stop stops it (and SIGINT to the whole group, as Ctrl-C sends, is not taken for its
    death: no restart); a SIGKILLed server leaves it the end of its pipe, and it exits."""
    log = tmp_path / "server.log"
    with serving(settings, log) as (_url, proc):
        wait_until(lambda: bool(processors(log)), what="the inbox process")
        child = processors(log)[0]
        wait_until(lambda: "inbox process ready" in log.read_text(), what="the inbox process ready")
        if ending == signal.SIGINT:
            _interrupt_both(proc.pid, child)
        else:
            proc.send_signal(ending)
        proc.wait(timeout=60)
        wait_until(lambda: not running(child), what="the inbox process to exit")
    if ending != signal.SIGKILL:  # uvicorn shuts down, then ends by the signal it caught
        assert "Application shutdown complete" in log.read_text()
        assert processors(log) == [child]  # stopped, not restarted
        assert "exited with" not in log.read_text()


def _interrupt_both(server: int, child: int) -> None:
    """What Ctrl-C in a terminal does: SIGINT to every process of the foreground group at once."""
    os.kill(child, signal.SIGINT)
    os.kill(server, signal.SIGINT)


@pytest.mark.anyio
async def test_a_processor_that_keeps_dying_is_started_again_until_the_stop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A processor that cannot start (here: no secret) is started again after each death, with a
    pause between, and a stop during a pause ends it: nothing is left running."""
    monkeypatch.setattr(inbox_process, "RESTART_PAUSE", (0.05, 0.2))
    caplog.set_level(logging.INFO, logger="ureport.inbox_process")
    inbox = InboxProcess({"UREPORT_DATA_DIR": str(tmp_path), "UREPORT_SECRET_KEY": ""})
    await inbox.start()
    for _ in range(600):
        if caplog.text.count("exited with 2; starting another") >= 3:
            break
        await asyncio.sleep(0.1)
    await inbox.stop()
    started = [int(pid) for pid in STARTED.findall(caplog.text)]
    assert len(started) >= 3 and len(set(started)) == len(started)
    assert not any(map(running, started)) and inbox.pid is None
