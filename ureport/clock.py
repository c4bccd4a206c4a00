"""The one place the host reads the wall clock (the flow engine never does: it is handed `now`)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
