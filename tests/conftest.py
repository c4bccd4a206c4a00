"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when UREPORT_TEST_DATABASE_URL is set),
the real app with the real SDK pointed at a local fake gateway, and a guard against numbers in logs."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import settings as hypothesis_settings

from ureport import db
from ureport.channels.fake_gateway import FakeGateway
from ureport.settings import Settings

# No timing thresholds in the suite: Hypothesis's per-example deadline fails on a busy CI machine.
hypothesis_settings.register_profile("ureport", deadline=None)
hypothesis_settings.load_profile("ureport")

PG_URL = os.environ.get("UREPORT_TEST_DATABASE_URL", "")
TABLES = (
    "staff_action",
    "login_throttle",
    "web_session",
    "user_district",
    "app_user",
    "aggregate_counter",
    "result_share",
    "ussd_session_event",
    "ussd_session",
    "answer",
    "flow_run",
    "outbound_message",
    "inbound_message",
    "delivery_report",
    "contact",
    "question",
    "poll",
    "location",
)
# Kenyan mobile numbers in clear, in the forms a log line could carry them.
NUMBER_IN_CLEAR = re.compile(r"(?<!\d)(?:\+?254|0)7\d{8}(?!\d)")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _pg_admin(url: str, statement: str) -> None:
    import asyncpg  # the driver Tortoise uses for PostgreSQL

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrated once per session: a SQLite file to copy, or a private PostgreSQL database to truncate."""
    if PG_URL:
        name = f"ureport_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
        url = _with_database(PG_URL, name)
        asyncio.run(db.migrate(url))
        yield url
        asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "ureport.sqlite3"
        asyncio.run(db.migrate(f"sqlite://{path}"))
        yield str(path)


@pytest.fixture
def db_url(database_template: str, tmp_path: Path) -> str:
    """A database with the schema and no rows, private to this test."""
    if PG_URL:
        tables = ", ".join(f'"{t}"' for t in TABLES)
        asyncio.run(_pg_admin(database_template, f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return database_template
    path = tmp_path / "ureport.sqlite3"
    shutil.copy(database_template, path)
    return f"sqlite://{path}"


@pytest.fixture
def fake_gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as gateway:
        yield gateway


@pytest.fixture
def settings(db_url: str, tmp_path: Path, fake_gateway: FakeGateway) -> Settings:
    from ureport.aggregates import results

    results.forget_cached_results()  # each test has its own database behind the same poll ids
    return Settings(
        data_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-key-not-for-production",
        at_username="testapp",
        at_api_key="test-api-key",
        at_sender="12345",
        at_api_url=fake_gateway.url,
        default_region="KE",
    )


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[str]:
    """The ORM opened on this test's database, for tests below the app."""
    await db.init(db_url)
    try:
        yield db_url
    finally:
        await db.close()


@pytest.fixture(autouse=True)
def no_numbers_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test whose log output carries a phone number in clear (ARCHITECTURE.md §4)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="tortoise.db_client")  # every SQL statement with its values
    yield
    leaks = [r.getMessage() for r in caplog.records if NUMBER_IN_CLEAR.search(r.getMessage())]
    assert not leaks, f"phone number in clear in logs: {leaks[:3]}"
