"""Forgetting a contact: every trace of the number goes, the anonymous answers keep counting (§4).

What identifies a person is the number, held as a ciphertext (contact, outbox, inbox) and as a keyed
digest (contact, inbox, USSD sessions, delivery and session-end logs). Forgetting erases the ciphertexts
and the digests, so nothing in the database decrypts to the number and nothing links it to the contact
any more; the contact row stays (stopped, under a random tombstone instead of its digest) because its
runs, answers and counters hang off it and the published results must not move. The same phone writing
again is a stranger: JOIN starts a fresh registration under a new random id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from ureport.models import (
    Contact,
    ContactStatus,
    DeliveryReportLog,
    FlowRun,
    InboundMessage,
    InboxStatus,
    OutboundMessage,
    OutboxStatus,
    RunStatus,
    UssdSession,
    UssdSessionEvent,
)
from ureport.privacy import Keyring, normalise_phone

DIGEST = re.compile(r"\d{1,4}:[0-9a-f]{64}")
FORGOTTEN = "forgotten"  # the outbox failure reason, the inbox error, and the tombstone's prefix


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What forgetting erased (counts only: never the number)."""

    contacts: tuple[str, ...]  # their random ids, which the answers keep
    outbox: int  # messages whose ciphertext was erased (queued ones will never be sent)
    inbox: int  # inbound messages whose number and text ciphertexts were erased
    ussd_sessions: int

    @property
    def found(self) -> bool:
        return bool(self.contacts or self.outbox or self.inbox or self.ussd_sessions)


def digests_of(value: str, keyring: Keyring, region: str) -> list[str]:
    """A number in any usual form (normalised as the gateways' are), or a digest as printed in logs."""
    value = value.strip()
    if DIGEST.fullmatch(value):
        return [value]
    return keyring.digests(normalise_phone(value, region))  # every key version: rotations included


async def forget(value: str, keyring: Keyring, region: str, *, now: datetime) -> Forgotten:
    """Erase the number behind `value` from every table, in one transaction."""
    digests = digests_of(value, keyring, region)
    async with in_transaction() as conn:
        contacts = await Contact.filter(urn_digest__in=digests).using_db(conn)
        ids = [contact.id for contact in contacts]
        outbox = sessions = 0
        if ids:
            queued = OutboundMessage.filter(contact_id__in=ids, status=OutboxStatus.QUEUED).using_db(conn)
            outbox = await queued.update(
                status=OutboxStatus.FAILED, failure_reason=FORGOTTEN, urn_cipher=None
            )
            held = OutboundMessage.filter(contact_id__in=ids, urn_cipher__isnull=False).using_db(conn)
            outbox += await held.update(urn_cipher=None)
            live = FlowRun.filter(contact_id__in=ids, status__in=[RunStatus.ACTIVE, RunStatus.CLOSED])
            await live.using_db(conn).update(status=RunStatus.INTERRUPTED, exited_at=now)
            sessions = (
                await UssdSession.filter(Q(contact_id__in=ids) | Q(urn_digest__in=digests))
                .using_db(conn)
                .delete()
            )
        else:
            sessions = await UssdSession.filter(urn_digest__in=digests).using_db(conn).delete()
        inbox = await _erase_inbox(digests, now, conn)
        for log_model in (DeliveryReportLog, UssdSessionEvent):
            await log_model.filter(urn_digest__in=digests).using_db(conn).update(urn_digest=None)
        for contact in contacts:
            await (
                Contact.filter(id=contact.id)
                .using_db(conn)
                .update(
                    urn_digest=f"{FORGOTTEN}:{contact.id.hex}",  # unique, random, and no longer the person's
                    urn_cipher=None,
                    status=ContactStatus.STOPPED,
                    stopped_at=now,
                    fields_json={},
                )
            )
    return Forgotten(tuple(str(i) for i in ids), outbox, inbox, sessions)


async def _erase_inbox(digests: list[str], now: datetime, conn: BaseDBAsyncClient) -> int:
    """Inbound rows keep their gateway id (a retried callback stays a duplicate) and lose the rest; one
    still waiting is closed as failed rather than processed for someone who asked to be forgotten."""
    rows = InboundMessage.filter(urn_digest__in=digests)
    await (
        rows.filter(status=InboxStatus.PENDING)
        .using_db(conn)
        .update(status=InboxStatus.FAILED, error=FORGOTTEN, processed_at=now)
    )
    return await rows.using_db(conn).update(urn_digest=FORGOTTEN, urn_cipher="", text_cipher="")
