"""FakeGateway's wire contract, test hooks, delivery reports and its CLI output."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest

from ureport.channels.fake_gateway import FakeGateway

ALICE, BOB = "+254711000001", "+254711000002"
SEND = {"username": "myapp", "to": f"{ALICE},{BOB}", "message": "Hello", "bulkSMSMode": "1"}


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    with FakeGateway() as gateway:
        yield gateway


def send(fake: FakeGateway, form: dict[str, str], api_key: str | None = "key") -> httpx.Response:
    headers = {"Accept": "application/json"} | ({"apiKey": api_key} if api_key else {})
    return httpx.post(f"{fake.url}/version1/messaging", data=form, headers=headers)


def test_reply_shape(fake: FakeGateway) -> None:
    response = send(fake, SEND | {"from": "MYPOLL", "enqueue": "1"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    data = response.json()["SMSMessageData"]
    assert data["Message"] == "Sent to 2/2 Total Cost: KES 1.6000"
    assert [
        (r["statusCode"], r["number"], r["status"], r["cost"], r["messageParts"]) for r in data["Recipients"]
    ] == [
        (101, ALICE, "Success", "KES 0.8000", 1),
        (101, BOB, "Success", "KES 0.8000", 1),
    ]
    assert all(re.fullmatch(r"ATXid_[0-9a-f]{32}", r["messageId"]) for r in data["Recipients"])
    assert [(m.number, m.sender, m.parts) for m in fake.messages] == [
        (ALICE, "MYPOLL", 1),
        (BOB, "MYPOLL", 1),
    ]


def test_message_parts_follow_encoding(fake: FakeGateway) -> None:
    response = send(fake, SEND | {"to": ALICE, "message": "ê" * 71})
    assert response.json()["SMSMessageData"]["Recipients"][0]["messageParts"] == 2


def test_invalid_number(fake: FakeGateway) -> None:
    response = send(fake, SEND | {"to": f"0711000001,{BOB}"})
    data = response.json()["SMSMessageData"]
    assert data["Message"].startswith("Sent to 1/2")
    bad = data["Recipients"][0]
    assert (bad["statusCode"], bad["status"], bad["messageId"]) == (403, "InvalidPhoneNumber", "None")
    assert [m.number for m in fake.messages] == [BOB]


def test_missing_api_key(fake: FakeGateway) -> None:
    response = send(fake, SEND, api_key=None)
    assert (response.status_code, response.text) == (401, "The supplied authentication is invalid")
    assert response.headers["content-type"] == "text/plain"


def test_missing_field(fake: FakeGateway) -> None:
    assert send(fake, {"username": "myapp", "message": "hi"}).status_code == 400


def test_scripted_failures_are_consumed_in_order(fake: FakeGateway) -> None:
    fake.fail_next(http_status=503)
    fake.fail_next(recipient_status=406)
    failed = send(fake, SEND)
    assert (failed.status_code, failed.text) == (503, "Service Unavailable")
    recipients = send(fake, SEND).json()["SMSMessageData"]["Recipients"]
    assert [r["statusCode"] for r in recipients] == [406, 101]
    assert [r["statusCode"] for r in send(fake, SEND).json()["SMSMessageData"]["Recipients"]] == [101, 101]


def test_fail_next_needs_one_kind(fake: FakeGateway) -> None:
    with pytest.raises(ValueError):
        fake.fail_next()
    with pytest.raises(ValueError):
        fake.fail_next(http_status=500, recipient_status=500)


def test_http_hooks(fake: FakeGateway) -> None:
    send(fake, SEND)
    listed = httpx.get(f"{fake.url}/_fake/messages").json()
    assert [(m["number"], m["text"]) for m in listed] == [(ALICE, "Hello"), (BOB, "Hello")]
    fake.fail_next(http_status=500)
    assert httpx.post(f"{fake.url}/_fake/reset").status_code == 200
    assert fake.messages == []
    assert send(fake, SEND).status_code == 201
    assert httpx.get(f"{fake.url}/nowhere").status_code == 404


def test_wait_for(fake: FakeGateway) -> None:
    later = threading.Timer(0.05, send, args=(fake, SEND))
    later.start()
    assert len(fake.wait_for(2, timeout=5)) == 2
    later.join()
    with pytest.raises(TimeoutError):
        fake.wait_for(3, timeout=0.05)


class _Receiver(BaseHTTPRequestHandler):
    forms: list[dict[str, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.forms.append(dict(parse_qsl(body, keep_blank_values=True)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_delivery_reports() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/dlr"
        with FakeGateway(delivery_url=url, delivery_delay=0) as fake:
            send(fake, SEND)
            sent = fake.wait_for(2)
        assert _Receiver.forms == [
            {
                "id": m.message_id,
                "status": "Success",
                "phoneNumber": m.number,
                "networkCode": "63902",
                "retryCount": "0",
            }
            for m in sent
        ]
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_delivery_to_nowhere_never_crashes(caplog: pytest.LogCaptureFixture) -> None:
    with FakeGateway(delivery_url="http://127.0.0.1:1/dlr", delivery_delay=0) as fake:
        assert send(fake, SEND | {"to": ALICE}).status_code == 201
    assert ALICE not in caplog.text
    assert "not delivered" in caplog.text


def test_cli_prints_masked_numbers() -> None:
    code = "from ureport.channels.fake_gateway import serve_forever; serve_forever('127.0.0.1', 0, None)"
    with subprocess.Popen(  # noqa: S603  # our own interpreter and a fixed snippet
        [sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        try:
            banner = proc.stdout.readline()
            url = re.search(r"http://\S+?(?=/version1)", banner)
            assert url, banner
            reply = httpx.post(
                f"{url.group(0)}/version1/messaging",
                data=SEND | {"to": "+254711000178"},
                headers={"apiKey": "k"},
            )
            assert reply.status_code == 201
            line = proc.stdout.readline()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()  # fail, never hang the suite
                raise
    assert code == 0
    assert "+2547******78" in line
    assert "254711000178" not in line
    assert json.dumps("Hello")[1:-1] in line
