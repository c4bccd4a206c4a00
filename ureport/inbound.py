"""Turns pending inbox rows into conversation steps and queued replies, exactly once each."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tortoise.transactions import in_transaction

from ureport.clock import utcnow
from ureport.conversation import Conversation
from ureport.models import Contact, ContactStatus, InboundMessage, InboxStatus, OutboundMessage
from ureport.outbox import new_message
from ureport.polls import Catalog
from ureport.privacy import Keyring

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class InboundHandler:
    """Processes a batch of inbox rows: one transaction per row, so one bad message never blocks others."""

    def __init__(
        self,
        catalog: Catalog,
        keyring: Keyring,
        *,
        region: str,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.keyring = keyring
        self.conversation = Conversation(catalog, region=region)
        self.on_queued = on_queued

    async def __call__(self, rows: list[InboundMessage]) -> None:
        await self.catalog.refresh()
        queued = 0
        for row in rows:
            try:
                queued += await self.process(row)
            except Exception as exc:
                await self._record_failure(row, exc)
        if queued and self.on_queued is not None:
            self.on_queued()

    async def process(self, row: InboundMessage) -> int:
        """Handle one message and mark it processed in the same transaction; returns replies queued."""
        number = self.keyring.decrypt(row.urn_cipher)
        text = self.keyring.decrypt_text(row.text_cipher)
        now = utcnow()
        async with in_transaction():
            current = await InboundMessage.get(id=row.id)
            if current.status != InboxStatus.PENDING:  # another worker got there first
                return 0
            contact = await self._contact(number, row.urn_digest)
            replies = await self.conversation.handle(contact, text, channel="sms", now=now)
            if replies:
                await OutboundMessage.bulk_create(
                    [new_message(contact, reply, now=now, in_reply_to=row.id) for reply in replies]
                )
            await InboundMessage.filter(id=row.id).update(status=InboxStatus.PROCESSED, processed_at=now)
        return len(replies)

    async def _contact(self, number: str, digest: str) -> Contact:
        contact = await Contact.filter(urn_digest__in=self.keyring.digests(number)).first()
        if contact is None:
            return await Contact.create(
                urn_digest=digest, urn_cipher=self.keyring.encrypt(number), status=ContactStatus.STRANGER
            )
        if contact.urn_digest != digest or contact.urn_cipher is None:  # re-key after a secret rotation
            contact.urn_digest = digest
            contact.urn_cipher = self.keyring.encrypt(number)
        return contact

    async def _record_failure(self, row: InboundMessage, exc: Exception) -> None:
        attempts = row.attempts + 1
        status = InboxStatus.FAILED if attempts >= MAX_ATTEMPTS else InboxStatus.PENDING
        log.exception("inbound message %s failed (attempt %d)", row.id, attempts)
        await InboundMessage.filter(id=row.id).update(
            attempts=attempts, status=status, error=f"{type(exc).__name__}: {exc}"[:255]
        )
