"""The inbox processor in a process of its own, started and watched over by `ureport serve`.

Why: a Python process runs on one core (the GIL), and in one process accepting a message, processing
it and sending its reply took about 380 us of CPU, half of it processing. On a machine with two
cores, `ureport serve` keeps accepting and sending in the web process and runs the processor in a
child process, so the two halves run side by side (bench/sms_inbound.py measures both ways).

The two processes share the database and two pipes, nothing else:
- web -> processor: a byte after each inbox commit wakes the processor at once, rather than it
  polling. End of file means the web process is gone (a graceful stop or a SIGKILL alike), and
  the processor finishes its batch and exits: it never outlives the server.
- processor -> web: a byte after replies are queued wakes the web process's sender.
If the processor dies, the web process starts another after a pause; accepted messages wait in the
inbox meanwhile, as they do across a restart. SQLite has one writer at a time: the two processes
take turns through its file lock, as the web process and `ureport worker` do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("ureport.inbox_process")  # the same name in the child, run as __main__

RESTART_PAUSE = (1.0, 30.0)  # seconds before starting a dead processor again: first, and at most
STEADY_AFTER = 60.0  # a processor that ran this long before dying is restarted after the first pause
STOP_GRACE = 30.0  # seconds a processor may take to finish its batch once told to stop


class InboxProcess:
    """The web process's side: start the processor, wake it, restart it when it dies, stop it."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self._environment = dict(environment)
        self._on_replies: Callable[[], None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._wake_fd: int | None = None  # our end of the web -> processor pipe
        self._notify_fd: int | None = None  # our end of the processor -> web pipe
        self._watch: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def pid(self) -> int | None:
        """The running processor's process id (None between a death and its restart)."""
        return self._process.pid if self._process is not None else None

    async def start(self, on_replies: Callable[[], None] | None = None) -> None:
        """Start the processor; `on_replies` is called whenever it has queued replies."""
        self._on_replies = on_replies
        process = await self._spawn()
        self._watch = asyncio.create_task(self._watch_over(process), name="inbox-process")

    def wake(self) -> None:
        """Accepted messages were committed: the processor should look at the inbox now."""
        if self._wake_fd is None:
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            # A full pipe already holds wakes the processor has not read; a broken one is a dead
            # processor, whose successor looks at the inbox when it starts.
            os.write(self._wake_fd, b"\0")

    async def stop(self) -> None:
        """Tell the processor to stop (end of file on its pipe), wait for its batch, then close."""
        self._stopping.set()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        process = self._process
        self._close_pipes()
        if process is not None:
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                log.error("the inbox process did not stop within %.0f s; killing it", STOP_GRACE)
                process.kill()
                await process.wait()
        self._process = None

    async def _spawn(self) -> asyncio.subprocess.Process:
        child_wake, self._wake_fd = os.pipe()
        self._notify_fd, child_notify = os.pipe()
        os.set_blocking(self._wake_fd, False)
        os.set_blocking(self._notify_fd, False)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                __name__,
                str(child_wake),
                str(child_notify),
                env={**os.environ, **self._environment},
                pass_fds=(child_wake, child_notify),
            )
        except OSError:
            self._close_pipes()
            raise
        finally:  # the child holds its own copies; ours would hide its exit from the pipes
            os.close(child_wake)
            os.close(child_notify)
        self._process = process
        asyncio.get_running_loop().add_reader(self._notify_fd, self._notified, self._notify_fd)
        log.info("inbox process %d started", process.pid)
        return process

    def _notified(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if not data:  # the processor is gone: _watch_over sees its exit
            asyncio.get_running_loop().remove_reader(fd)
        elif self._on_replies is not None:
            self._on_replies()

    async def _watch_over(self, process: asyncio.subprocess.Process) -> None:
        """Restart the processor whenever it exits, after a pause that grows while it keeps dying."""
        pause = RESTART_PAUSE[0]
        while True:
            started = time.monotonic()
            code = await process.wait()
            self._close_pipes()
            self._process = None
            if time.monotonic() - started > STEADY_AFTER:
                pause = RESTART_PAUSE[0]
            log.error("the inbox process exited with %s; starting another in %.0f s", code, pause)
            while True:
                # A stop arriving meanwhile (a service manager signals every process at once) wins.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                    return
                pause = min(pause * 2, RESTART_PAUSE[1])
                try:
                    process = await self._spawn()
                    break
                except OSError:  # out of processes or memory: try again later, as after a death
                    log.exception("starting the inbox process failed; trying again in %.0f s", pause)

    def _close_pipes(self) -> None:
        if self._notify_fd is not None:
            asyncio.get_running_loop().remove_reader(self._notify_fd)
            os.close(self._notify_fd)
            self._notify_fd = None
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None


async def run_processor(wake_fd: int, notify_fd: int) -> None:
    """The processor's side: process the inbox when woken until the web process closes its pipe
    (or SIGTERM); wake the web process's sender whenever replies are queued."""
    from ureport import db
    from ureport.settings import Settings
    from ureport.worker import Machinery, run_until

    settings = Settings.from_env()
    keyring = settings.keyring()
    await db.init(settings.db_url)
    os.set_blocking(wake_fd, False)
    os.set_blocking(notify_fd, False)

    def notify() -> None:
        with contextlib.suppress(BlockingIOError, BrokenPipeError):  # full: a wake is pending; broken: gone
            os.write(notify_fd, b"\0")

    machinery = await Machinery.build(settings, keyring, None, on_queued=notify)
    stopping = asyncio.Event()

    def woken() -> None:
        try:
            data = os.read(wake_fd, 4096)
        except BlockingIOError:
            return
        if data:
            machinery.processor.wake()
        else:  # the web process is gone
            loop.remove_reader(wake_fd)
            stopping.set()

    loop = asyncio.get_running_loop()
    loop.add_reader(wake_fd, woken)
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    machinery.processor.start()  # messages left pending are processed at once
    await run_until(stopping, machinery, log, "inbox process ready")


def main(argv: list[str]) -> int:
    """`python -m ureport.inbox_process WAKE_FD NOTIFY_FD`, as InboxProcess starts it."""
    from ureport.cli import LOG_FORMAT
    from ureport.privacy import install_log_masking
    from ureport.settings import SettingsError

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    install_log_masking()
    # Ctrl-C in a terminal reaches the whole process group: the web process stops this one, once
    # its own shutdown has stopped accepting, by closing the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_fd, notify_fd = (int(arg) for arg in argv)
    try:
        asyncio.run(run_processor(wake_fd, notify_fd))
    except SettingsError as exc:  # the web process logs the exit and tries again later
        log.error("the inbox process cannot start: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
