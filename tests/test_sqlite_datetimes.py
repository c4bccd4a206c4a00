"""Datetimes reach SQLite as the same text Tortoise's adapter writes, with a UTC time's text kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ureport.sqlite_backend import adapt_datetime

ZONES = st.sampled_from(
    [
        None,
        UTC,
        ZoneInfo("UTC"),
        timezone(timedelta(0)),
        timezone(timedelta(hours=3)),  # East Africa Time
        timezone(timedelta(hours=-5, minutes=-30)),
        ZoneInfo("Africa/Nairobi"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)), ZONES)
def test_the_text_is_isoformat_with_a_space_as_tortoise_wrote_it(moment: datetime, zone: object) -> None:
    value = moment if zone is None else moment.replace(tzinfo=zone)  # type: ignore[arg-type]
    assert adapt_datetime(value) == value.isoformat(" ")


def test_an_equal_instant_in_another_offset_is_not_given_a_kept_utc_text() -> None:
    utc = datetime(2026, 12, 4, 9, 30, 0, 123456, tzinfo=UTC)
    nairobi = utc.astimezone(timezone(timedelta(hours=3)))
    assert utc == nairobi  # equal, and equally hashed: a cache keyed by the value alone would mix them
    assert adapt_datetime(utc) == "2026-12-04 09:30:00.123456+00:00"
    assert adapt_datetime(nairobi) == "2026-12-04 12:30:00.123456+03:00"
    assert adapt_datetime(utc.astimezone(ZoneInfo("UTC"))) == "2026-12-04 09:30:00.123456+00:00"
    assert adapt_datetime(utc.replace(tzinfo=None)) == "2026-12-04 09:30:00.123456"


def test_sqlite3_binds_datetimes_through_it() -> None:
    assert sqlite3.adapters[(datetime, sqlite3.PrepareProtocol)] is adapt_datetime
    connection = sqlite3.connect(":memory:")
    moment = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    (stored,) = connection.execute("SELECT ?", (moment,)).fetchone()
    assert stored == "2026-12-04 09:30:00+00:00"
    assert datetime.fromisoformat(stored) == moment
