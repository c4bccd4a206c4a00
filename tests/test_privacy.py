"""Tests for ureport.privacy: normalisation, digests, encryption, redaction and log masking."""

from __future__ import annotations

import base64
import io
import logging
import re
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ureport.privacy import (
    Identity,
    Keyring,
    PhoneError,
    PhoneMaskingFilter,
    PrivacyError,
    _redact_all,
    install_log_masking,
    mask_phone,
    normalise_phone,
    redact,
)

SECRET = "test-secret-0123456789abcdef"
NUMBER = "+254711000111"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+254711000111", "KE", NUMBER),
        ("0711 000 111", "KE", NUMBER),
        ("0711-000-111", "KE", NUMBER),
        ("(0711) 000111", "ke", NUMBER),
        ("254711000111", "KE", NUMBER),
        (" 254711000111", "KE", NUMBER),  # a '+' decoded to a space by form encoding
        ("254711000111", "UG", NUMBER),  # international without '+', whatever the default region
        ("00254711000111", "UG", NUMBER),
        ("+254 111 000 111", "KE", "+254111000111"),
        ("+254 20 2222222", "KE", "+254202222222"),
        ("0772 123456", "UG", "+256772123456"),
        ("0754 123 456", "TZ", "+255754123456"),
        ("+1 202 555 0123", "KE", "+12025550123"),
    ],
)
def test_normalise_phone_accepts(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hello",
        "0711ABC111",
        "0711",
        "07110001",
        "+2540000000000",
        "+999 123 456 789",
        "++--",
        "0" * 40,
    ],
)
def test_normalise_phone_rejects(raw: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalise_phone(raw, "KE")
    digits = re.sub(r"\D", "", raw)
    assert len(digits) < 4 or digits not in str(caught.value)


def test_phone_error_message_never_contains_the_number() -> None:
    with pytest.raises(PhoneError) as caught:
        normalise_phone("0711 000 11", "KE")
    assert not re.search(r"\d{3}", str(caught.value))


@pytest.mark.parametrize(
    ("e164", "masked"),
    [(NUMBER, "+2547******11"), ("+12025550123", "+12*******23"), ("+256772123456", "+2567******56")],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_digest_is_stable_versioned_and_secret_dependent() -> None:
    ring = Keyring.from_secret(SECRET)
    digest = ring.digest(NUMBER)
    assert digest == Keyring.from_secret(SECRET).digest(NUMBER)
    assert re.fullmatch(r"1:[0-9a-f]{64}", digest)
    assert len(digest) <= 80
    assert Keyring.from_secret(SECRET + "x").digest(NUMBER) != digest
    assert ring.digest("+254711000112") != digest
    assert "711000111" not in digest


def test_digest_requires_e164() -> None:
    with pytest.raises(PhoneError):
        Keyring.from_secret(SECRET).digest("0711000111")


def test_weak_or_inconsistent_keyrings_are_refused() -> None:
    with pytest.raises(ValueError, match="shorter"):
        Keyring.from_secret("short")
    with pytest.raises(ValueError, match="current"):
        Keyring({1: SECRET}, current=2)
    with pytest.raises(ValueError, match="version"):
        Keyring({0: SECRET}, current=0)
    assert SECRET not in repr(Keyring.from_secret(SECRET))


def test_encrypt_round_trip_random_and_opaque() -> None:
    ring = Keyring.from_secret(SECRET)
    tokens = {ring.encrypt(NUMBER) for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert re.fullmatch(r"v1:[A-Za-z0-9_-]+", token)
        assert len(token) <= 65
        assert ring.decrypt(token) == NUMBER
        assert "711000111" not in token
        body = token.partition(":")[2]
        assert b"711000111" not in base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_longest_e164_fits_the_documented_size() -> None:
    ring = Keyring.from_secret(SECRET, version=9999)
    assert len(ring.encrypt("+" + "1" * 15)) == 6 + 59
    assert len(ring.digest("+" + "1" * 15)) == 69


@pytest.mark.parametrize("position", [3, 10, 30, -2])
def test_tampered_token_is_refused(position: int) -> None:
    # Not the very last character: unpadded base64 ignores its low bits, so changing it may change
    # no byte at all (then there is nothing to refuse, and the test would be flaky).
    ring = Keyring.from_secret(SECRET)
    token = ring.encrypt(NUMBER)
    flipped = "A" if token[position] != "A" else "B"
    index = position % len(token)
    tampered = token[:index] + flipped + token[index + 1 :]
    with pytest.raises(PrivacyError):
        ring.decrypt(tampered)


@pytest.mark.parametrize("token", ["", "garbage", "v1:", "v1:!!!", "x1:abcd", "v:abcd", "v7:" + "A" * 60])
def test_malformed_or_unknown_tokens_are_refused(token: str) -> None:
    with pytest.raises(PrivacyError):
        Keyring.from_secret(SECRET).decrypt(token)


def test_text_and_phone_tokens_are_not_interchangeable() -> None:
    ring = Keyring.from_secret(SECRET)
    body = "Ndio, naishi Kisumu 🙂"
    token = ring.encrypt_text(body)
    assert ring.decrypt_text(token) == body
    assert body not in token
    with pytest.raises(PrivacyError):
        ring.decrypt(token)
    with pytest.raises(PrivacyError):
        ring.decrypt_text(ring.encrypt(NUMBER))


def test_rotation_reads_old_tokens_and_lists_all_digests() -> None:
    old = Keyring.from_secret(SECRET)
    old_token, old_digest = old.encrypt(NUMBER), old.digest(NUMBER)
    new = Keyring.from_secret("a-brand-new-secret-0987654321", version=2, previous={1: SECRET})
    assert new.current_version == 2
    assert new.decrypt(old_token) == NUMBER
    assert new.encrypt(NUMBER).startswith("v2:")
    digests = new.digests(NUMBER)
    assert digests == [new.digest(NUMBER), old_digest]
    assert digests[0].startswith("2:")
    with pytest.raises(PrivacyError, match="unknown key version"):
        old.decrypt(new.encrypt(NUMBER))


def test_a_memo_key_is_keyed_and_deterministic() -> None:
    ring, other = Keyring.from_secret(SECRET), Keyring.from_secret("another-secret-0123456789")
    assert ring.memo_key(NUMBER) == ring.memo_key(NUMBER)
    assert ring.memo_key(NUMBER) != ring.memo_key("+254711000112")
    assert ring.memo_key(NUMBER) != other.memo_key(NUMBER)  # nobody without the secret can compute it
    assert NUMBER.encode() not in ring.memo_key(NUMBER)


def test_an_identity_is_the_digests_and_a_ciphertext_of_a_number() -> None:
    ring = Keyring.from_secret(SECRET)
    person = ring.identity(NUMBER)
    assert person.digests == (ring.digest(NUMBER),) and person.digest == ring.digest(NUMBER)
    assert ring.decrypt(person.cipher) == NUMBER
    assert NUMBER[4:] not in repr(person) and person.cipher not in repr(person)


def test_a_stored_identity_is_taken_as_stored_under_the_current_key_alone() -> None:
    ring = Keyring.from_secret(SECRET)
    digest, cipher = ring.digest(NUMBER), ring.encrypt(NUMBER)
    assert ring.stored_identity(digest, cipher) == Identity((digest,), cipher)


def test_during_a_rotation_a_stored_identity_is_made_again_from_the_number() -> None:
    old = Keyring.from_secret(SECRET)
    new = Keyring.from_secret("a-brand-new-secret-0987654321", version=2, previous={1: SECRET})
    person = new.stored_identity(old.digest(NUMBER), old.encrypt(NUMBER))  # accepted before the rotation
    assert person.digests == (new.digest(NUMBER), old.digest(NUMBER))
    assert person.cipher.startswith("v2:") and new.decrypt(person.cipher) == NUMBER
    again = new.stored_identity(new.digest(NUMBER), new.encrypt(NUMBER))  # older versions still count
    assert again.digests == person.digests


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me 0711000111", "call me [phone]"),
        ("call me on 0711 000 111 please", "call me on [phone] please"),
        ("namba yangu ni +254 711-000-111.", "namba yangu ni [phone]."),
        ("254711000111", "[phone]"),
        ("text me:+254711000111!", "text me:[phone]!"),
        ("(0711) 000 111", "[phone]"),
        ("ring 0711.000.111 tonight", "ring [phone] tonight"),
        ("abc0711000111def", "abc[phone]def"),
        ("US friend +1 202 555 0123", "US friend [phone]"),
        ("mail me at jane.doe+ureport@example.co.ke", "mail me at [email]"),
        ("JOHN_99@Gmail.com or 0722000222", "[email] or [phone]"),
        (
            "Nina miaka 17 na ninaishi Kisumu, shule iko mbali sana",
            "Nina miaka 17 na ninaishi Kisumu, shule iko mbali sana",
        ),
        (
            "Hakuna maji safi shuleni kwetu; tunahitaji msaada",
            "Hakuna maji safi shuleni kwetu; tunahitaji msaada",
        ),
        ("I am 16 and in form 3, year 2024", "I am 16 and in form 3, year 2024"),
        ("", ""),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, "KE") == expected


_NON_DIGIT_TEXT = st.text(alphabet=st.characters(exclude_categories=("Nd",)), max_size=40)
_FORMATS = [
    "+254{n}",
    "254{n}",
    "0{n}",
    "0{a} {b} {c}",
    "+254 {a} {b} {c}",
    "0{a}-{b}-{c}",
    "(0{a}) {b}{c}",
    "+254-{a}-{b}-{c}",
]


@settings(max_examples=300, deadline=None)
@given(
    prefix=_NON_DIGIT_TEXT,
    suffix=_NON_DIGIT_TEXT,
    first=st.sampled_from("17"),
    rest=st.text(alphabet="0123456789", min_size=8, max_size=8),
    template=st.sampled_from(_FORMATS),
)
def test_redact_removes_every_digit_of_an_embedded_kenyan_mobile(
    prefix: str, suffix: str, first: str, rest: str, template: str
) -> None:
    nsn = first + rest
    number = template.format(n=nsn, a=nsn[:3], b=nsn[3:6], c=nsn[6:])
    out = redact(prefix + number + suffix, "KE")
    # The surrounding text has no digits, so any digit left over would be part of the number.
    assert not any(unicodedata.category(c) == "Nd" for c in out)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab @.-+()0123456789٣"), max_size=30) | st.text(max_size=12))
def test_redact_shortcut_changes_nothing(text: str) -> None:
    """redact() returns short, digit-poor, address-free text untouched without trying its patterns:
    that must be exactly what trying them gives."""
    assert redact(text, "KE") == _redact_all(text, "KE")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_redact_never_raises(text: str) -> None:
    assert isinstance(redact(text, "KE"), str)


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, factory = list(root.handlers), logging.getLogRecordFactory()
    yield root
    logging.setLogRecordFactory(factory)
    root.handlers[:] = handlers


def _assert_masked(output: str) -> None:
    assert "711000111" not in output and "711 000 111" not in output
    assert "+2547******11" in output


def test_log_filter_masks_args_and_message() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("ureport.test.privacy.direct")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler(stream))
    logger.handlers[0].addFilter(PhoneMaskingFilter())
    logger.info("sending to %s", NUMBER)
    logger.info("inbound from +254711000111 and 0711000111 and 254711000111, 3 parts")
    logger.warning("number %(n)s", {"n": NUMBER})
    try:
        raise RuntimeError(f"gateway refused {NUMBER}")
    except RuntimeError:
        logger.exception("failed for %s", NUMBER)
    output = stream.getvalue()
    _assert_masked(output)
    assert "07******11" in output and "2547******11," in output and "3 parts" in output
    assert "RuntimeError: gateway refused +2547******11" in output


def test_install_masks_every_record_even_for_handlers_added_later(clean_root: logging.Logger) -> None:
    install_log_masking()
    install_log_masking()  # idempotent: one wrapper, not two
    stream = io.StringIO()
    clean_root.addHandler(logging.StreamHandler(stream))
    logging.getLogger("ureport.test.privacy.child").warning("delivery report for %s", NUMBER)
    _assert_masked(stream.getvalue())


def test_log_filter_survives_bad_format_args() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items to %s", ("x", NUMBER), None)
    assert PhoneMaskingFilter().filter(record)
    assert "711000111" not in record.getMessage()
    assert record.args == ()
