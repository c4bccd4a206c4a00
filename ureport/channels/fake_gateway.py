"""A local stand-in for Africa's Talking's SMS send API, for tests and the demo."""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs

import requests

from ureport.channels.gateway import RECIPIENT_STATUS_NAMES, mask_number
from ureport.channels.segments import sms_segments

log = logging.getLogger(__name__)

# The SDK's own check; AT answers 403 InvalidPhoneNumber for anything else.
_E164 = re.compile(r"^\+\d{1,3}\d{3,}$")
_UNIT_COST = 0.8
_MAX_BODY = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SentMessage:
    number: str
    text: str
    sender: str | None
    message_id: str
    parts: int
    sent_at: datetime

    def to_json(self) -> dict[str, object]:
        return asdict(self) | {"sent_at": self.sent_at.isoformat()}


@dataclass(frozen=True)
class _Reply:
    status: int
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, text: str) -> _Reply:
        return cls(status, "text/plain", text.encode())

    @classmethod
    def json(cls, status: int, payload: object) -> _Reply:
        # Exactly this content type: with a charset suffix the SDK hands back a str.
        return cls(status, "application/json", json.dumps(payload).encode())


class HeldRequest:
    """A send request the fake holds before answering it, so a test can act while it is in flight
    (kill the sender, lock rows); on `release()` the fake accepts it as AT would have."""

    def __init__(self) -> None:
        self.numbers: list[str] = []
        self.text = ""
        self._arrived = threading.Event()
        self._go = threading.Event()

    def wait_arrived(self, timeout: float) -> None:
        if not self._arrived.wait(timeout):
            raise TimeoutError("the held request never arrived")

    def release(self) -> None:
        self._go.set()

    def _hold(self, numbers: list[str], text: str) -> None:
        self.numbers, self.text = numbers, text
        self._arrived.set()
        self._go.wait(timeout=600)  # never a thread left behind forever


class FakeGateway:
    """Answers `POST /version1/messaging` like AT, records accepted messages, and can script
    failures. `GET /_fake/messages` and `POST /_fake/reset` serve tests in other processes."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delivery_url: str | None = None,
        api_key: str | None = None,
        delivery_delay: float = 0.2,
        on_message: Callable[[SentMessage], None] | None = None,
    ) -> None:
        self._address = (host, port)
        self._delivery_url = delivery_url
        self._api_key = api_key
        self._delivery_delay = delivery_delay
        self._on_message = on_message
        self._changed = threading.Condition()
        self._messages: list[SentMessage] = []
        self._http_failures: deque[tuple[int, str]] = deque()
        self._recipient_failures: deque[tuple[str | None, int]] = deque()
        self._requests = 0  # send requests answered so far, counting from the start
        self._holds: dict[int, HeldRequest] = {}
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> FakeGateway:
        server = ThreadingHTTPServer(self._address, _Handler)
        server.gateway = self  # type: ignore[attr-defined]  # read back by _Handler
        self._server = server
        # A short poll keeps stop() (and so every test using the fake) from waiting 0.5 s.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-gateway", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self._changed:
            holds, self._holds = list(self._holds.values()), {}
        for hold in holds:
            hold.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._changed:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake gateway is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def messages(self) -> list[SentMessage]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """The recorded messages once there are at least `count`; TimeoutError otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"expected {count} messages, got {len(self._messages)}")
            return list(self._messages)

    def fail_next(
        self,
        *,
        http_status: int | None = None,
        body: str | None = None,
        recipient_status: int | None = None,
        number: str | None = None,
    ) -> None:
        """Script one failure: the next request answers `http_status`, or the next recipient
        (the next one equal to `number`, if given) gets `recipient_status` instead of 101."""
        if (http_status is None) == (recipient_status is None):
            raise ValueError("give exactly one of http_status or recipient_status")
        with self._changed:
            if http_status is not None:
                self._http_failures.append((http_status, body or HTTPStatus(http_status).phrase))
            elif recipient_status is not None:
                self._recipient_failures.append((number, recipient_status))

    def hold_request(self, nth: int = 1) -> HeldRequest:
        """Hold the nth send request from now (1: the next one) until the test releases it."""
        hold = HeldRequest()
        with self._changed:
            self._holds[self._requests + nth] = hold
        return hold

    def reset(self) -> None:
        with self._changed:
            self._messages.clear()
            self._http_failures.clear()
            self._recipient_failures.clear()
            self._changed.notify_all()

    def _handle_send(self, api_key: str | None, form: dict[str, str]) -> _Reply:
        if not api_key or (self._api_key is not None and api_key != self._api_key):
            return _Reply.text(401, "The supplied authentication is invalid")
        with self._changed:
            if self._http_failures:
                return _Reply.text(*self._http_failures.popleft())
        missing = [name for name in ("username", "to", "message") if not form.get(name)]
        if missing:
            return _Reply.text(400, f"Request is missing required form field '{missing[0]}'")
        numbers = [number.strip() for number in form["to"].split(",") if number.strip()]
        text, sender = form["message"], form.get("from") or None
        with self._changed:
            self._requests += 1
            hold = self._holds.pop(self._requests, None)
        if hold is not None:
            hold._hold(numbers, text)
        parts = sms_segments(text).parts
        recipients, accepted = [], []
        for number in numbers:
            code = self._recipient_code(number)
            if code != 101:
                recipients.append(_failed_recipient(number, code))
                continue
            message = SentMessage(
                number=number,
                text=text,
                sender=sender,
                message_id=f"ATXid_{uuid.uuid4().hex}",
                parts=parts,
                sent_at=datetime.now(UTC),
            )
            accepted.append(message)
            recipients.append(_accepted_recipient(message))
        self._record(accepted)
        total = f"KES {_UNIT_COST * parts * len(accepted):.4f}"
        summary = f"Sent to {len(accepted)}/{len(numbers)} Total Cost: {total}"
        return _Reply.json(201, {"SMSMessageData": {"Message": summary, "Recipients": recipients}})

    def _recipient_code(self, number: str) -> int:
        if not _E164.match(number):
            return 403
        with self._changed:
            for index, (wanted, code) in enumerate(self._recipient_failures):
                if wanted is None or wanted == number:
                    del self._recipient_failures[index]
                    return code
        return 101

    def _record(self, accepted: list[SentMessage]) -> None:
        if not accepted:
            return
        with self._changed:
            self._messages.extend(accepted)
            self._changed.notify_all()
        for message in accepted:
            if self._on_message is not None:
                self._on_message(message)
        if self._delivery_url is not None:
            thread = threading.Thread(target=self._deliver, args=(self._delivery_url, accepted), daemon=True)
            with self._changed:
                # Pruned here so a long-running demo does not keep every finished thread.
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _deliver(self, url: str, messages: list[SentMessage]) -> None:
        # After a pause, so the sender has stored the message id before its DLR arrives.
        time.sleep(self._delivery_delay)
        for message in messages:
            form = {
                "id": message.message_id,
                "status": "Success",
                "phoneNumber": message.number,
                "networkCode": "63902",
                "retryCount": "0",
            }
            try:
                requests.post(url, data=form, timeout=5).close()
            except requests.RequestException as exc:
                # Best effort, like a real DLR that never arrives; never take the server down.
                log.warning("fake DLR for %s not delivered: %s", message.message_id, type(exc).__name__)


