"""Privacy invariants searched for in the real artefacts: the database (file or server) and the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.harness import running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.settings import Settings

# Numbers written the ways people and gateways write them; the last one only appears inside an answer.
PHONES = ["+254711000601", "+254722000602", "+254733000603"]
IN_ANSWER = "0799 000 604"
CONVERSATION = ["JOIN", "2006", "2", "Kisumu", "1", "1", "2", "yes", "no", "20", f"call me on {IN_ANSWER}"]


def needles() -> list[bytes]:
    """Every form in which one of the numbers could have been written down."""
    found: list[str] = []
    for phone in PHONES:
        national = "0" + phone[4:]
        found += [phone, phone[1:], national, phone[4:]]
    found += [IN_ANSWER, IN_ANSWER.replace(" ", ""), "799000604"]
    return [n.encode() for n in found]


async def database_bytes(settings: Settings) -> bytes:
    """Everything the database holds: the SQLite files byte for byte, or every row of every table."""
    url = settings.db_url
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://").split("?", 1)[0])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    from tortoise import Tortoise

    conn = Tortoise.get_connection("default")
    tables = await conn.execute_query_dict("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    dump = []
    for table in tables:
        sql = f'SELECT row_to_json(t)::text AS j FROM "{table["tablename"]}" t'  # noqa: S608
        rows = await conn.execute_query_dict(sql)
        dump += [row["j"] for row in rows]
    return "\n".join(dump).encode()


@pytest.mark.anyio
async def test_no_number_in_the_database_or_the_logs(
    settings: Settings, fake_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, SQL parameters included
    async with running_app(settings, fake_gateway) as app:
        for phone in PHONES:
            for text in CONVERSATION:
                await app.send(phone, text)
        assert len(fake_gateway.messages) > 30  # the conversations really happened
        # Delivery reports carry the number too.
        for message in fake_gateway.messages[:5]:
            form = {"id": message.message_id, "status": "Success", "phoneNumber": message.number}
            assert (await app.client.post("/channels/africastalking/delivery", data=form)).status_code == 200
        stored = await database_bytes(settings)
    assert len(stored) > 10_000 and b"v1:" in stored  # the search sees the contacts' ciphertexts
    leaks = [n for n in needles() if n in stored]
    assert not leaks, f"numbers found in the database: {leaks}"
    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert not [n for n in needles() if n in logged], "numbers found in the logs"


def test_needles_cover_every_form() -> None:
    assert {b"+254711000601", b"254711000601", b"0711000601", b"711000601"} <= set(needles())
