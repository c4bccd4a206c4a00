"""Staff accounts (admins, ambassadors, viewers): argon2id password hashes and the users' districts.

Used by `ureport users`, the demo and the login page. Respondents never have accounts.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from ureport import audit
from ureport.clock import utcnow
from ureport.models import Location, Role, User, UserDistrict
from ureport.polls import Catalog

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte "password" is a cheap way to burn our CPU
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# argon2-cffi's defaults are RFC 9106's second recommendation for argon2id (t=3, m=64 MiB, p=4).
# A stored hash made with other parameters is replaced at the next successful log-in.
hasher = PasswordHasher()
# Each hash holds 64 MiB while it runs: a burst of log-ins waits here rather than exhausting memory.
_HASHING = threading.BoundedSemaphore(4)


class AccountError(ValueError):
    """A user that cannot be added or changed: the message says why, for the terminal or the page."""


def normalise_email(email: str) -> str:
    address = email.strip().lower()
    if not _EMAIL.fullmatch(address) or len(address) > 254:
        raise AccountError(f"{email!r} is not an e-mail address")
    return address


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    with _HASHING:
        return hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def _verify(stored: str, password: str) -> bool:
    try:
        with _HASHING:
            return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None.

    An unknown address still costs one hash, against a dummy, so the answer's timing does not tell
    which addresses have accounts. Hashing runs in a thread: it takes tens of milliseconds of CPU.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    try:
        address = normalise_email(email)
    except AccountError:
        address = ""
    user = await User.get_or_none(email=address) if address else None
    stored = user.password_hash if user is not None else await asyncio.to_thread(_dummy_hash)
    if not await asyncio.to_thread(_verify, stored, password) or user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
        await user.save(update_fields=["password_hash"])
    return user


async def find_districts(names: list[str]) -> list[Location]:
    """Districts by name, code, number or alias, matched the way people's replies are."""
    catalog = Catalog()
    await catalog.refresh()
    found = []
    for name in names:
        place = catalog.locations.match(name)
        if place is None:
            raise AccountError(f"no district named {name!r} (load districts with `ureport locations load`)")
        found.append(await Location.get(id=catalog.location_ids[place.code]))
    return found


async def add_user(
    email: str,
    role: Role,
    password: str,
    districts: list[str],
    *,
    language: str | None = None,
    actor: str | None = None,
) -> tuple[User, list[Location]]:
    """A new account; an ambassador needs at least one district, the other roles see every district.
    `actor` (an admin's e-mail; None: the command line) is kept with every change, see ureport.audit."""
    address = normalise_email(email)
    check_password(password)
    if role is Role.AMBASSADOR and not districts:
        raise AccountError("an ambassador needs at least one --district")
    if role is not Role.AMBASSADOR and districts:
        raise AccountError(f"--district is for ambassadors: a {role.value} sees every district")
    places = await find_districts(districts)
    if await User.exists(email=address):
        raise AccountError(f"{address} already has an account (`ureport users remove` it first)")
    password_hash = await asyncio.to_thread(hash_password, password)
    async with in_transaction() as conn:
        user = await User.create(
            email=address, password_hash=password_hash, role=role, language=language, created_at=utcnow()
        )
        unique = {p.id: p for p in places}.values()
        for place in unique:
            await UserDistrict.create(user=user, location=place)
        names = ", ".join(sorted(place.name for place in unique))
        await audit.record(actor, "account.add", address, f"{role.value} {names}".strip(), conn)
    return user, places


async def user_rows() -> list[tuple[User, list[str]]]:
    """Every account with its districts' names, for `ureport users list` and the admin pages."""
    users = await User.all().order_by("email").prefetch_related("districts__location")
    return [(user, sorted(d.location.name for d in user.districts)) for user in users]  # type: ignore[attr-defined]


async def find_user(email: str) -> User:
    user = await User.get_or_none(email=normalise_email(email))
    if user is None:
        raise AccountError(f"no account for {email!r}")
    return user


async def remove_user(email: str, *, actor: str | None = None) -> None:
    """Deletes the account, its districts and its sessions (the foreign keys cascade); the record of
    what was done stays."""
    user = await find_user(email)
    async with in_transaction() as conn:
        await user.delete(using_db=conn)
        await audit.record(actor, "account.remove", user.email, user.role.value, conn)


async def set_active(email: str, active: bool, *, actor: str | None = None) -> None:
    """Disabling an account also signs it out everywhere."""
    from ureport.models import WebSession

    user = await find_user(email)
    async with in_transaction() as conn:
        user.active = active
        await user.save(update_fields=["active"], using_db=conn)
        if not active:
            await WebSession.filter(user=user).using_db(conn).delete()
        await audit.record(actor, "account.enable" if active else "account.disable", user.email, "", conn)


async def set_password(email: str, password: str, *, actor: str | None = None) -> None:
    """A new password; every session of the account ends (whoever knew the old one is signed out)."""
    from ureport.models import WebSession

    check_password(password)
    user = await find_user(email)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with in_transaction() as conn:
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash"], using_db=conn)
        await WebSession.filter(user=user).using_db(conn).delete()
        await audit.record(actor, "account.password", user.email, "", conn)
