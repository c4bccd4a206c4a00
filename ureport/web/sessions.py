"""Server-side sessions and login throttling.

The session cookie carries a random token; the database keeps only its keyed digest (a copy of the
table opens no session). A session ends after `IDLE` without a request, or `LIFETIME` after log-in
whatever happens. Failed log-ins are counted per account and per client address, both as digests.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from ureport.clock import utcnow
from ureport.models import LoginThrottle, User, WebSession
from ureport.privacy import Keyring

COOKIE = "ureport_session"
IDLE = timedelta(hours=2)
LIFETIME = timedelta(hours=12)
# The idle expiry slides forward at most this often: not one write per page view.
SLIDE_EVERY = timedelta(minutes=5)
MAX_TOKEN_LENGTH = 128

WINDOW = timedelta(minutes=15)  # failures count within this window...
LOCK = timedelta(minutes=15)  # ...and this long a lock follows too many of them
MAX_ACCOUNT_FAILURES = 5
# Higher: an office or a mobile carrier's NAT puts many honest people behind one address.
MAX_ADDRESS_FAILURES = 20


def _session_id(keyring: Keyring, token: str) -> str:
    return keyring.mac("web-session", token)


async def open_session(keyring: Keyring, user: User) -> tuple[str, WebSession]:
    """A new session for `user`: the token for the cookie, and the row (with its CSRF token)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = await WebSession.create(
        id=_session_id(keyring, token),
        user=user,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=min(now + IDLE, now + LIFETIME),
    )
    await WebSession.filter(expires_at__lt=now).delete()  # log-ins are rare: tidy up then
    return token, session


async def find_session(keyring: Keyring, token: str | None) -> WebSession | None:
    """The live session a cookie's token opens, its user loaded; an expired one is deleted."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    session = await WebSession.get_or_none(id=_session_id(keyring, token)).select_related("user")
    if session is None:
        return None
    now = utcnow()
    if session.expires_at <= now or session.created_at + LIFETIME <= now or not session.user.active:
        await session.delete()
        return None
    slid = min(now + IDLE, session.created_at + LIFETIME)
    if slid - session.expires_at >= SLIDE_EVERY:
        session.expires_at = slid
        await WebSession.filter(id=session.id).update(expires_at=slid)
    return session


async def close_session(keyring: Keyring, token: str | None) -> None:
    if token and len(token) <= MAX_TOKEN_LENGTH:
        await WebSession.filter(id=_session_id(keyring, token)).delete()


def throttle_keys(keyring: Keyring, email: str, address: str) -> dict[str, int]:
    """The throttle rows a log-in attempt counts against, with the failures each allows."""
    return {
        keyring.mac("login-account", email.strip().lower()): MAX_ACCOUNT_FAILURES,
        keyring.mac("login-address", address): MAX_ADDRESS_FAILURES,
    }


async def locked_until(keys: dict[str, int], now: datetime | None = None) -> datetime | None:
    """When the latest lock among these keys ends, or None when none is locked."""
    now = now or utcnow()
    rows = await LoginThrottle.filter(key__in=list(keys), locked_until__gt=now)
    return max((row.locked_until for row in rows if row.locked_until is not None), default=None)


async def record_failure(keys: dict[str, int], now: datetime | None = None) -> None:
    """Count one failure on each key; a key over its limit within the window is locked."""
    now = now or utcnow()
    # Rows whose window and lock are both over count for nothing: a spray of made-up addresses must
    # not grow the table for ever.
    await LoginThrottle.filter(window_started_at__lt=now - WINDOW - LOCK).delete()
    for key, limit in keys.items():
        row = await _row(key, now)
        if row.window_started_at + WINDOW <= now:  # the window has passed: count afresh
            await LoginThrottle.filter(id=row.id).update(failures=1, window_started_at=now)
            continue
        await LoginThrottle.filter(id=row.id).update(failures=F("failures") + 1)
        await LoginThrottle.filter(id=row.id, failures__gte=limit).update(
            locked_until=now + LOCK, failures=0, window_started_at=now
        )


async def _row(key: str, now: datetime) -> LoginThrottle:
    row = await LoginThrottle.get_or_none(key=key)
    if row is not None:
        return row
    try:
        return await LoginThrottle.create(key=key, failures=0, window_started_at=now)
    except IntegrityError:  # another process counted the same key at the same moment
        return await LoginThrottle.get(key=key)


async def forget_failures(keys: dict[str, int]) -> None:
    """After a successful log-in: the account's count starts again (the address's stays)."""
    account = next(iter(keys))
    await LoginThrottle.filter(key=account).delete()
