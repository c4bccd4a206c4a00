"""Phone-number privacy: E.164 normalisation, keyed digests, encryption, redaction and log masking."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "Identity",
    "Keyring",
    "PhoneError",
    "PhoneMaskingFilter",
    "PrivacyError",
    "install_log_masking",
    "mask_phone",
    "normalise_phone",
    "redact",
]

MIN_SECRET_LENGTH = 16
MAX_VERSION = 9999
_NONCE_BYTES = 12
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# A '+' in a form-encoded callback arrives as a space; letters would be read as vanity digits.
_ALLOWED_PHONE_CHARS = re.compile(r"[\d\s+\-().]*")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Digit runs with up to two separators between digits ("0711 000-111", "(0711) 000 111"); 7+ digits count.
_DIGIT_RUN = re.compile(r"\(?\+?\(?\d(?:[ \t\-./()]{0,2}\d)+\)?")
_MIN_RUN_DIGITS = 7
_LOG_NUMBER = re.compile(r"(?<!\d)\+?\d(?:[ \-]?\d){8,}(?!\d)")


class PhoneError(ValueError):
    """A phone number could not be normalised; the message never contains the number."""


class PrivacyError(ValueError):
    """A token could not be decrypted (tampered, malformed or from an unknown key version)."""


def normalise_phone(raw: str, region: str) -> str:
    """Return the E.164 form of `raw`, read as a number of `region` unless it is international."""
    text = raw.strip()
    if not text or not _ALLOWED_PHONE_CHARS.fullmatch(text) or not any(c.isdigit() for c in text):
        raise PhoneError("not a phone number")
    candidates = [text]
    if not text.startswith("+"):
        # "254711..." or "00254..." without a '+' are common in gateway payloads and user replies.
        digits = re.sub(r"\D", "", text)
        candidates += ["+" + digits.removeprefix("00"), "+" + digits]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise PhoneError(f"not a valid phone number for region {region.upper()[:3]!r}")


def mask_phone(e164: str) -> str:
    """Mask a number for display/logs: "+2547******78" (country code, first digit, last two)."""
    digits = re.sub(r"\D", "", e164)
    plus = "+" if e164.lstrip().startswith("+") else ""
    try:
        head = len(str(phonenumbers.parse("+" + digits).country_code)) + 1
    except phonenumbers.NumberParseException:
        head = 2
    hidden = len(digits) - head - 2
    if hidden < 4:
        # Too short to show anything without revealing most of it.
        return plus + "*" * len(digits)
    return plus + digits[:head] + "*" * hidden + digits[-2:]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(secret: str, purpose: bytes) -> bytes:
    # Separate keys per purpose, so an HMAC key leak never exposes the encryption key and vice versa.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ureport/keyring/v1", info=purpose)
    return hkdf.derive(secret.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Identity:
    """A phone number as a batch works with it: its digest under every key version (current first) and
    an authenticated ciphertext under the current key. Made once per number, it stands in for the
    number wherever only the keys are needed: finding the contact, checking a session's owner, storing
    a new contact (each HMAC or decryption skipped is a few microseconds per message)."""

    digests: tuple[str, ...]
    cipher: str

    @property
    def digest(self) -> str:
        """The digest under the current key: what a contact row holds."""
        return self.digests[0]

    def __repr__(self) -> str:  # the digest is no secret, but keep reprs short and the cipher out of logs
        return f"Identity({self.digest[:12]}...)"


class Keyring:
    """Keys derived from UREPORT_SECRET_KEY with HKDF, versioned so the secret can be rotated."""

    def __init__(self, secrets: Mapping[int, str], current: int) -> None:
        if current not in secrets:
            raise ValueError("the current key version has no secret")
        self._digest_keys: dict[int, bytes] = {}
        self._mac_keys: dict[int, bytes] = {}
        self._aead: dict[int, AESGCM] = {}
        self._memo_key = _derive(secrets[current], b"memo")
        self._input_key = _derive(secrets[current], b"input")
        for version, secret in secrets.items():
            if not 1 <= version <= MAX_VERSION:
                raise ValueError(f"key version must be 1..{MAX_VERSION}, got {version}")
            if len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(f"secret for key version {version} is shorter than {MIN_SECRET_LENGTH}")
            self._digest_keys[version] = _derive(secret, b"digest")
            self._mac_keys[version] = _derive(secret, b"mac")
            self._aead[version] = AESGCM(_derive(secret, b"encrypt"))
        self._current = current

    @classmethod
    def from_secret(
        cls, secret: str, *, version: int = 1, previous: Mapping[int, str] | None = None
    ) -> Keyring:
        """A keyring whose current key is `secret` at `version`, still able to read `previous` ones."""
        secrets = dict(previous or {})
        secrets[version] = secret
        return cls(secrets, version)

    @property
    def current_version(self) -> int:
        return self._current

    def __repr__(self) -> str:
        return f"Keyring(current={self._current}, versions={sorted(self._digest_keys)})"

    def digest(self, e164: str) -> str:
        """Look-up key for a contact: "<version>:<64 hex>" (HMAC-SHA256); deterministic."""
        return self._digest(e164, self._current)

    def digests(self, e164: str) -> list[str]:
        """The digest under every known version, current first, for look-ups during rotation."""
        others = sorted((v for v in self._digest_keys if v != self._current), reverse=True)
        return [self._digest(e164, v) for v in [self._current, *others]]

    def identity(self, e164: str) -> Identity:
        """The digests and a fresh ciphertext of a normalised number."""
        return Identity(tuple(self.digests(e164)), self.encrypt(e164))

    def stored_identity(self, digest: str, cipher: str) -> Identity:
        """The identity of a number stored as (digest, cipher), without decrypting it when both are under
        the current key and there is no other version; during a rotation, made again from the number."""
        current = self._current
        if (
            len(self._digest_keys) == 1
            and digest.startswith(f"{current}:")
            and cipher.startswith(f"v{current}:")
        ):
            return Identity((digest,), cipher)
        return self.identity(self.decrypt(cipher))

    def _digest(self, e164: str, version: int) -> str:
        if not _E164.fullmatch(e164):
            # Hashing a non-normalised form would silently create a second identity for one person.
            raise PhoneError("digest needs an E.164 number (call normalise_phone first)")
        # hmac.digest: the same HMAC-SHA256 in one C call (hmac.new cost several times more per number)
        mac = hmac.digest(self._digest_keys[version], e164.encode("ascii"), "sha256")
        return f"{version}:{mac.hex()}"

    def mac(self, purpose: str, value: str) -> str:
        """A keyed digest of any text under the current key, "<version>:<64 hex>": session ids, login
        throttle keys and signed tokens. `purpose` separates uses, so one never stands in for another."""
        message = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
        mac = hmac.digest(self._mac_keys[self._current], message, "sha256")
        return f"{self._current}:{mac.hex()}"

    def memo_key(self, value: str) -> bytes:
        """A keyed digest for finding `value` in memory without holding it in clear: never stored, so
        it can be keyed BLAKE2b, a third of an HMAC's cost (the accept path takes one per callback)."""
        return hashlib.blake2b(value.encode("utf-8"), key=self._memo_key, digest_size=16).digest()

    def input_digest(self, value: str) -> str:
        """A keyed digest of something a person typed (keyed BLAKE2b, 128 bits, hex): stored to know the
        same input when it comes again, never to read it back. Under the current key only: after a
        rotation a stored one no longer matches (a USSD session then resynchronises, as on a bad hop)."""
        return hashlib.blake2b(value.encode("utf-8"), key=self._input_key, digest_size=16).hexdigest()

    def encrypt(self, e164: str) -> str:
        """Authenticated ciphertext of a phone number: "v<version>:" + urlsafe base64 (no padding)."""
        if not _E164.fullmatch(e164):
            raise PhoneError("encrypt needs an E.164 number (call normalise_phone first)")
        return self._seal(e164, b"phone")

    def decrypt(self, token: str) -> str:
        return self._open(token, b"phone")

    def encrypt_text(self, text: str) -> str:
        """Same scheme as encrypt(), for message bodies; a text token never decrypts as a phone."""
        return self._seal(text, b"text")

    def decrypt_text(self, token: str) -> str:
        return self._open(token, b"text")

    def _seal(self, plaintext: str, kind: bytes) -> str:
        prefix = f"v{self._current}"
        # Random nonce per message: 96 bits is safe for far more messages than one key will see.
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead[self._current].encrypt(nonce, plaintext.encode("utf-8"), _aad(prefix, kind))
        return f"{prefix}:{_b64encode(nonce + sealed)}"

    def _open(self, token: str, kind: bytes) -> str:
        prefix, sep, body = token.partition(":")
        version_text = prefix.removeprefix("v")
        if not sep or not prefix.startswith("v") or not version_text.isdecimal():
            raise PrivacyError("malformed token")
        aead = self._aead.get(int(version_text))
        if aead is None:
            raise PrivacyError(f"unknown key version {int(version_text)}")
        try:
            raw = _b64decode(body)
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(prefix, kind))
            return plain.decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
            raise PrivacyError("token failed authentication") from None