def _failed_recipient(number: str, code: int) -> dict[str, object]:
    return {
        "statusCode": code,
        "number": number,
        "status": RECIPIENT_STATUS_NAMES.get(code, "Failed"),
        "cost": "0",
        "messageId": "None",
    }


def _accepted_recipient(message: SentMessage) -> dict[str, object]:
    return {
        "statusCode": 101,
        "number": message.number,
        "status": "Success",
        "cost": f"KES {_UNIT_COST * message.parts:.4f}",
        "messageId": message.message_id,
        "messageParts": message.parts,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AT's API: every reply carries its Content-Length
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait for an ACK

    def do_POST(self) -> None:
        gateway: FakeGateway = self.server.gateway  # type: ignore[attr-defined]
        if self.path == "/_fake/reset":
            gateway.reset()
            self._reply(_Reply.text(200, "OK"))
        elif self.path.split("?")[0] == "/version1/messaging":
            self._reply(gateway._handle_send(self.headers.get("apiKey"), self._read_form()))
        else:
            self._reply(_Reply.text(404, "Not Found"))

    def do_GET(self) -> None:
        gateway: FakeGateway = self.server.gateway  # type: ignore[attr-defined]
        if self.path == "/_fake/messages":
            self._reply(_Reply.json(200, [message.to_json() for message in gateway.messages]))
        else:
            self._reply(_Reply.text(404, "Not Found"))

    def _read_form(self) -> dict[str, str]:
        length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        return {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}

    def _reply(self, reply: _Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender died with its request in flight (the crash test holds one on purpose)

    def log_message(self, format: str, *args: object) -> None:
        # The default writes every request line to stderr; the CLI prints its own masked lines.
        return


def serve_forever(host: str, port: int, delivery_url: str | None) -> None:
    """Run the fake gateway until interrupted, printing one masked line per message."""

    def show(message: SentMessage) -> None:
        stamp = message.sent_at.strftime("%H:%M:%S")
        print(f"{stamp} {mask_number(message.number)} [{message.parts}] {message.text!r}", flush=True)

    # Ctrl-C and SIGTERM set a flag the main thread checks, rather than raising KeyboardInterrupt
    # wherever it happens to be (an interrupt landing outside the wait left the process hanging in CI).
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    gateway = FakeGateway(host=host, port=port, delivery_url=delivery_url, on_message=show)
    with gateway:
        print(f"fake Africa's Talking gateway on {gateway.url}/version1/messaging", flush=True)
        while not stopping.wait(0.2):
            pass
