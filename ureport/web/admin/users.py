"""Admin pages for staff accounts (list, add, disable, remove) and districts (their ambassadors, and
loading a districts file), through the same functions as `ureport users` and `ureport locations load`."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ureport import accounts
from ureport.locations import LocationsFileError, read_locations_file
from ureport.models import Location, Role, User, UserDistrict
from ureport.polls import save_places
from ureport.web import i18n
from ureport.web.admin.common import acting_admin, begin, render, see_other, text, values
from ureport.web.i18n import _, defer_

MAX_LOCATIONS_FILE = 20 * 1024 * 1024  # district boundaries in GeoJSON can be a few megabytes


def role_label(role: str) -> str:
    return {"admin": _("Admin"), "ambassador": _("Ambassador"), "viewer": _("Viewer")}.get(role, role)


async def _users_page(request: Request, **extra: Any) -> Response:
    districts = await Location.filter(level=2).order_by("name").values_list("name", flat=True)
    context: dict[str, Any] = {
        "rows": await accounts.user_rows(),
        "roles": [(r.value, role_label(r.value)) for r in Role],
        "districts": districts,
        "page_languages": i18n.LANGUAGES,
        "role_label": role_label,
        "problem": "",
        "created": None,
        "form": {},
        "me": getattr(request.state, "user", None),
        "min_password": accounts.MIN_PASSWORD_LENGTH,
    }
    status = 400 if extra.get("problem") else 200
    return render(request, "admin_users.html", context | extra, status_code=status)


async def users(request: Request) -> Response:
    begin(request)
    return await _users_page(request)


async def add(request: Request) -> Response:
    """A new account; with no password typed, one is made up and shown this once (never stored clear)."""
    begin(request)
    form = await request.form()
    typed = text(form, "password")
    password = typed or secrets.token_urlsafe(12)
    fields = {"email": text(form, "email"), "role": text(form, "role"), "language": text(form, "language")}
    districts = list(values(form, "district"))
    problem = await _account_problem(fields, typed, districts)
    if problem:
        return await _users_page(request, problem=problem, form=fields)
    try:
        user, _places = await accounts.add_user(
            fields["email"],
            Role(fields["role"]),
            password,
            districts,
            language=fields["language"] or None,
            actor=acting_admin(request),
        )
    except accounts.AccountError as exc:  # what the checks above do not foresee, in the CLI's words
        return await _users_page(request, problem=str(exc), form=fields)
    shown = None if typed else password
    return await _users_page(request, created={"email": user.email, "password": shown})


async def _account_problem(fields: dict[str, str], password: str, districts: list[str]) -> str:
    """Why the account cannot be added, in the admin's language ("" when it can): the accounts module
    checks the same things, with messages written for the terminal."""
    if fields["role"] not in {r.value for r in Role}:
        return _("Choose a role.")
    try:
        address = accounts.normalise_email(fields["email"])
    except accounts.AccountError:
        return _("%(email)s is not an e-mail address.") % {"email": fields["email"]}
    if password and not accounts.MIN_PASSWORD_LENGTH <= len(password) <= accounts.MAX_PASSWORD_LENGTH:
        return _("The password needs at least %(n)s characters.") % {"n": accounts.MIN_PASSWORD_LENGTH}
    if fields["role"] == Role.AMBASSADOR and not districts:
        return _("An ambassador needs at least one district.")
    if fields["role"] != Role.AMBASSADOR and districts:
        return _("Only ambassadors have districts: the other roles see every district.")
    if await User.exists(email=address):
        return _("%(email)s already has an account.") % {"email": address}
    return ""


async def _target(request: Request) -> User:
    user = await User.get_or_none(id=int(request.path_params["id"]))
    if user is None:
        raise HTTPException(404, defer_("There is no such account."))
    me: User | None = getattr(request.state, "user", None)
    if me is not None and me.id == user.id:  # an admin cannot lock themselves out by mistake
        raise HTTPException(409, defer_("You cannot disable or remove your own account."))
    return user


async def set_active(request: Request) -> Response:
    user = await _target(request)
    active = text(await request.form(), "active") == "1"
    await accounts.set_active(user.email, active, actor=acting_admin(request))
    return see_other("/admin/users")


async def remove(request: Request) -> Response:
    user = await _target(request)
    await accounts.remove_user(user.email, actor=acting_admin(request))
    return see_other("/admin/users")


async def districts(request: Request) -> Response:
    begin(request)
    return await _districts_page(request)


async def _districts_page(request: Request, *, problem: str = "", loaded: int | None = None) -> Response:
    places = await Location.all().order_by("level", "number", "name")
    regions = {p.id: p.name for p in places if p.level == 1}
    ambassadors: dict[int, list[str]] = {}
    links = UserDistrict.filter(user__role=Role.AMBASSADOR).values_list("location_id", "user__email")
    for location_id, email in await links:
        ambassadors.setdefault(int(location_id), []).append(str(email))
    rows = [
        {
            "place": p,
            "region": regions.get(p.parent_id or 0, ""),  # type: ignore[attr-defined]
            "ambassadors": sorted(ambassadors.get(p.id, [])),
        }
        for p in places
        if p.level == 2
    ]
    context = {"rows": rows, "problem": problem, "loaded": loaded}
    return render(request, "admin_districts.html", context, status_code=400 if problem else 200)


async def load_districts(request: Request) -> Response:
    """A CSV or GeoJSON file, read by the loader `ureport locations load` uses, then saved by code."""
    begin(request)
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _districts_page(
            request, problem=_("Choose a districts file (CSV or GeoJSON) to upload.")
        )
    try:
        data = await upload.read(MAX_LOCATIONS_FILE + 1)
    finally:
        await upload.close()
    if len(data) > MAX_LOCATIONS_FILE:
        return await _districts_page(request, problem=_("The file is too large."))
    name = Path(upload.filename).name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name  # the loader tells CSV from GeoJSON by the suffix and names the file
        path.write_bytes(data)
        try:
            places = read_locations_file(path)
        except LocationsFileError as exc:
            return await _districts_page(request, problem=str(exc).replace(str(path), name))
    count = await save_places(places)
    return await _districts_page(request, loaded=count)


routes = [
    Route("/admin/users", users, methods=["GET"]),
    Route("/admin/users", add, methods=["POST"]),
    Route("/admin/users/{id:int}/active", set_active, methods=["POST"]),
    Route("/admin/users/{id:int}/remove", remove, methods=["POST"]),
    Route("/admin/districts", districts, methods=["GET"]),
    Route("/admin/districts", load_districts, methods=["POST"]),
]