def _aad(prefix: str, kind: bytes) -> bytes:
    # Binds the version and the kind of payload so neither can be swapped without detection.
    return b"ureport:" + kind + b":" + prefix.encode("ascii")


# A text with fewer digits than the shortest subscriber number we need to hide (7) cannot hold one.
_MATCHER_MIN_DIGITS = 7
_FEWEST_DIGITS = min(_MIN_RUN_DIGITS, _MATCHER_MIN_DIGITS)  # below this, redact() has nothing to do


def _decimals(text: str) -> int:
    return sum(c.isdecimal() for c in text)


def _redact_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _decimals(run) < _MIN_RUN_DIGITS:
        return run
    # Give back a bracket that belongs to the surrounding sentence: "call (0711000111)".
    head = "(" if run.startswith("(") and run.count("(") > run.count(")") else ""
    tail = ")" if run.endswith(")") and run.count(")") > run.count("(") else ""
    return head + "[phone]" + tail


def redact(text: str, region: str) -> str:
    """Replace phone numbers with "[phone]" and e-mail addresses with "[email]"."""
    if "@" not in text and (len(text) < _FEWEST_DIGITS or _decimals(text) < _FEWEST_DIGITS):
        return text  # most answers ("1", "yes", "2007"): no address, too few digits for any number
    return _redact_all(text, region)


