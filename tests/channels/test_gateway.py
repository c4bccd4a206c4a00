"""The real africastalking SDK, through AfricasTalkingGateway, against FakeGateway on 127.0.0.1."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from africastalking.SMS import SMSService

from ureport.channels.fake_gateway import FakeGateway
from ureport.channels.gateway import (
    RECIPIENT_STATUS,
    RECIPIENT_STATUS_NAMES,
    AfricasTalkingGateway,
    PermanentSendError,
    RecipientOutcome,
    SendError,
    SmsGateway,
    TransientSendError,
    http_send_error,
    mask_number,
    parse_send_reply,
    recipient_outcome,
)

ALICE, BOB = "+254711000001", "+254711000002"
MESSAGE_ID = re.compile(r"^ATXid_[0-9a-f]{32}$")


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    with FakeGateway(api_key="test-key") as gateway:
        yield gateway


@pytest.fixture
def gateway(fake: FakeGateway) -> AfricasTalkingGateway:
    return AfricasTalkingGateway(username="myapp", api_key="test-key", sender="MYPOLL", api_url=fake.url)


def test_sdk_base_url_attribute_we_rely_on() -> None:
    assert SMSService("x", "y")._baseUrl == "https://api.africastalking.com/version1"


def test_messaging_url() -> None:
    live = AfricasTalkingGateway(username="myapp", api_key="k", sender=None)
    local = AfricasTalkingGateway(
        username="myapp", api_key="k", sender=None, api_url="http://127.0.0.1:8001/"
    )
    assert live.messaging_url == "https://api.africastalking.com/version1/messaging"
    assert local.messaging_url == "http://127.0.0.1:8001/version1/messaging"


@pytest.mark.parametrize(
    ("environment", "api_url", "proxies", "verify"),
    [
        ({}, None, {}, True),
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, None, {"https": "http://proxy.example:3128"}, True),
        (  # the proxy's exceptions still apply
            {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "api.africastalking.com"},
            None,
            {},
            True,
        ),
        (
            {"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": "127.0.0.1"},
            "http://127.0.0.1:8001",
            {},
            True,
        ),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/company.pem"}, None, {}, "/etc/ssl/company.pem"),
        ({"CURL_CA_BUNDLE": "/etc/ssl/curl.pem"}, None, {}, "/etc/ssl/curl.pem"),
    ],
)
def test_the_environment_is_read_once_as_requests_would_read_it(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    api_url: str | None,
    proxies: dict[str, str],
    verify: object,
) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    session = AfricasTalkingGateway(
        username="myapp", api_key="k", sender=None, api_url=api_url
    )._service._session
    assert (session.proxies, session.verify, session.trust_env) == (proxies, verify, False)


def test_is_an_sms_gateway(gateway: AfricasTalkingGateway) -> None:
    as_protocol: SmsGateway = gateway
    assert as_protocol.send("hi", []) == []


def test_send_one(fake: FakeGateway, gateway: AfricasTalkingGateway) -> None:
    [result] = gateway.send("Hello ☺ poll", [ALICE])
    assert (result.number, result.status_code, result.outcome) == (ALICE, 101, RecipientOutcome.ACCEPTED)
    assert result.message_id is not None and MESSAGE_ID.match(result.message_id)
    assert (result.cost, result.parts, result.status) == ("KES 0.8000", 1, "Success")
    [sent] = fake.messages
    assert (sent.number, sent.text, sent.sender, sent.message_id) == (
        ALICE,
        "Hello ☺ poll",
        "MYPOLL",
        result.message_id,
    )


def test_send_two_long_message(fake: FakeGateway, gateway: AfricasTalkingGateway) -> None:
    results = gateway.send("x" * 161, [ALICE, BOB])
    assert [(r.number, r.parts, r.outcome) for r in results] == [
        (ALICE, 2, RecipientOutcome.ACCEPTED),
        (BOB, 2, RecipientOutcome.ACCEPTED),
    ]
    assert len({r.message_id for r in results}) == 2
    assert [m.number for m in fake.wait_for(2)] == [ALICE, BOB]


def test_no_sender_id(fake: FakeGateway) -> None:
    shared = AfricasTalkingGateway(username="myapp", api_key="test-key", sender=None, api_url=fake.url)
    shared.send("hi", [ALICE])
    assert fake.messages[0].sender is None


@pytest.mark.parametrize("status", [503, 500, 429, 502])
def test_http_throttling_and_server_errors_are_transient(
    fake: FakeGateway, gateway: AfricasTalkingGateway, status: int
) -> None:
    fake.fail_next(http_status=status)
    with pytest.raises(TransientSendError) as caught:
        gateway.send("hi", [ALICE])
    assert (caught.value.retryable, caught.value.http_status) == (True, status)
    assert fake.messages == []
    assert gateway.send("hi", [ALICE])[0].outcome is RecipientOutcome.ACCEPTED


def test_wrong_api_key_is_permanent(fake: FakeGateway) -> None:
    wrong = AfricasTalkingGateway(username="myapp", api_key="nope", sender=None, api_url=fake.url)
    with pytest.raises(PermanentSendError) as caught:
        wrong.send("hi", [ALICE])
    assert (caught.value.retryable, caught.value.http_status) == (False, 401)
    assert "The supplied authentication is invalid" in caught.value.reason


@pytest.mark.parametrize("status", [400, 401, 403, 409])
def test_http_client_errors_are_permanent(
    fake: FakeGateway, gateway: AfricasTalkingGateway, status: int
) -> None:
    fake.fail_next(http_status=status)
    with pytest.raises(PermanentSendError) as caught:
        gateway.send("hi", [ALICE])
    assert caught.value.http_status == status


def test_per_recipient_statuses(fake: FakeGateway, gateway: AfricasTalkingGateway) -> None:
    fake.fail_next(recipient_status=406, number=ALICE)
    fake.fail_next(recipient_status=500, number=BOB)
    opted_out, retry = gateway.send("hi", [ALICE, BOB])
    assert (opted_out.status_code, opted_out.outcome, opted_out.status) == (
        406,
        RecipientOutcome.OPTED_OUT,
        "UserInBlacklist",
    )
    assert (retry.status_code, retry.outcome, retry.message_id, retry.parts) == (
        500,
        RecipientOutcome.RETRY,
        None,
        None,
    )
    assert fake.messages == []


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = AfricasTalkingGateway(
        username="myapp", api_key="k", sender=None, api_url=f"http://127.0.0.1:{port}", timeout=(1, 1)
    )
    with pytest.raises(TransientSendError, match="network error"):
        closed.send("hi", [ALICE])


def test_an_invalid_number_fails_alone_and_the_others_go(
    fake: FakeGateway, gateway: AfricasTalkingGateway
) -> None:
    """The SDK would refuse the whole request for one malformed number: it fails alone, as AT would."""
    results = gateway.send("hi", [ALICE, "0711000001"])
    outcomes = {r.number: (r.status_code, r.outcome, r.status) for r in results}
    assert outcomes == {
        ALICE: (101, RecipientOutcome.ACCEPTED, "Success"),
        "0711000001": (403, RecipientOutcome.PERMANENT, "InvalidPhoneNumber"),
    }
    assert [m.number for m in fake.messages] == [ALICE]
    assert [r.outcome for r in gateway.send("hi", ["0711000001"])] == [RecipientOutcome.PERMANENT]
    assert len(fake.messages) == 1  # nothing valid: no request at all


def test_bad_api_url_is_permanent() -> None:
    broken = AfricasTalkingGateway(username="myapp", api_key="k", sender=None, api_url="127.0.0.1:1")
    with pytest.raises(PermanentSendError, match="bad gateway URL"):
        broken.send("hi", [ALICE])


def test_errors_are_fresh_instances() -> None:
    first, second = http_send_error(503, "x"), http_send_error(503, "x")
    assert first is not second
    assert isinstance(first, SendError) and first.retryable
    assert not http_send_error(404, "Not Found").retryable


def test_status_tables_agree() -> None:
    assert set(RECIPIENT_STATUS) == set(RECIPIENT_STATUS_NAMES)
    assert recipient_outcome(405) is RecipientOutcome.RETRY
    assert recipient_outcome(103) is RecipientOutcome.ACCEPTED
    assert recipient_outcome(499) is RecipientOutcome.PERMANENT


REPLY = '{"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [%s]}}'
RECIPIENT = '{"statusCode": 101, "number": "+254711000001", "status": "Success", "messageId": "ATXid_1"}'

MALFORMED = [
    ("not json", "<html>Bad gateway</html>"),
    ("no data", "{}"),
    ("recipients not a list", '{"SMSMessageData": {"Recipients": {}}}'),
    ("recipient not an object", REPLY % '"x"'),
    ("no status code", REPLY % '{"number": "+254711000001"}'),
    ("no recipients at all", '{"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}'),
]


@pytest.mark.parametrize(("label", "reply"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_replies_are_permanent(label: str, reply: str) -> None:
    with pytest.raises(PermanentSendError):
        parse_send_reply(reply, expected=1)


def test_str_reply_is_decoded() -> None:
    # The SDK returns the body as text when the content type carries a charset.
    [result] = parse_send_reply(REPLY % RECIPIENT, expected=1)
    assert (result.message_id, result.cost, result.parts) == ("ATXid_1", None, None)


def test_mask_number() -> None:
    assert mask_number("+254711000178") == "+2547******78"
    assert mask_number("12345") == "*****"
