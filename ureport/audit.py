"""What staff did, kept: who added, disabled or removed an account, who published or started a poll.

An account removed leaves its history here (the row names the account's e-mail, which is staff data, kept
in clear like the account itself). Nothing about respondents is ever written: subjects are staff e-mails
and poll slugs only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from ureport.clock import utcnow
from ureport.models import StaffAction

COMMAND_LINE = "command line"  # the actor when a shell user ran `ureport ...`

ACTIONS = (
    "account.add",
    "account.remove",
    "account.disable",
    "account.enable",
    "account.password",
    "poll.load",
    "poll.publish",
    "poll.unpublish",
    "poll.activate",
    "poll.start",
    "poll.schedule",
    "poll.close",
)


async def record(
    actor: str | None, action: str, subject: str, detail: str = "", conn: BaseDBAsyncClient | None = None
) -> None:
    """One action, by an admin (their e-mail) or from the command line (None)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown staff action {action!r}")
    await StaffAction.create(
        at=utcnow(),
        actor=actor or COMMAND_LINE,
        action=action,
        subject=subject,
        detail=detail[:500],
        using_db=conn,
    )


async def poll_loaded(actor: str | None, slug: str, version: str, *, activated: bool) -> None:
    """A poll file loaded (from the admin page or `ureport polls load`)."""
    await record(actor, "poll.load", slug, f"version {version}" + (", activated" if activated else ""))


async def poll_started(
    actor: str | None, slug: str, people: int, cohort: Mapping[str, Any], at: datetime | None = None
) -> None:
    """A poll started for a group now, or scheduled to start `at` (from the admin page or the CLI)."""
    group = f"{people} people; {dict(cohort)}"
    if at is None:
        await record(actor, "poll.start", slug, group)
    else:
        await record(actor, "poll.schedule", slug, f"at {at.isoformat()}; {group}")


async def recent(limit: int = 50) -> list[StaffAction]:
    """The latest actions, newest first."""
    return await StaffAction.all().order_by("-at", "-id").limit(limit)