def _redact_all(text: str, region: str) -> str:
    """redact() without its shortcut: every pattern tried (the tests check both give the same)."""
    text = _EMAIL.sub("[email]", text)
    # Whole digit runs first, so the matcher cannot take part of a run and leave the rest behind.
    text = _DIGIT_RUN.sub(_redact_run, text)
    if _decimals(text) < _MATCHER_MIN_DIGITS:
        return text  # no number possible: skip the costly matcher
    matcher = phonenumbers.PhoneNumberMatcher(text, region.upper(), leniency=phonenumbers.Leniency.POSSIBLE)
    for match in reversed(list(matcher)):
        text = text[: match.start] + "[phone]" + text[match.end :]
    return text


def _mask_log_match(match: re.Match[str]) -> str:
    return mask_phone(match.group(0))


class PhoneMaskingFilter(logging.Filter):
    """Rewrites each record so that phone-number-like substrings only ever appear masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not take the log call down
            message = f"{record.msg!s} {record.args!r}"
        record.msg = _LOG_NUMBER.sub(_mask_log_match, message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _LOG_NUMBER.sub(_mask_log_match, record.exc_text)
        if record.stack_info:
            record.stack_info = _LOG_NUMBER.sub(_mask_log_match, record.stack_info)
        return True


def install_log_masking() -> None:
    """Mask numbers in every log record at the moment it is created; idempotent.

    A record factory, unlike a filter, covers every logger and every handler, including ones
    added later (uvicorn's, pytest's), because no record exists before it passes through here.
    """
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_phone_numbers", False):
        return
    masking = PhoneMaskingFilter()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        masking.filter(record)
        return record

    masked_record.masks_phone_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)
