"""The accept path's memory of recent senders: same keys as computing them afresh, no number in clear."""

from __future__ import annotations

import pytest

from ureport.channels.callbacks import SenderKeys
from ureport.privacy import Keyring, PhoneError

KEYRING = Keyring.from_secret("test-secret-key-not-for-production")


def test_a_known_sender_gets_the_digest_and_a_ciphertext_of_its_number() -> None:
    senders = SenderKeys(KEYRING, "KE")
    first = senders.of("+254711000123")
    assert first.digests == (KEYRING.digest("+254711000123"),)
    assert KEYRING.decrypt(first.cipher) == "+254711000123"
    assert senders.of("+254711000123") is first  # remembered, not normalised again
    assert senders.of("0711000123").digest == first.digest  # another form of the same number: the same person


def test_during_a_rotation_a_sender_carries_every_versions_digest() -> None:
    rotated = Keyring.from_secret(
        "a-brand-new-secret-0987654321", version=2, previous={1: "test-secret-key-not-for-production"}
    )
    sender = SenderKeys(rotated, "KE").of("+254711000123")
    assert sender.digests == (rotated.digest("+254711000123"), KEYRING.digest("+254711000123"))
    assert sender.cipher.startswith("v2:")


def test_it_holds_no_number_in_clear_and_stays_bounded() -> None:
    senders = SenderKeys(KEYRING, "KE", size=3)
    numbers = [f"+2547110001{i:02d}" for i in range(5)]
    for number in numbers:
        senders.of(number)
    held = repr(senders._known)
    assert not any(number[4:] in held for number in numbers)
    assert len(senders._known) == 3
    assert senders.of(numbers[0]).digest == KEYRING.digest(numbers[0])  # forgotten, then computed again


def test_an_invalid_number_is_refused_every_time() -> None:
    senders = SenderKeys(KEYRING, "KE")
    for _ in range(2):
        with pytest.raises(PhoneError):
            senders.of("12")
    assert senders._known == {}
