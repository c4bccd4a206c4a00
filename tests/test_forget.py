"""`ureport contacts forget`: afterwards nothing in the database decrypts to the number or carries its
digest, the published results are what they were, nothing is sent to it, and the same phone joining
again is a new person."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import results_people
from tests.harness import Harness, running_app
from tests.ussd_harness import UssdPhone
from ureport.aggregates import results
from ureport.aggregates.results import rebuild
from ureport.channels.fake_gateway import FakeGateway
from ureport.cli import main
from ureport.clock import utcnow
from ureport.forget import FORGOTTEN, forget
from ureport.models import (
    Answer,
    Contact,
    ContactStatus,
    DeliveryReportLog,
    InboundMessage,
    OutboundMessage,
    OutboxStatus,
    UssdSession,
    UssdSessionEvent,
)
from ureport.privacy import Keyring, PrivacyError
from ureport.settings import Settings

pytestmark = pytest.mark.anyio


def _open(keyring: Keyring, token: str | None) -> str | None:
    for reader in (keyring.decrypt, keyring.decrypt_text):
        try:
            return reader(token or "")
        except PrivacyError:
            continue
    return None


async def _plaintexts(keyring: Keyring) -> set[str | None]:
    """Everything the database holds encrypted, decrypted with the service's own keys."""
    tokens = [
        *await Contact.all().values_list("urn_cipher", flat=True),
        *await OutboundMessage.all().values_list("urn_cipher", flat=True),
        *await InboundMessage.all().values_list("urn_cipher", flat=True),
        *await InboundMessage.all().values_list("text_cipher", flat=True),
    ]
    return {_open(keyring, token) for token in tokens}


async def _digests() -> set[str | None]:
    return {
        *await Contact.all().values_list("urn_digest", flat=True),
        *await InboundMessage.all().values_list("urn_digest", flat=True),
        *await UssdSession.all().values_list("urn_digest", flat=True),
        *await DeliveryReportLog.all().values_list("urn_digest", flat=True),
        *await UssdSessionEvent.all().values_list("urn_digest", flat=True),
    }


async def _published(app: Harness) -> object:
    results.forget_cached_results()
    return (await app.client.get("/polls/safe-streets/results.json")).json()


async def test_forgetting_erases_the_number_and_keeps_the_answers(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    keyring = settings.keyring()
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)
        phone = results_people.phone(0)
        await UssdPhone(app, phone).dial()  # a USSD session in the table
        await app.post_sms(phone, "2")
        await app.app.state.processor.drain()  # its reply queued, not yet sent
        await app.post_sms(phone, "hello?")  # and a text still waiting in the inbox
        before = await _published(app)
        assert phone in await _plaintexts(keyring) and keyring.digest(phone) in await _digests()
        answers = await Answer.all().count()
        person = await Contact.get(urn_digest=keyring.digest(phone))

        done = await forget(phone.replace("+254", "0"), keyring, "KE", now=utcnow())  # a local form works

        assert done.contacts == (str(person.id),)
        assert done.outbox >= 6 and done.inbox >= 7 and done.ussd_sessions == 1
        assert phone not in await _plaintexts(keyring)
        assert not set(keyring.digests(phone)) & await _digests()
        forgotten = await Contact.get(id=person.id)
        assert forgotten.status == ContactStatus.STOPPED and forgotten.urn_cipher is None
        assert forgotten.urn_digest.startswith(FORGOTTEN)
        assert await OutboundMessage.filter(contact_id=person.id, status=OutboxStatus.QUEUED).count() == 0
        assert await Answer.all().count() == answers and await Answer.filter(contact_ref=person.id).exists()
        assert await _published(app) == before
        assert (await rebuild()).keys == 0  # the counters still match the answers
        app.received(phone)
        await app.settle()
        assert app.received(phone) == []  # the queued reply was never sent, the waiting text never read
        assert not (await forget(phone, keyring, "KE", now=utcnow())).found

        replies = await app.send(phone, "JOIN")  # the same phone again: a stranger joining
        assert replies, "registration starts"
        again = await Contact.get(urn_digest=keyring.digest(phone))
        assert again.id != person.id and again.status == ContactStatus.REGISTERING
        assert again.birth_year is None and again.district_id is None  # nothing carried over


async def test_forgetting_by_digest(settings: Settings, fake_gateway: FakeGateway) -> None:
    keyring = settings.keyring()
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app, results_people.PEOPLE[:1])
        phone = results_people.phone(0)
        done = await forget(keyring.digest(phone), keyring, "KE", now=utcnow())
        assert len(done.contacts) == 1 and phone not in await _plaintexts(keyring)


def test_the_command_never_echoes_the_number(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UREPORT_DATABASE_URL", db_url)
    monkeypatch.setenv("UREPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UREPORT_SECRET_KEY", "cli-test-secret-key-0123456789")
    assert main(["contacts", "forget", "+254711008199"]) == 1
    assert "no contact" in capsys.readouterr().err
    assert main(["contacts", "forget", "0711 00"]) == 2
    output = capsys.readouterr()
    assert "not a valid phone number" in output.err and "0711" not in output.err + output.out
