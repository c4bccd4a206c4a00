"""Demo mode: a generated secret, Kenya's counties, the shipped polls and a local fake gateway."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from pathlib import Path

from ureport.accounts import add_user, hash_password
from ureport.channels.fake_gateway import FakeGateway
from ureport.flows.loader import shipped_flow_path
from ureport.locations import country_districts
from ureport.models import Location, Poll, Role, User
from ureport.polls import ensure_registration, load_poll_file, save_places
from ureport.settings import Settings

log = logging.getLogger(__name__)

DEMO_POLL = "safe-streets"


def prepare_demo(settings: Settings, *, host: str, port: int) -> tuple[Settings, FakeGateway | None]:
    """Fill what a newcomer has not configured, and start a local fake gateway unless credentials
    are set: the demo never reaches a real gateway by accident."""
    settings = settings.with_demo_defaults()
    if settings.sending_enabled:
        return settings, None
    delivery = f"http://{host}:{port}/channels/africastalking/delivery"
    try:  # the next port, as README's examples read it (8001 beside the default 8000)
        fake = FakeGateway(port=port + 1, delivery_url=delivery).start()
    except OSError:  # taken: any free one, as the log line says
        fake = FakeGateway(delivery_url=delivery).start()
    log.info("demo: replies go to the fake gateway at %s (see %s/_fake/messages)", fake.url, fake.url)
    fake_settings = replace(
        settings, at_username="demo", at_api_key="demo-key", at_sender="12345", at_api_url=fake.url
    )
    return fake_settings, fake


async def load_demo_content() -> None:
    """Kenya's 47 counties and the demo safety poll, made active; loads nothing twice."""
    if not await Location.exists():
        await save_places(country_districts("KE"))
    await ensure_registration()
    if not await Poll.exists(slug=DEMO_POLL):
        await load_poll_file(shipped_flow_path(DEMO_POLL), activate=True)


# Demo accounts: one of each role, the ambassador for Nairobi. Their passwords are random, made on
# first start and kept beside the demo secret; never a fixed password, even in a demo.
DEMO_ACCOUNTS = (
    ("admin@example.org", Role.ADMIN, ()),
    ("ambassador@example.org", Role.AMBASSADOR, ("Nairobi",)),
    ("viewer@example.org", Role.VIEWER, ()),
)
ACCOUNTS_FILE = "demo-accounts"


async def ensure_demo_accounts(data_dir: Path) -> tuple[Path, dict[str, str]]:
    """The demo accounts' file and the passwords of accounts made (or reset) just now."""
    path = data_dir / ACCOUNTS_FILE
    known: dict[str, str] = {}
    if path.exists():
        known = dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    fresh: dict[str, str] = {}
    for email, role, districts in DEMO_ACCOUNTS:
        password = known.get(email) or secrets.token_urlsafe(12)
        user = await User.get_or_none(email=email)
        if user is None:
            await add_user(email, role, password, list(districts), actor="demo set-up")
        elif email not in known:  # the file was deleted: its new password must open the account
            user.password_hash = hash_password(password)
            await user.save(update_fields=["password_hash"])
        else:
            continue
        known[email] = fresh[email] = password
    if fresh:
        path.touch(mode=0o600)  # owner-only before a password is in it
        path.chmod(0o600)
        path.write_text("".join(f"{email} {password}\n" for email, password in known.items()))
    return path, fresh
