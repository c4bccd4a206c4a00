"""Accounts: argon2id hashes (rehashed when the parameters change), server-side sessions with idle and
absolute expiry, cookies' flags, CSRF tokens on every form, log-in throttling, and log-out."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher

from tests.auth_helpers import PASSWORD, form_token, log_in, make_user, page_token
from tests.harness import running_app
from ureport import accounts
from ureport.channels.fake_gateway import FakeGateway
from ureport.clock import utcnow
from ureport.models import LoginThrottle, Role, User, WebSession
from ureport.settings import Settings
from ureport.web import sessions

pytestmark = pytest.mark.anyio


async def test_passwords_are_argon2id_and_rehashed_when_parameters_change(database: str) -> None:
    user = await make_user("Amina@Example.org", Role.VIEWER)
    assert user.email == "amina@example.org"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert await accounts.authenticate("amina@example.org", "wrong password!") is None
    assert await accounts.authenticate(" AMINA@example.org", PASSWORD) is not None

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    await User.filter(id=user.id).update(password_hash=weak.hash(PASSWORD))
    assert await accounts.authenticate("amina@example.org", PASSWORD) is not None
    stored = (await User.get(id=user.id)).password_hash
    assert not accounts.hasher.check_needs_rehash(stored)  # replaced with today's parameters
    assert "m=65536,t=3,p=4" in stored


async def test_unknown_accounts_cost_a_hash_too(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = accounts._verify

    def counting(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(accounts, "_verify", counting)
    assert await accounts.authenticate("nobody@example.org", PASSWORD) is None
    assert await accounts.authenticate("not an address", PASSWORD) is None
    assert len(calls) == 2 and all(c.startswith("$argon2id$") for c in calls)


async def test_disabled_accounts_cannot_log_in(database: str) -> None:
    await make_user("v@example.org", Role.VIEWER)
    await accounts.set_active("v@example.org", False)
    assert await accounts.authenticate("v@example.org", PASSWORD) is None


async def test_weak_or_odd_accounts_are_refused(database: str) -> None:
    with pytest.raises(accounts.AccountError, match="at least 10"):
        await accounts.add_user("a@example.org", Role.ADMIN, "short", [])
    with pytest.raises(accounts.AccountError, match="not an e-mail"):
        await accounts.add_user("admin", Role.ADMIN, PASSWORD, [])
    with pytest.raises(accounts.AccountError, match="needs at least one"):
        await accounts.add_user("a@example.org", Role.AMBASSADOR, PASSWORD, [])
    await make_user("a@example.org", Role.ADMIN)
    with pytest.raises(accounts.AccountError, match="already has an account"):
        await make_user("A@example.org", Role.VIEWER)


async def test_log_in_opens_a_server_side_session(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        response = await log_in(app.client, "amb@example.org")
        assert response.status_code == 303 and response.headers["location"] == "/ambassador"
        cookie = response.headers["set-cookie"]
        assert "ureport_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
        token = app.client.cookies["ureport_session"]
        [row] = await WebSession.all()
        assert row.id != token and token not in row.id  # only a keyed digest is stored
        assert row.expires_at <= utcnow() + sessions.IDLE
        home = await app.client.get("/")
        assert "Signed in as amb@example.org" in home.text
        assert "private" in home.headers["cache-control"]


async def test_cookies_are_secure_behind_tls(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        transport = httpx.ASGITransport(app=app.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            login_page = await client.get("/login")
            assert "Secure" in login_page.headers["set-cookie"]  # the pre-login token's cookie
            response = await log_in(client, "amb@example.org")
            assert "Secure" in response.headers["set-cookie"]


async def test_sessions_expire_when_idle_and_after_their_lifetime(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        await log_in(app.client, "amb@example.org")
        assert (await app.client.get("/ambassador")).status_code == 200
        await WebSession.all().update(expires_at=utcnow() - timedelta(seconds=1))  # idle too long
        gone = await app.client.get("/ambassador")
        assert gone.status_code == 303 and gone.headers["location"] == "/login?next=%2Fambassador"
        assert not await WebSession.exists()

        await log_in(app.client, "amb@example.org")
        await WebSession.all().update(created_at=utcnow() - sessions.LIFETIME)  # active, but too old
        assert (await app.client.get("/ambassador")).status_code == 303


async def test_every_form_needs_its_csrf_token(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        page = await app.client.get("/login")
        data = {"email": "amb@example.org", "password": PASSWORD}
        assert (await app.client.post("/login", data=data)).status_code == 403  # no token
        forged = {**data, "csrf_token": "x." + form_token(page.text).split(".", 1)[1]}
        assert (await app.client.post("/login", data=forged)).status_code == 403
        app.client.cookies.clear()  # a token without its cookie (another site's form)
        assert (
            await app.client.post("/login", data={**data, "csrf_token": form_token(page.text)})
        ).status_code == 403

        assert (await log_in(app.client, "amb@example.org")).status_code == 303
        refused = await app.client.post("/logout", data={"csrf_token": "wrong"})
        assert refused.status_code == 403 and "did not come from this site" in refused.text
        assert (await app.client.post("/logout", data={"csrf_token": "é"})).status_code == 403
        assert await WebSession.exists()
        token = await page_token(app.client)
        assert token != form_token(page.text)  # bound to the session, not the pre-login one
        out = await app.client.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and not await WebSession.exists()
        assert (await app.client.get("/ambassador")).status_code == 303


async def test_repeated_failures_lock_the_account(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        wrong = await log_in(app.client, "amb@example.org", "not the password")
        unknown = await log_in(app.client, "nobody@example.org", "not the password")
        assert wrong.status_code == unknown.status_code == 400
        assert "Wrong e-mail address or password." in wrong.text and "Wrong e-mail" in unknown.text
        for _ in range(4):
            await log_in(app.client, "amb@example.org", "not the password")
        locked = await log_in(app.client, "amb@example.org")  # the right password, but locked
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        assert not await WebSession.exists()
        await LoginThrottle.all().update(locked_until=utcnow() - timedelta(seconds=1))  # 15 min later
        assert (await log_in(app.client, "amb@example.org")).status_code == 303

        await LoginThrottle.all().update(window_started_at=utcnow() - sessions.WINDOW - sessions.LOCK)
        await log_in(app.client, "nobody@example.org", "not the password")  # old rows are swept away
        assert await LoginThrottle.all().count() == 2  # this failure's account and address


async def test_one_address_guessing_many_accounts_is_locked_out(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        for i in range(sessions.MAX_ADDRESS_FAILURES):
            await log_in(app.client, f"guess{i}@example.org", "not the password")
        assert (await log_in(app.client, "amb@example.org")).status_code == 429


async def test_next_only_leads_to_this_site(settings: Settings, fake_gateway: FakeGateway) -> None:
    from ureport.web.auth import safe_next

    assert safe_next("/ambassador/1?x=1") == "/ambassador/1?x=1"
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example", "", None):
        assert safe_next(target) == ""


async def test_signed_in_pages_speak_the_accounts_language_and_are_never_framed(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        login = await app.client.get("/login")
        assert login.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        await accounts.add_user("sw@example.org", Role.VIEWER, PASSWORD, [], language="sw")
        await log_in(app.client, "sw@example.org")
        page = await app.client.get("/ambassador")
        assert '<html lang="sw"' in page.text and page.headers["x-frame-options"] == "DENY"
        assert '<html lang="fr"' in (await app.client.get("/ambassador?lang=fr")).text  # a choice wins
        assert '<html lang="fr"' in (await app.client.get("/")).text  # and is remembered


async def test_a_new_password_ends_every_session(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        await make_user("amb@example.org", Role.AMBASSADOR, "Nairobi")
        await log_in(app.client, "amb@example.org")
        await accounts.set_password("amb@example.org", "another long password")
        assert (await app.client.get("/ambassador")).status_code == 303
        assert (await log_in(app.client, "amb@example.org")).status_code == 400  # the old one is gone
        assert (await log_in(app.client, "amb@example.org", "another long password")).status_code == 303
