"""What sending and delivery reports learn: how far each message got, and about its person: they
blocked us at the network (treated as STOP), or their number cannot receive at all (marked
undeliverable, so broadcasts and reminders skip them until they write to us again: a person who texts
clearly has a working phone)."""

from __future__ import annotations

from collections.abc import Mapping

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from ureport.channels.africastalking import DeliveryReport, OutStatus, advance
from ureport.clock import utcnow
from ureport.models import Contact, ContactStatus, DeliveryReportLog, OutboundMessage, OutboxStatus

# Per-recipient send statusCodes that say the number itself cannot receive (africastalking.md §3.3):
# 403 InvalidPhoneNumber, 404 UnsupportedNumberType, 406 UserInBlacklist. Account, content, sender id
# and routing failures (401, 402, 405, 407, 409, 502) say nothing about the person.
UNDELIVERABLE_STATUS = frozenset({403, 404, 406})
# Delivery report failureReasons that are about the subscriber, not the moment (§2.2). Absent
# subscribers, DeliveryFailure and the premium-only reasons are not: they may work tomorrow.
UNDELIVERABLE_REASONS = frozenset(
    {"UserInBlackList", "UserInBlacklist", "UserDoesNotExist", "UserIsInactive", "UserAccountSuspended"}
)
DELIVERABLE = Q(undeliverable_at__isnull=True)  # the filter broadcasts and reminders add


async def opt_out(contact_id: object, conn: BaseDBAsyncClient | None = None) -> None:
    """The network says this person blocked us: treat it as STOP, so nobody messages them again."""
    if contact_id is not None:
        query = Contact.filter(id=contact_id)
        await (query.using_db(conn) if conn else query).update(
            status=ContactStatus.STOPPED, stopped_at=utcnow()
        )


async def mark_undeliverable(reasons: Mapping[object, str], conn: BaseDBAsyncClient | None = None) -> None:
    """Record a permanent failure against each contact (id -> reason), e.g. InvalidPhoneNumber."""
    now = utcnow()
    for contact_id, reason in reasons.items():
        if contact_id is not None:
            query = Contact.filter(id=contact_id)
            await (query.using_db(conn) if conn else query).update(
                undeliverable_at=now, undeliverable_reason=reason[:64]
            )


def clear_undeliverable(contact: Contact) -> bool:
    """The person wrote to us: their phone works. Returns whether the contact changed."""
    if contact.undeliverable_at is None and contact.undeliverable_reason is None:
        return False
    contact.undeliverable_at = contact.undeliverable_reason = None
    return True


async def apply_delivery_report(report: DeliveryReport, urn_digest: str | None) -> bool:
    """Move the message's status forward only; returns whether a message with that id exists."""
    now = utcnow()
    await DeliveryReportLog.create(
        gateway_id=report.gateway_id,
        raw_status=report.raw_status,
        failure_reason=report.failure_reason,
        network_code=report.network_code,
        urn_digest=urn_digest,
        received_at=now,
    )
    message = await OutboundMessage.get_or_none(gateway_id=report.gateway_id)
    if message is None or report.status is None:
        return message is not None
    status = advance(OutStatus(message.status.value), report.status)
    message.status = OutboxStatus(status.value)
    message.gateway_status = report.raw_status
    if status == OutStatus.DELIVERED and message.delivered_at is None:
        message.delivered_at = now
    if status == OutStatus.FAILED:
        message.failure_reason = report.failure_reason or report.raw_status
        if report.opted_out:
            await opt_out(message.contact_id)  # type: ignore[attr-defined]
        if report.failure_reason in UNDELIVERABLE_REASONS:
            await mark_undeliverable({message.contact_id: report.failure_reason})  # type: ignore[attr-defined]
    await message.save()
    return True
