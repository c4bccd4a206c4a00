"""Africa's Talking callback payloads (real bodies) through read_form and the payload dataclasses."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ureport.channels.africastalking import (
    DELIVERY_STATUS,
    FAILURE_REASONS,
    NETWORKS,
    OPT_OUT_REASONS,
    DeliveryReport,
    OutStatus,
    SmsInbound,
    advance,
)
from ureport.channels.forms import MAX_BODY_BYTES, MAX_FIELDS, PayloadError, parse_form, read_form

# Starlette 1.10 warns when its TestClient falls back to httpx (it prefers httpx2, which the
# project does not install yet); that import-time warning is not about this code.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

FORM = "application/x-www-form-urlencoded"
WHEN = datetime(2017, 5, 3, 6, 4, 45, tzinfo=UTC)
MO = "linkId=03090445075804249226&text=Msg&to=21512&id=ec9adc86-51d5-4bc8-8eb0-d8ab0bb53dc3"


def parse(body: str) -> dict[str, str]:
    return dict(parse_qsl(body, keep_blank_values=True))


def inbound(**changes: object) -> SmsInbound:
    fields: dict[str, object] = {
        "gateway_id": "ec9adc86-51d5-4bc8-8eb0-d8ab0bb53dc3",
        "sender": "+254791541111",
        "to": "21512",
        "text": "Msg",
        "received_at": WHEN,
        "link_id": "03090445075804249226",
        "network_code": None,
    }
    fields.update(changes)
    return SmsInbound(**fields)  # type: ignore[arg-type]


INBOUND_CASES: list[tuple[str, str, SmsInbound | tuple[str, int]]] = [
    ("courier example", MO + "&date=2017-05-03T06%3A04%3A45Z&from=%2B254791541111", inbound()),
    ("space-separated date", MO + "&date=2017-05-03+06%3A04%3A45&from=%2B254791541111", inbound()),
    (
        "fractional seconds",
        MO + "&date=2018-03-19T08%3A34%3A18.445Z&from=%2B254791541111",
        inbound(received_at=datetime(2018, 3, 19, 8, 34, 18, 445000, tzinfo=UTC)),
    ),
    ("plus lost to a space", MO + "&date=2017-05-03T06%3A04%3A45Z&from=+254791541111", inbound()),
    (
        "empty text kept",
        "text=&to=21512&id=x1&date=2017-05-03T06%3A04%3A45Z&from=%2B254791541111&networkCode=63902",
        inbound(gateway_id="x1", text="", link_id=None, network_code="63902"),
    ),
    (
        "empty linkId is none",
        "linkId=&text=%C3%AA+%F0%9F%98%80&to=21512&id=x2&date=2017-05-03T06%3A04%3A45Z&from=%2B254791541111",
        inbound(gateway_id="x2", text="ê 😀", link_id=None),
    ),
    ("missing from", MO + "&date=2017-05-03T06%3A04%3A45Z", ("from", 400)),
    ("missing date", MO + "&from=%2B254791541111", ("date", 400)),
    ("bad date", MO + "&date=03%2F05%2F2017&from=%2B254791541111", ("date", 400)),
    ("missing text", "to=21512&id=x&date=2017-05-03T06%3A04%3A45Z&from=%2B2547", ("text", 400)),
    ("missing id", "text=a&to=21512&date=2017-05-03T06%3A04%3A45Z&from=%2B2547", ("id", 400)),
    ("empty id", "id=&text=a&to=21512&date=2017-05-03T06%3A04%3A45Z&from=%2B2547", ("id", 400)),
    ("missing to", "id=x&text=a&date=2017-05-03T06%3A04%3A45Z&from=%2B2547", ("to", 400)),
]


@pytest.mark.parametrize(("label", "body", "expected"), INBOUND_CASES, ids=[c[0] for c in INBOUND_CASES])
def test_inbound_payloads(label: str, body: str, expected: SmsInbound | tuple[str, int]) -> None:
    if isinstance(expected, SmsInbound):
        assert SmsInbound.from_form(parse(body)) == expected
        return
    with pytest.raises(PayloadError) as caught:
        SmsInbound.from_form(parse(body))
    assert (caught.value.field, caught.value.status_code) == expected


DLR = "id=ATXid_dda018a640edfcc5d2ce455de3e4a6e7&phoneNumber=%2B254711000111&networkCode=63902"
STATUS_CASES = [
    ("Sent", OutStatus.SENT),
    ("Submitted", OutStatus.SENT),
    ("Buffered", OutStatus.SENT),
    ("Success", OutStatus.DELIVERED),
    ("Rejected", OutStatus.FAILED),
    ("Failed", OutStatus.FAILED),
    ("Expired", OutStatus.FAILED),
    ("AbsentSubscriber", OutStatus.FAILED),
    ("Teleported", None),
]


@pytest.mark.parametrize(("raw", "status"), STATUS_CASES)
def test_every_delivery_status(raw: str, status: OutStatus | None) -> None:
    report = DeliveryReport.from_form(parse(f"{DLR}&status={raw}&retryCount=0"))
    assert report == DeliveryReport(
        gateway_id="ATXid_dda018a640edfcc5d2ce455de3e4a6e7",
        raw_status=raw,
        status=status,
        phone="+254711000111",
        network_code="63902",
        failure_reason=None,
        retry_count=0,
    )


def test_status_table_is_complete() -> None:
    assert set(DELIVERY_STATUS) == {raw for raw, status in STATUS_CASES if status is not None}


def test_opted_out_delivery_report() -> None:
    report = DeliveryReport.from_form(
        parse(f"{DLR}&status=Failed&failureReason=UserInBlackList&retryCount=0")
    )
    assert report.status is OutStatus.FAILED
    assert report.failure_reason == "UserInBlackList"
    assert report.opted_out
    assert OPT_OUT_REASONS <= set(FAILURE_REASONS)


DLR_ERRORS = [
    ("missing id", "status=Success", "id"),
    ("missing status", "id=ATXid_1", "status"),
    ("bad retryCount", "id=ATXid_1&status=Success&retryCount=two", "retryCount"),
]


@pytest.mark.parametrize(("label", "body", "field"), DLR_ERRORS, ids=[c[0] for c in DLR_ERRORS])
def test_delivery_report_errors(label: str, body: str, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        DeliveryReport.from_form(parse(body))
    assert (caught.value.field, caught.value.status_code) == (field, 400)


def test_minimal_delivery_report() -> None:
    report = DeliveryReport.from_form({"id": "ATXid_1", "status": "Buffered"})
    assert (report.phone, report.network_code, report.retry_count, report.opted_out) == (
        None,
        None,
        None,
        False,
    )


def test_network_names() -> None:
    assert NETWORKS["63902"] == "Safaricom"
    assert NETWORKS["99999"].startswith("Athena")


STATUSES = st.sampled_from(list(OutStatus))


@given(st.lists(STATUSES, min_size=1))
def test_advance_never_overwrites_a_final_status(reports: list[OutStatus]) -> None:
    current = OutStatus.QUEUED
    for new in reports:
        following = advance(current, new)
        assert following.rank >= current.rank
        if current.is_final:
            assert following is current
        current = following
    first_final = next((status for status in reports if status.is_final), None)
    if first_final is not None:
        assert current is first_final


def test_advance_out_of_order() -> None:
    assert advance(OutStatus.DELIVERED, OutStatus.SENT) is OutStatus.DELIVERED
    assert advance(OutStatus.QUEUED, OutStatus.SENT) is OutStatus.SENT
    assert advance(OutStatus.SENT, OutStatus.FAILED) is OutStatus.FAILED


# read_form through a real Starlette app, as the host will use it.


async def echo(request: Request) -> Response:
    try:
        return JSONResponse(await read_form(request))
    except PayloadError as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status_code)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(Starlette(routes=[Route("/form", echo, methods=["POST"])]))


READ_CASES: list[tuple[str, bytes, str, int, object]] = [
    ("empty text kept", b"text=&from=%2B254711000111", FORM, 200, {"text": "", "from": "+254711000111"}),
    ("charset suffix", b"text=hi", FORM + "; charset=UTF-8", 200, {"text": "hi"}),
    ("percent-encoded utf-8", b"text=%C3%AA", FORM, 200, {"text": "ê"}),
    ("json body", b'{"text": "hi"}', "application/json", 415, None),
    ("multipart", b"--x--", "multipart/form-data; boundary=x", 415, None),
    ("latin-1 charset", b"text=hi", FORM + "; charset=latin-1", 415, None),
    ("undecodable escape", b"text=%FF%FE", FORM, 400, None),
    ("undecodable raw byte", b"text=\xff", FORM, 400, None),
    ("repeated key", b"from=%2B2547&from=%2B2548", FORM, 400, None),
    ("body over 64 KiB", b"text=" + b"a" * (65 * 1024), FORM, 413, None),
    ("plus is a space", b"text=Yes+please%2B", FORM, 200, {"text": "Yes please+"}),
    ("key without value", b"text&from=1", FORM, 200, {"text": "", "from": "1"}),
    ("empty fields skipped", b"&&text=a&&", FORM, 200, {"text": "a"}),
    ("100 fields", "&".join(f"k{i}=v" for i in range(100)).encode(), FORM, 200, None),
    ("101 fields", "&".join(f"k{i}=v" for i in range(101)).encode(), FORM, 400, None),
]


@pytest.mark.parametrize(
    ("label", "body", "content_type", "status", "form"), READ_CASES, ids=[c[0] for c in READ_CASES]
)
def test_read_form(
    client: TestClient, label: str, body: bytes, content_type: str, status: int, form: object
) -> None:
    response = client.post("/form", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    if form is not None:
        assert response.json() == form


def test_missing_content_type_is_415(client: TestClient) -> None:
    assert client.post("/form", content=b"text=hi").status_code == 415


def test_streamed_body_without_length_stops_early(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"a" * 1024

    response = client.post("/form", content=chunks(), headers={"Content-Type": FORM})
    assert response.status_code == 413


def test_payload_error_is_one_line() -> None:
    error = PayloadError("bad\nthing", status_code=413, field="text")
    assert (str(error), error.status_code, error.field) == ("bad thing", 413, "text")
    assert MAX_BODY_BYTES == 64 * 1024


@given(st.lists(st.sampled_from(["a", "b", "=", "&", "+", "%", "2B", "C3", "%C3%AA", "%FF", " ", "é", "*"])))
def test_parse_form_reads_what_parse_qs_reads(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        expected: object = parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        expected = type(exc)
    try:
        got: object = {key: [value] for key, value in parse_form(text).items()}
    except PayloadError:  # a repeated key, or too many fields
        got = ValueError if text.count("&") >= MAX_FIELDS else "repeated"
    except UnicodeDecodeError:
        got = UnicodeDecodeError
    if got == "repeated":
        assert isinstance(expected, dict) and any(len(values) > 1 for values in expected.values())
    else:
        assert got == expected
