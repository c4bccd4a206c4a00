"""Accounts for tests, and signing in through the real log-in form (its CSRF token included)."""

from __future__ import annotations

import re

import httpx

from ureport.accounts import add_user
from ureport.models import Role, User

PASSWORD = "correct horse battery"


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def make_user(email: str, role: Role, *districts: str) -> User:
    user, _places = await add_user(email, role, PASSWORD, list(districts))
    return user


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """GET the form (its pre-login cookie and token), then POST it, as a browser does."""
    page = await client.get("/login")
    assert page.status_code == 200, page.text[:300]
    data = {"email": email, "password": password, "csrf_token": form_token(page.text)}
    return await client.post("/login", data=data)


async def page_token(client: httpx.AsyncClient, url: str = "/") -> str:
    """The session's CSRF token, as a signed-in page carries it (the log-out form in the header)."""
    page = await client.get(url)
    return form_token(page.text)
